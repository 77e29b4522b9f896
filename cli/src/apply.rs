//! The apply steps every provider shares: render and have the real tools check, time each
//! stage, wait until the lab works. The options and report of `up`, and its errors.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::check::check_all;
use crate::fleet::Fleet;
use crate::lab::Lab;
use crate::lab::model::{InitialState, VrrpInstance};
use crate::observe;
use crate::render::{self, Artefact, Templates};
use crate::services;
use halab_netns::{self as netns, InitCommand};

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error("failed to render: {0}")]
    Render(#[from] render::RenderError),
    #[error("the real tools rejected the rendered configuration; nothing was changed:\n{0}")]
    Rejected(String),
    #[error("failed to build the lab's namespaces: {0}")]
    Netns(#[from] netns::NetnsError),
    #[error("{0}")]
    Service(#[from] services::ServiceError),
    #[error("failed to write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the lab did not become ready within {timeout:?}: {what}")]
    NotReady { timeout: Duration, what: String },
    #[error("{0}")]
    Preflight(String),
    /// A remote host (ssh provider) refused or failed; the message names host, file and why.
    #[error("{0}")]
    Remote(String),
    #[error(
        "the running lab's engines differ from the lab file: {0}\n  hint: an engine does not change on a running lab: `halab down` it first (or run `halab test --engine ...` again for the engines it runs)"
    )]
    EngineChanged(String),
    #[error("the running lab's topology differs from the lab file ({0}); run `halab down` first")]
    TopologyChanged(String),
}

pub struct UpOptions {
    /// Where labs keep their state (default /run/halab).
    pub state_root: PathBuf,
    /// The halabd binary nodes with `engine: halabd` run.
    pub halabd: PathBuf,
    /// The program that becomes each node's init (halab itself with `__node-init`).
    pub init: InitCommand,
    /// Progress lines go here (the CLI prints them; tests keep them).
    pub progress: Box<dyn FnMut(&str) + Send>,
}

impl UpOptions {
    /// Defaults for the CLI: state in /run/halab, halabd beside this executable.
    pub fn from_env() -> Result<UpOptions, UpError> {
        let init = InitCommand::current_exe()?;
        let halabd = halabd_beside(&init.exe);
        Ok(UpOptions {
            state_root: crate::state::state_root(),
            halabd,
            init,
            progress: Box::new(|s| eprintln!("{s}")),
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct UpReport {
    /// (stage, time it took), in order.
    pub stages: Vec<(String, Duration)>,
    /// Files that changed on a running lab (None: the lab was created).
    pub changes: Option<Vec<String>>,
    /// The lab was up before this run (ssh: halab's record of the hosts existed).
    pub existed: bool,
    pub total: Duration,
}

/// The halabd binary: `$HALABD`, else the one beside `exe` (halab and halabd are built
/// together).
pub fn halabd_beside(exe: &std::path::Path) -> PathBuf {
    std::env::var_os("HALABD")
        .map(PathBuf::from)
        .unwrap_or_else(|| exe.with_file_name("halabd"))
}

/// Records how long a stage of `up` took, and says so on the progress line.
pub fn stage_time(report: &mut UpReport, name: &str, since: Instant, opts: &mut UpOptions) {
    let took = since.elapsed();
    (opts.progress)(&format!(
        "  {name:<34} {:>7.1} ms",
        took.as_secs_f64() * 1e3
    ));
    report.stages.push((name.to_string(), took));
}

/// Renders every file and has the real tools check each on this machine: nothing reaches a
/// machine before both passed.
pub fn render_and_check(
    lab: &Lab,
    opts: &mut UpOptions,
    report: &mut UpReport,
) -> Result<Vec<Artefact>, UpError> {
    let t = Instant::now();
    let artefacts = render::render(lab, &Templates::embedded()?)?;
    stage_time(report, "render", t, opts);
    let t = Instant::now();
    let rejected: Vec<String> = check_all(lab, &artefacts, &opts.halabd)
        .into_iter()
        .filter_map(|r| {
            r.result
                .err()
                .map(|e| format!("{} {} ({}): {e}", r.node, r.path, r.tool))
        })
        .collect();
    if !rejected.is_empty() {
        return Err(UpError::Rejected(rejected.join("\n")));
    }
    stage_time(report, "check configs (real tools)", t, opts);
    Ok(artefacts)
}

/// How long the lab may take to settle: the slowest VRRP instance's master-down interval,
/// twice over, plus margin for a loaded machine.
pub fn settle_timeout(lab: &Lab) -> Duration {
    let vrrp = lab
        .vrrp
        .iter()
        .map(|v| v.master_down_ms())
        .max()
        .unwrap_or(0);
    Duration::from_millis(2 * vrrp + 5000)
}

/// The top-priority member of each `preempt: false` instance. Without preemption the first
/// engine to time out becomes MASTER and stays; master-down intervals of members differ by
/// their skew only (0.2 s between 150 and 100 at 1 s adverts), so whoever starts later by that
/// much on a loaded machine (other labs of `halab test --jobs`, say) would win. The lab's
/// steady state, the one its scenarios start from, is the top member holding the VIPs.
pub fn nopreempt_tops(lab: &Lab) -> Vec<(&VrrpInstance, &str)> {
    lab.vrrp
        .iter()
        .filter(|v| !v.preempt)
        .filter_map(|v| {
            let top = v.members.iter().max_by_key(|m| m.priority)?;
            Some((v, top.node.as_str()))
        })
        .collect()
}

/// The nodes whose VRRP engine starts after the others: in an instance with `preempt:
/// false`, every member but the highest priority ([`nopreempt_tops`]). They start once
/// each top holds its VIPs.
pub fn held_back(lab: &Lab) -> BTreeSet<String> {
    let mut held = BTreeSet::new();
    for (v, top) in nopreempt_tops(lab) {
        held.extend(
            v.members
                .iter()
                .filter(|m| m.node != top)
                .map(|m| m.node.clone()),
        );
    }
    held
}

/// The VRRP engine a node runs, if any.
pub fn engine_of(node: &crate::lab::model::Node) -> Option<services::Service> {
    services::Service::for_node(node)
        .into_iter()
        .find(|s| matches!(s, services::Service::Keepalived | services::Service::Halabd))
}

/// Until the top member of each `preempt: false` instance (not itself held back) holds that
/// instance's VIPs, at most the lab's settle time. A lower-priority member holding them with
/// its engine running (a scenario that failed half-way, a lost start race) has its engine
/// stopped, gracefully: its priority-0 advert hands the VIPs to the top within a skew time,
/// the operator's manual switch-back; it is started again with the held-back nodes.
pub fn hand_to_tops(lab: &Lab, fleet: &dyn Fleet, held: &BTreeSet<String>) -> Result<(), UpError> {
    let timeout = settle_timeout(lab);
    let deadline = Instant::now() + timeout;
    for (v, top) in nopreempt_tops(lab) {
        if held.contains(top) {
            continue;
        }
        loop {
            let holders = observe::vip_holders(lab, fleet);
            let on = |x: &crate::lab::model::Vip| holders.get(&x.address);
            if v.vips
                .iter()
                .all(|x| on(x).is_some_and(|h| h.iter().any(|n| n == top)))
            {
                break;
            }
            for x in &v.vips {
                for h in on(x).into_iter().flatten().filter(|h| *h != top) {
                    let Some(engine) = lab.node(h).and_then(engine_of) else {
                        continue;
                    };
                    let m = fleet.machine(h).map_err(|what| UpError::NotReady {
                        timeout: Duration::ZERO,
                        what,
                    })?;
                    services::stop(m.as_ref(), engine, services::Stop::Graceful)?;
                }
            }
            if Instant::now() >= deadline {
                return Err(UpError::NotReady {
                    timeout,
                    what: format!(
                        "{top} (top priority of {}, preempt: false) did not take its VIPs",
                        v.name
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}

/// Every VIP on exactly one node, every web node answering, and a 200 through each VIP the
/// client can reach.
pub fn wait_ready(lab: &Lab, fleet: &dyn Fleet) -> Result<(), UpError> {
    let timeout = settle_timeout(lab);
    let deadline = Instant::now() + timeout;
    loop {
        let last = match readiness(lab, fleet) {
            Ok(()) => return Ok(()),
            Err(why) => why,
        };
        if Instant::now() >= deadline {
            return Err(UpError::NotReady {
                timeout,
                what: last,
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn readiness(lab: &Lab, fleet: &dyn Fleet) -> Result<(), String> {
    let holders = observe::vip_holders(lab, fleet);
    for (vip, h) in &holders {
        if h.len() != 1 {
            return Err(format!("VIP {vip} is held by {} node(s): {h:?}", h.len()));
        }
    }
    // With preemption, the lab has settled only when the configured MASTER holds its VIPs:
    // with close priorities (seed 000: 101/100, 4 ms of skew apart) a loaded backup may take
    // the VIP first and be preempted a master-down interval later.
    for v in lab.vrrp.iter().filter(|v| v.preempt) {
        let Some(master) = v.members.iter().find(|m| m.state == InitialState::Master) else {
            continue;
        };
        for x in &v.vips {
            if holders
                .get(&x.address)
                .is_some_and(|h| h != &vec![master.node.clone()])
            {
                return Err(format!(
                    "VIP {} is on {:?}, not yet on its MASTER {}",
                    x.address, holders[&x.address], master.node
                ));
            }
        }
    }
    for vip in observe::client_vips(lab) {
        let Some(target) = observe::http_target(lab, vip) else {
            continue;
        };
        let reply = observe::client_get(fleet, target, "/", Duration::from_millis(500))?;
        if reply.status != 200 {
            return Err(format!(
                "GET http://{target}/ from the client answered {}",
                reply.status
            ));
        }
    }
    Ok(())
}
