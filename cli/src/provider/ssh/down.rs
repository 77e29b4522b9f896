//! `down`: stops what halab started on each host; `--purge` also removes what it put there.

use std::path::Path;
use std::sync::Arc;

use super::HALAB_DIR;
use super::connection::{Conn, ConnError, EXEC_TIMEOUT, INSTALL_TIMEOUT, first_lines};
use super::machine::SshMachine;
use super::parallel::{per_host, split};
use super::record::{HostRecord, Record};
use super::target::{VAGRANT_SSH_CONFIG, vagrantfile_dir};
use crate::apply::UpError;
use crate::lab::model::Provider;
use crate::services::{self, sh_quote};

#[derive(Debug, Default)]
pub struct DownReport {
    pub hosts: usize,
    pub stopped: usize,
    pub removed_files: usize,
    pub removed_packages: usize,
}

/// Stops what halab started on each host of the record; with `purge`, also puts back the
/// original files (or removes halab's), removes the packages halab installed and halab's
/// own dir. The record goes once every host is done.
pub fn down(state_dir: &Path, purge: bool) -> Result<Option<DownReport>, UpError> {
    let Some(record) = Record::load(state_dir) else {
        return Ok(None);
    };
    let hosts: Vec<(&String, &HostRecord)> = record.hosts.iter().collect();
    let (done, errors) = split(per_host(&hosts, |(node, rec)| down_host(node, rec, purge)));
    let mut r = DownReport {
        hosts: record.hosts.len(),
        ..DownReport::default()
    };
    for (a, b, c) in done {
        r.stopped += a;
        r.removed_files += b;
        r.removed_packages += c;
    }
    if !errors.is_empty() {
        return Err(UpError::Remote(format!(
            "down failed on {} host(s); the record stays in {} for another try:\n{}",
            errors.len(),
            state_dir.display(),
            errors.join("\n")
        )));
    }
    if record.provider == Some(Provider::Vagrant) {
        let file = record.lab_file.clone().ok_or_else(|| {
            UpError::Remote("the record names no lab file for `vagrant destroy`".into())
        })?;
        let lab = crate::lab::load(&file)
            .map_err(|e| UpError::Remote(format!("{}: {e}", file.display())))?;
        let dir = vagrantfile_dir(&lab).map_err(|e| UpError::Remote(e.to_string()))?;
        crate::provider::vagrant::vagrant_destroy(&dir, &lab).map_err(UpError::Remote)?;
        let _ = std::fs::remove_file(state_dir.join(VAGRANT_SSH_CONFIG));
    }
    let _ = std::fs::remove_file(Record::path(state_dir));
    // `halab test` records the engines; the dir goes only once empty.
    crate::state::forget_engines(state_dir);
    let _ = std::fs::remove_dir(state_dir);
    Ok(Some(r))
}

#[derive(Debug, thiserror::Error)]
pub enum DownError {
    #[error("node {0}: no ssh target recorded")]
    NoTarget(String),
    #[error(transparent)]
    Conn(#[from] ConnError),
    #[error("node {node}: {source}")]
    Service {
        node: String,
        source: services::ServiceError,
    },
    #[error("node {node}: removing {packages} failed: {stderr}")]
    Purge {
        node: String,
        packages: String,
        stderr: String,
    },
}

pub(super) fn down_host(
    node: &str,
    rec: &HostRecord,
    purge: bool,
) -> Result<(usize, usize, usize), DownError> {
    let t = rec
        .target
        .as_ref()
        .ok_or_else(|| DownError::NoTarget(node.to_string()))?;
    let conn = Arc::new(Conn::connect(t)?);
    let m = SshMachine(conn.clone());
    let mut stopped = 0;
    // VRRP first (the VIP goes with a priority-0 advert), then the proxy, then the web.
    for s in rec.services.iter().rev() {
        let stopped_now = services::stop(&m, *s, services::Stop::Graceful).map_err(|source| {
            DownError::Service {
                node: node.to_string(),
                source,
            }
        })?;
        if stopped_now {
            stopped += 1;
        }
        if rec.facts.systemd {
            let _ = conn.run(
                &["systemctl", "disable", "--quiet", s.name()],
                None,
                EXEC_TIMEOUT,
            );
        }
    }
    if !purge {
        return Ok((stopped, 0, 0));
    }
    let mut script = String::new();
    for (path, bak) in &rec.files {
        let p = sh_quote(path);
        if *bak {
            script.push_str(&format!(
                "if [ -e {p}.bak ]; then mv -f {p}.bak {p}; else rm -f {p}; fi\n"
            ));
        } else {
            script.push_str(&format!("rm -f {p}\n"));
        }
    }
    script.push_str(&format!("rm -rf {HALAB_DIR}\n"));
    conn.sh("removing files", &script)?;
    if !rec.installed.is_empty() {
        let list = rec
            .installed
            .iter()
            .map(|p| sh_quote(p))
            .collect::<Vec<_>>()
            .join(" ");
        let cmd = match rec.facts.pkg.as_deref() {
            Some("apt") => format!("DEBIAN_FRONTEND=noninteractive apt-get purge -y {list}"),
            Some("dnf") => format!("dnf remove -y {list}"),
            _ => format!("yum remove -y {list}"),
        };
        let out = conn.run(&["sh", "-c", &cmd], None, INSTALL_TIMEOUT)?;
        if !out.ok() {
            return Err(DownError::Purge {
                node: node.to_string(),
                packages: rec.installed.join(" "),
                stderr: first_lines(&out.stderr, 6),
            });
        }
    }
    Ok((stopped, rec.files.len(), rec.installed.len()))
}
