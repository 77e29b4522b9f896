//! `halab up` for the netns provider: render, check, build the nodes, start the daemons,
//! wait until the lab works; or, on a running lab, apply only what changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::applied::{digest, load_applied, save_applied, topology};
use super::fleet::NetnsFleet;
use super::machine::NetnsMachine;
use super::plan::{plan, staged_path};
use crate::apply::{UpError, UpOptions, UpReport, render_and_check, stage_time, wait_ready};
use crate::lab::Lab;
use crate::lab::model::{Engine, Node};
use crate::render::{Artefact, Check};
use crate::services::{self, Service};
use crate::state::{state_dir, write_private};
use halab_netns::{self as netns, LabHandle};

/// Brings the lab up, or applies what changed to the running lab.
pub fn up(lab: &Lab, opts: &mut UpOptions) -> Result<UpReport, UpError> {
    let start = Instant::now();
    let mut report = UpReport::default();
    let artefacts = render_and_check(lab, opts, &mut report)?;
    preflight(lab)?;
    let dir = state_dir(&opts.state_root, &lab.name);
    if netns::LabState::path(&dir).exists() {
        let changes = update(lab, &dir, &artefacts, opts)?;
        report.changes = Some(changes);
        report.existed = true;
        report.total = start.elapsed();
        return Ok(report);
    }
    let t = Instant::now();
    std::fs::create_dir_all(&dir).map_err(|source| UpError::Write {
        path: dir.clone(),
        source,
    })?;
    set_private(&dir)?;
    for a in &artefacts {
        if let Some(p) = staged_path(&dir, &a.node, &a.path) {
            write_private(&p, a.mode, &a.bytes)
                .map_err(|source| UpError::Write { path: p, source })?;
        }
    }
    save_applied(&dir, lab, &artefacts)?;
    stage_time(&mut report, "write files", t, opts);
    let t = Instant::now();
    let handle = netns::up(&plan(lab, &dir, &artefacts), &opts.init)?;
    stage_time(&mut report, "namespaces and links", t, opts);
    // From here on, a failure tears the lab down again: nothing half-built stays.
    let result = (|| {
        let t = Instant::now();
        start_services(lab, &dir, &handle, &opts.halabd)?;
        stage_time(&mut report, "start daemons", t, opts);
        let t = Instant::now();
        let fleet = NetnsFleet::open(lab, &dir).map_err(|e| UpError::NotReady {
            timeout: Duration::ZERO,
            what: e,
        })?;
        wait_ready(lab, &fleet)?;
        stage_time(&mut report, "ready (VIP held, 200 via VIP)", t, opts);
        Ok::<(), UpError>(())
    })();
    match result {
        Ok(()) => {
            report.total = start.elapsed();
            Ok(report)
        }
        Err(e) => {
            let _ = handle.down();
            let _ = std::fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}

/// What the real tools cannot see from a config alone but this machine decides.
fn preflight(lab: &Lab) -> Result<(), UpError> {
    use nix::sys::resource::{Resource, getrlimit};
    // haproxy needs about two descriptors per connection (client and server side).
    let needed = 2 * u64::from(lab.haproxy.maxconn) + 1000;
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && needed > hard
    {
        return Err(UpError::Preflight(format!(
            "haproxy.global.maxconn {} needs about {needed} file descriptors, but this machine's hard limit is {hard}\n  hint: lower haproxy.global.maxconn to {} or less (the per-proxy maxconn in defaults may stay)",
            lab.haproxy.maxconn,
            hard.saturating_sub(1000) / 2
        )));
    }
    Ok(())
}

fn set_private(dir: &Path) -> Result<(), UpError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|source| {
        UpError::Write {
            path: dir.to_path_buf(),
            source,
        }
    })
}

/// Starts every node's daemons, nodes in parallel; within a node in dependency order. VRRP
/// daemons that must not race the top node of a `preempt: false` instance
/// ([`crate::apply::held_back`]) start once it holds its VIPs.
fn start_services(lab: &Lab, dir: &Path, handle: &LabHandle, halabd: &Path) -> Result<(), UpError> {
    let halabd = halabd.to_string_lossy().to_string();
    let held = crate::apply::held_back(lab);
    let is_vrrp = |s: &Service| matches!(s, Service::Keepalived | Service::Halabd);
    let first = |n: &Node| -> Vec<Service> {
        Service::for_node(n)
            .into_iter()
            .filter(|s| !(held.contains(&n.name) && is_vrrp(s)))
            .collect()
    };
    start_in_parallel(lab, handle, &halabd, &first)?;
    if held.is_empty() {
        return Ok(());
    }
    let fleet = NetnsFleet::open(lab, dir).map_err(|what| UpError::NotReady {
        timeout: Duration::ZERO,
        what,
    })?;
    crate::apply::hand_to_tops(lab, &fleet, &held)?;
    let rest = |n: &Node| -> Vec<Service> {
        Service::for_node(n)
            .into_iter()
            .filter(|s| held.contains(&n.name) && is_vrrp(s))
            .collect()
    };
    start_in_parallel(lab, handle, &halabd, &rest)
}

/// Starts `which(node)` on every node, nodes in parallel, in the order given.
fn start_in_parallel(
    lab: &Lab,
    handle: &LabHandle,
    halabd: &str,
    which: &(dyn Fn(&Node) -> Vec<Service> + Sync),
) -> Result<(), UpError> {
    std::thread::scope(|s| {
        let jobs: Vec<_> = lab
            .nodes
            .iter()
            .map(|n| {
                s.spawn(move || -> Result<(), UpError> {
                    let services = which(n);
                    if services.is_empty() {
                        return Ok(());
                    }
                    let m = NetnsMachine(handle.node(&n.name)?);
                    for svc in services {
                        services::start(&m, svc, halabd)?;
                    }
                    Ok(())
                })
            })
            .collect();
        jobs.into_iter()
            .map(|j| {
                j.join().unwrap_or_else(|_| {
                    Err(UpError::NotReady {
                        timeout: Duration::ZERO,
                        what: "a start thread panicked".into(),
                    })
                })
            })
            .collect::<Result<Vec<()>, UpError>>()
    })?;
    Ok(())
}

/// A second `up`: write what changed, have the real tool accept it (done before), and reload
/// only the daemons whose files changed.
fn update(
    lab: &Lab,
    dir: &Path,
    artefacts: &[Artefact],
    opts: &mut UpOptions,
) -> Result<Vec<String>, UpError> {
    let before = load_applied(dir);
    if let Some(old) = &before.topology {
        let now = topology(lab);
        if *old != now {
            return Err(UpError::TopologyChanged(format!("was {old}, now {now}")));
        }
    }
    let handle = LabHandle::open(dir)?;
    let mut changed = Vec::new();
    let mut reload: BTreeMap<String, Vec<Service>> = BTreeMap::new();
    for a in artefacts {
        let key = format!("{}:{}", a.node, a.path);
        if before.files.get(&key) == Some(&digest(&a.bytes))
            || staged_path(dir, &a.node, &a.path).is_none()
        {
            continue;
        }
        let m = NetnsMachine(handle.node(&a.node)?);
        services::Machine::write_file(&m, &a.path, a.mode, &a.bytes).map_err(|e| {
            UpError::Write {
                path: PathBuf::from(&a.path),
                source: std::io::Error::other(e),
            }
        })?;
        changed.push(format!("{} {}", a.node, a.path));
        let node = lab.node(&a.node);
        let svc = match a.check {
            Check::Haproxy => Some(Service::Haproxy),
            Check::Nginx => Some(Service::Nginx),
            Check::Keepalived => Some(if node.and_then(|n| n.engine) == Some(Engine::Halabd) {
                Service::Halabd
            } else {
                Service::Keepalived
            }),
            Check::None if a.path.starts_with("/etc/keepalived/") => None,
            Check::None => None,
        };
        if let Some(s) = svc {
            reload.entry(a.node.clone()).or_default().push(s);
        }
    }
    let halabd = opts.halabd.to_string_lossy().to_string();
    for (node, svcs) in &reload {
        let m = NetnsMachine(handle.node(node)?);
        for s in svcs {
            services::reload(&m, *s, &halabd)?;
            (opts.progress)(&format!("  reloaded {} on {node}", s.name()));
        }
    }
    save_applied(dir, lab, artefacts)?;
    (opts.progress)(&format!(
        "{} change{}",
        changed.len(),
        if changed.len() == 1 { "" } else { "s" }
    ));
    for c in &changed {
        (opts.progress)(&format!("  changed {c}"));
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(name: &str) -> Lab {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../labs")
            .join(name)
            .join("lab.yaml");
        crate::lab::load_with_env(&file, &std::collections::HashMap::<String, String>::new())
            .expect("lab validates")
    }

    #[test]
    fn without_preemption_only_the_top_node_starts_vrrp_first() {
        // Input: seed003 (preempt: false, lb-a 150, lb-b 100) and seed000 (preemption).
        // Output: lb-b waits in seed003; nobody waits in seed000.
        assert_eq!(
            crate::apply::held_back(&lab("seed003"))
                .into_iter()
                .collect::<Vec<_>>(),
            ["lb-b"]
        );
        assert!(crate::apply::held_back(&lab("seed000")).is_empty());
    }
}
