//! `halab up` / `down` for the netns provider: render, check, build the nodes, start the
//! daemons, wait until the lab works; or, on a running lab, apply only what changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::check::check_all;
use crate::fleet::Fleet;
use crate::lab::Lab;
use crate::lab::model::Engine;
use crate::observe;
use crate::provider::netns::{NetnsMachine, plan, staged_path, state_dir, write_private};
use crate::render::{self, Artefact, Check, Templates};
use crate::services::{self, Service};
use halab_netns::{self as netns, InitCommand, LabHandle};

/// The artefacts a running lab was built from, to tell what a second `up` changes.
const APPLIED: &str = "applied.json";

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
        let halabd = std::env::var_os("HALABD")
            .map(PathBuf::from)
            .unwrap_or_else(|| init.exe.with_file_name("halabd"));
        Ok(UpOptions {
            state_root: crate::provider::netns::state_root(),
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

/// Brings the lab up, or applies what changed to the running lab.
pub fn up(lab: &Lab, opts: &mut UpOptions) -> Result<UpReport, UpError> {
    if lab.provider != crate::lab::model::Provider::Netns {
        return crate::provider::ssh::up(lab, opts);
    }
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
        start_services(lab, &handle, &opts.halabd)?;
        stage_time(&mut report, "start daemons", t, opts);
        let t = Instant::now();
        let fleet = crate::fleet::NetnsFleet::open(lab, &dir).map_err(|e| UpError::NotReady {
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
    let rejected: Vec<String> = check_all(lab, &artefacts)
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

/// Starts every node's daemons, nodes in parallel; within a node in dependency order.
fn start_services(lab: &Lab, handle: &LabHandle, halabd: &Path) -> Result<(), UpError> {
    let halabd = halabd.to_string_lossy().to_string();
    std::thread::scope(|s| {
        let jobs: Vec<_> = lab
            .nodes
            .iter()
            .map(|n| {
                let halabd = &halabd;
                s.spawn(move || -> Result<(), UpError> {
                    let services = Service::for_node(n);
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
        let Some(master) = v
            .members
            .iter()
            .find(|m| m.state == crate::lab::model::InitialState::Master)
        else {
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

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Applied {
    topology: Option<String>,
    /// "node:path" -> digest of the bytes.
    files: BTreeMap<String, String>,
}

/// What cannot change on a running lab: nodes, their addresses, networks.
fn topology(lab: &Lab) -> String {
    let nets: Vec<String> = lab
        .networks
        .iter()
        .map(|n| format!("{}={}", n.name, n.cidr))
        .collect();
    let nodes: Vec<String> = lab
        .nodes
        .iter()
        .map(|n| {
            format!(
                "{}({:?})={}",
                n.name,
                n.engine,
                n.interfaces
                    .iter()
                    .map(|i| format!("{}@{}/{}", i.address, i.network, i.name))
                    .collect::<Vec<_>>()
                    .join("+")
            )
        })
        .collect();
    format!("networks [{}] nodes [{}]", nets.join(" "), nodes.join(" "))
}

/// FNV-1a, 64 bit: enough to tell changed files apart, and no secret is stored in clear.
fn digest(b: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in b {
        h ^= u64::from(*x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}:{}", b.len())
}

fn save_applied(dir: &Path, lab: &Lab, artefacts: &[Artefact]) -> Result<(), UpError> {
    let a = Applied {
        topology: Some(topology(lab)),
        files: artefacts
            .iter()
            .map(|a| (format!("{}:{}", a.node, a.path), digest(&a.bytes)))
            .collect(),
    };
    let p = dir.join(APPLIED);
    let text = serde_json::to_string_pretty(&a).unwrap_or_default();
    write_private(&p, 0o600, text.as_bytes()).map_err(|source| UpError::Write { path: p, source })
}

fn load_applied(dir: &Path) -> Applied {
    std::fs::read_to_string(dir.join(APPLIED))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Tears a lab down from its state dir alone (works after a crash of halab or a daemon).
/// An ssh lab's state dir holds its record instead: its hosts are stopped (not purged).
pub fn down(state_root: &Path, lab: &str) -> Result<Option<netns::DownReport>, UpError> {
    let dir = state_dir(state_root, lab);
    if !dir.exists() {
        return Ok(None);
    }
    if crate::provider::ssh::Record::path(&dir).exists() {
        crate::provider::ssh::down(&dir, false)?;
        return Ok(Some(netns::DownReport::default()));
    }
    let report = netns::down(&dir)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Some(report))
}
