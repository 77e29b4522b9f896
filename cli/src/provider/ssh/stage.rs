//! A host's changed files into its staging dir, checked there by the host's own tools.

use std::collections::BTreeSet;

use super::connection::{Conn, ConnError, EXEC_TIMEOUT, first_lines, runtime};
use super::host::Host;
use super::items::tool_dir;
use crate::check::tool::ToolCheck;
use crate::lab::model::Node;
use crate::services::{HALABD_ON_MACHINE, sh_quote};

/// Sends a host's changed files into its staging dir and has the host's real tools check
/// them where they will live.
/// The host's own tool refused a staged file, or the host could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Conn(#[from] ConnError),
    #[error("node {node}: {path} rejected by the host's {tool} ({status}):\n    {output}")]
    Rejected {
        node: String,
        path: String,
        tool: &'static str,
        status: String,
        output: String,
    },
}

pub(super) fn stage_and_check(n: &Node, h: &Host) -> Result<(), StageError> {
    for (k, &i) in h.changed.iter().enumerate() {
        h.conn
            .upload(&format!("{}/up/{k}", h.stage), &h.items[i].bytes)?;
    }
    // The staged view: each touched tool dir as it will be, checked where it will live.
    let mut script = String::from("set -e\n");
    let s = sh_quote(&h.stage);
    let dirs: BTreeSet<&str> = h
        .changed
        .iter()
        .filter_map(|&i| tool_dir(&h.items[i].path))
        .collect();
    for d in &dirs {
        script.push_str(&format!(
            "mkdir -p {s}/view{d}\nif [ -d {d} ]; then cp -a {d}/. {s}/view{d}/; fi\n"
        ));
    }
    for (k, &i) in h.changed.iter().enumerate() {
        if let Some(d) = tool_dir(&h.items[i].path) {
            let rel = &h.items[i].path[d.len()..];
            script.push_str(&format!("mkdir -p \"$(dirname {s}/view{d}{})\"\ncp {s}/up/{k} {s}/view{d}{}\nchmod {:o} {s}/view{d}{}\n", sh_quote(rel), sh_quote(rel), h.items[i].mode, sh_quote(rel)));
        }
    }
    h.conn.sh("staging", &script)?;
    h.say("checking configs with the host's tools");
    for &i in &h.changed {
        let item = &h.items[i];
        let halabd = if super::halabd_deb::applies(n, &h.facts) {
            crate::deb::BINARY
        } else {
            HALABD_ON_MACHINE
        };
        let Some(check) = ToolCheck::for_file(item.check, n.engine, &item.path, halabd) else {
            continue;
        };
        let cmd: Vec<String> = check.argv.iter().map(|a| sh_quote(a)).collect();
        let cmd = cmd.join(" ");
        let mut binds = String::new();
        for d in &dirs {
            binds.push_str(&format!("mkdir -p {d} && mount --bind {s}/view{d} {d} && "));
        }
        let inner = format!("{binds}{cmd}");
        let out = h.conn.run(
            &[
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                &inner,
            ],
            None,
            EXEC_TIMEOUT,
        )?;
        let text = format!("{}{}", out.stdout, out.stderr);
        if let Err(status) = check.verdict(Some(out.code), &text) {
            return Err(StageError::Rejected {
                node: n.name.clone(),
                path: item.path.clone(),
                tool: check.tool,
                status,
                output: first_lines(&text, 12),
            });
        }
    }
    Ok(())
}

impl Conn {
    /// A fresh staging dir of the login user's (mode 0700) on the host.
    pub(super) fn session_stage(&self) -> Result<String, ConnError> {
        // Not through sudo: SFTP writes as the login user.
        let fut = async {
            let out = self
                .session
                .command("mktemp")
                .args(["-d", "/var/tmp/halab-up.XXXXXXXX"])
                .output()
                .await
                .map_err(|source| ConnError::Ssh {
                    node: self.target.node.clone(),
                    source,
                })?;
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !out.status.success() || dir.is_empty() {
                return Err(ConnError::Refused {
                    what: "mktemp",
                    node: self.target.node.clone(),
                    stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                });
            }
            let out = self
                .session
                .command("mkdir")
                .args(["-p", &format!("{dir}/up")])
                .output()
                .await
                .map_err(|source| ConnError::Ssh {
                    node: self.target.node.clone(),
                    source,
                })?;
            if !out.status.success() {
                return Err(ConnError::Refused {
                    what: "mkdir",
                    node: self.target.node.clone(),
                    stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                });
            }
            Ok(dir)
        };
        runtime().block_on(fut)
    }
}
