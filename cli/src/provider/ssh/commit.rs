//! Moves a checked host's staged files in, applies sysctls, starts or reloads its services.

use std::collections::{BTreeMap, BTreeSet};

use super::connection::{Conn, ConnError, EXEC_TIMEOUT};
use super::host::Host;
use super::machine::SshMachine;
use super::record::HostRecord;
use crate::lab::model::{Engine, Node};
use crate::services::{self, Service, sh_quote};

/// What [`commit`] did on one host.
pub(super) struct Committed {
    pub(super) node: String,
    /// The paths that changed.
    pub(super) changed: Vec<String>,
    /// Files written, with whether the original was kept as FILE.bak.
    pub(super) files: BTreeMap<String, bool>,
    pub(super) started: Vec<Service>,
    /// A VRRP engine not started yet: the host is held back ([`crate::apply::held_back`]),
    /// [`start_held`] starts it once each `preempt: false` top holds its VIPs.
    pub(super) deferred: Option<Service>,
}

/// Moves a checked host's staged files in (keeping the originals as FILE.bak), applies
/// sysctls, and starts or reloads its services.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Conn(#[from] ConnError),
    #[error("node {node}: {source}")]
    Service {
        node: String,
        source: services::ServiceError,
    },
}

pub(super) fn commit(
    h: &Host,
    halabd: &str,
    rec: &HostRecord,
    held: bool,
) -> Result<Committed, CommitError> {
    let m = SshMachine(h.conn.clone());
    let mut files = BTreeMap::new();
    let mut changed = Vec::new();
    if !h.changed.is_empty() {
        h.say("installing files");
        let s = sh_quote(&h.stage);
        let mut script = String::from("set -e\n");
        for (k, &i) in h.changed.iter().enumerate() {
            let item = &h.items[i];
            let p = sh_quote(&item.path);
            // The original, once: what was there before halab (`cp -p f f.bak`, as the seeds do).
            let first = !rec.files.contains_key(&item.path);
            script.push_str(&format!(
                "mkdir -p \"$(dirname {p})\"\n{}install -m {:o} {s}/up/{k} {p}.halab-new\nmv -f {p}.halab-new {p}\n",
                if first { format!("if [ -e {p} ] && [ ! -e {p}.bak ]; then cp -p {p} {p}.bak; echo bak {p}; fi\n") } else { String::new() },
                item.mode
            ));
            changed.push(item.path.clone());
        }
        script.push_str(&format!("rm -rf {s}\n"));
        let out = h.conn.sh("installing files", &script)?;
        let baks: BTreeSet<String> = out
            .lines()
            .filter_map(|l| l.strip_prefix("bak "))
            .map(|p| p.trim_matches('\'').to_string())
            .collect();
        for p in &changed {
            files.insert(
                p.clone(),
                rec.files.get(p).copied().unwrap_or(false) || baks.contains(p),
            );
        }
        if changed.iter().any(|p| p.starts_with("/etc/sysctl.d/")) {
            h.conn.sh(
                "applying sysctls",
                "for f in /etc/sysctl.d/90-halab.conf; do [ -e $f ] && sysctl -q -p $f; done; true",
            )?;
        }
        if h.facts.systemd && changed.iter().any(|p| p.starts_with("/etc/systemd/")) {
            h.conn
                .sh("systemctl daemon-reload", "systemctl daemon-reload")?;
        }
    }
    // Start what does not run; reload what runs and whose files changed.
    let mut started = Vec::new();
    let mut deferred = None;
    for svc in Service::for_node(&h.node) {
        let touched = changed.iter().any(|p| service_of(&h.node, p) == Some(svc));
        if services::running_pid(&m, svc).is_none()
            || (h.facts.systemd && !systemd_active(&h.conn, svc))
        {
            if held && matches!(svc, Service::Keepalived | Service::Halabd) {
                h.say(&format!("{} waits for the top priority", svc.name()));
                deferred = Some(svc);
                continue;
            }
            start_one(h, svc, halabd)?;
            started.push(svc);
        } else if touched {
            h.say(&format!("reloading {}", svc.name()));
            services::reload(&m, svc, halabd).map_err(|source| CommitError::Service {
                node: h.node.name.clone(),
                source,
            })?;
        }
    }
    h.say("done");
    Ok(Committed {
        node: h.node.name.clone(),
        changed,
        files,
        started,
        deferred,
    })
}

/// Starts a service on the host (and enables it under systemd).
pub(super) fn start_one(h: &Host, svc: Service, halabd: &str) -> Result<(), CommitError> {
    let m = SshMachine(h.conn.clone());
    h.say(&format!("starting {}", svc.name()));
    services::start(&m, svc, halabd).map_err(|source| CommitError::Service {
        node: h.node.name.clone(),
        source,
    })?;
    if h.facts.systemd {
        h.conn.sh(
            "systemctl enable",
            &format!("systemctl enable --quiet {}", svc.name()),
        )?;
    }
    Ok(())
}

pub(super) fn systemd_active(c: &Conn, s: Service) -> bool {
    c.run(
        &["systemctl", "is-active", "--quiet", s.name()],
        None,
        EXEC_TIMEOUT,
    )
    .is_ok_and(|o| o.ok())
}

/// The service a file configures on this node.
pub(super) fn service_of(n: &Node, path: &str) -> Option<Service> {
    if path.starts_with("/etc/haproxy/") {
        Some(Service::Haproxy)
    } else if path.starts_with("/etc/nginx/") {
        Some(Service::Nginx)
    } else if path.starts_with("/etc/keepalived/") {
        Some(if n.engine == Some(Engine::Halabd) {
            Service::Halabd
        } else {
            Service::Keepalived
        })
    } else {
        None
    }
}
