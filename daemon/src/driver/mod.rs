//! The event loop: everything from outside (packets, netlink, script results, signals,
//! timers) becomes an input to one instance's core; every action the core returns is carried
//! out here. One task owns all instances, so sync groups and reloads see a consistent whole.

mod process;
mod runner;
mod status;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use halab_api::Status;
use halab_vrrp::ip::VRRP_MULTICAST;
use halab_vrrp::sync_group;
use halab_vrrp::{Action, Input, Instance, Reason, ScriptOutcome, State, Timestamp, Vip};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::mpsc::{Receiver, Sender, channel, unbounded_channel};
use tokio::task::AbortHandle;

use crate::conf::{self, Config, NotifyConf, ScriptConf};
use crate::net::{ArpSender, Link, NetEvent, Netlink, VrrpSocket, gratuitous_arp, packet_vrid};
use process::RunAs;
use runner::{Runner, Setup, discard_key, log_discard, state_word};

pub use status::StatusCell;

/// keepalived's `garp_lower_prio_repeat` default: ARPs per VIP when a master hears a lower
/// priority (and for halab's contention ARPs).
const GARP_LOWER_PRIO_REPEAT: u32 = 5;
/// Events waiting for the loop; received packets beyond this are dropped.
const EVENT_QUEUE: usize = 4096;
/// How long to wait for nothing: the loop wakes at least this often.
const IDLE_WAKEUP: Duration = Duration::from_secs(3600);

/// What the daemon was started with.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_file: PathBuf,
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{0}")]
    Netlink(#[from] crate::net::NetlinkError),
    #[error("open the AF_PACKET socket for gratuitous ARP: {0}")]
    Arp(std::io::Error),
    #[error("install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("{0}")]
    ScriptUser(String),
}

enum Event {
    Packet {
        runner: u64,
        packet: Vec<u8>,
    },
    Net(NetEvent),
    Script {
        name: String,
        generation: u64,
        outcome: ScriptOutcome,
        code: Option<i32>,
    },
    Terminate,
    Reload,
}

/// A running `vrrp_script`.
struct ScriptTask {
    conf: ScriptConf,
    generation: u64,
    task: AbortHandle,
    stats: halab_api::ScriptStatus,
}

impl Drop for ScriptTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct Daemon {
    options: Options,
    config: Config,
    epoch: Instant,
    netlink: Netlink,
    arp: ArpSender,
    links: HashMap<u32, Link>,
    runners: Vec<Runner>,
    scripts: HashMap<String, ScriptTask>,
    run_as: RunAs,
    tx: Sender<Event>,
    next_id: u64,
    status: StatusCell,
    reloads: u64,
    failed_reloads: u64,
    /// Last state reported per sync group, for group notify scripts.
    group_states: HashMap<String, halab_api::VrrpState>,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(options: Options, config: Config, status: StatusCell) -> Result<(), DriverError> {
    let (tx, rx) = channel(EVENT_QUEUE);
    let run_as = RunAs::resolve(config.script_user.as_ref(), config.enable_script_security)
        .map_err(DriverError::ScriptUser)?;
    let netlink = Netlink::connect()?;
    let (net_tx, mut net_rx) = unbounded_channel();
    Netlink::watch(net_tx)?;
    let forward = tx.clone();
    tokio::spawn(async move {
        while let Some(event) = net_rx.recv().await {
            if forward.send(Event::Net(event)).await.is_err() {
                return;
            }
        }
    });
    spawn_signals(tx.clone())?;
    let mut daemon = Daemon {
        options,
        config: Config::default(),
        epoch: Instant::now(),
        netlink,
        arp: ArpSender::open().map_err(DriverError::Arp)?,
        links: HashMap::new(),
        runners: Vec::new(),
        scripts: HashMap::new(),
        run_as,
        tx,
        next_id: 0,
        status,
        reloads: 0,
        failed_reloads: 0,
        group_states: HashMap::new(),
    };
    daemon.read_links().await;
    daemon.install(config).await;
    daemon.event_loop(rx).await;
    Ok(())
}

fn spawn_signals(tx: Sender<Event>) -> Result<(), DriverError> {
    let mut term = signal(SignalKind::terminate()).map_err(DriverError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DriverError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(DriverError::Signals)?;
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                _ = term.recv() => Event::Terminate,
                _ = int.recv() => Event::Terminate,
                _ = hup.recv() => Event::Reload,
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    Ok(())
}

impl Daemon {
    fn now_ts(&self, now: Instant) -> Timestamp {
        Timestamp::from_duration(now.saturating_duration_since(self.epoch))
    }

    async fn event_loop(&mut self, mut rx: Receiver<Event>) {
        loop {
            self.publish();
            let wake = self
                .runners
                .iter()
                .filter_map(Runner::next_wakeup)
                .min()
                .unwrap_or_else(|| Instant::now() + IDLE_WAKEUP);
            let event = tokio::select! {
                event = rx.recv() => event,
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {
                    self.timers().await;
                    continue;
                }
            };
            match event {
                Some(Event::Packet { runner, packet }) => self.packet(runner, packet).await,
                Some(Event::Net(event)) => self.net_event(event).await,
                Some(Event::Script {
                    name,
                    generation,
                    outcome,
                    code,
                }) => self.script_result(&name, generation, outcome, code).await,
                Some(Event::Reload) => self.reload().await,
                Some(Event::Terminate) | None => {
                    self.shutdown().await;
                    return;
                }
            }
        }
    }

    // ---- configuration ----

    /// Starts scripts and instances for `config` (at startup, and on reload keeping what did
    /// not change).
    async fn install(&mut self, config: Config) {
        if let Some(id) = &config.router_id {
            tracing::info!("Using router_id {id}");
        }
        // Scripts: keep those whose configuration is unchanged, restart the others.
        let tracked: Vec<&ScriptConf> = config
            .scripts
            .iter()
            .filter(|s| {
                config
                    .instances
                    .iter()
                    .any(|i| i.track_scripts.iter().any(|(n, _)| n == &s.name))
            })
            .collect();
        for s in &config.scripts {
            if !tracked.iter().any(|t| t.name == s.name) {
                tracing::warn!(
                    "vrrp_script {} is not tracked by any instance, not running it",
                    s.name
                );
            }
        }
        self.scripts
            .retain(|name, task| tracked.iter().any(|s| &s.name == name && **s == task.conf));
        for script in tracked {
            if !self.scripts.contains_key(&script.name) {
                self.start_script(script.clone());
            }
        }
        // Instances: keep unchanged ones (same settings, same scripts) with their state.
        let old: Vec<Runner> = std::mem::take(&mut self.runners);
        let mut kept: HashMap<String, Runner> = HashMap::new();
        for runner in old {
            // The core knows whether it is in a sync group: joining or leaving one restarts it.
            let grouped = |c: &Config| {
                c.sync_groups
                    .iter()
                    .any(|g| g.instances.contains(&runner.conf.name))
            };
            let same = grouped(&self.config) == grouped(&config)
                && config.instances.iter().any(|new| {
                    *new == runner.conf
                        && new.track_scripts.iter().all(|(n, _)| {
                            config.scripts.iter().find(|s| &s.name == n)
                                == runner.scripts.iter().find(|s| &s.name == n)
                        })
                });
            if same {
                kept.insert(runner.conf.name.clone(), runner);
            } else {
                self.stop_runner(runner).await;
            }
        }
        self.config = config;
        let instances = self.config.instances.clone();
        for conf in instances {
            if let Some(runner) = kept.remove(&conf.name) {
                tracing::info!(
                    "({}) configuration unchanged, keeping state {:?}",
                    conf.name,
                    runner.state()
                );
                self.runners.push(runner);
                continue;
            }
            self.next_id += 1;
            let links = &self.links;
            let runner = Runner::new(self.next_id, conf, &self.config.scripts, |name| {
                links.values().any(|l| l.name == name && l.up)
            });
            self.runners.push(runner);
            let index = self.runners.len() - 1;
            self.start_runner(index).await;
        }
        self.refresh_tracking().await;
    }

    fn start_script(&mut self, conf: ScriptConf) {
        self.next_id += 1;
        let generation = self.next_id;
        if let Some(reason) = conf.argv.first().and_then(|p| self.run_as.insecure(p)) {
            tracing::error!("Disabling vrrp_script {}: {reason}", conf.name);
        }
        let insecure = conf
            .argv
            .first()
            .and_then(|p| self.run_as.insecure(p))
            .is_some();
        let tx = self.tx.clone();
        let run_as = self.run_as.clone();
        let task_conf = conf.clone();
        let task = tokio::spawn(async move {
            let interval = Duration::from_millis(task_conf.interval_ms);
            let timeout = Duration::from_millis(task_conf.effective_timeout_ms());
            loop {
                let started = tokio::time::Instant::now();
                let (outcome, code) = if insecure {
                    (ScriptOutcome::Failure, None)
                } else {
                    process::run_check(&task_conf.argv, timeout, &run_as).await
                };
                let event = Event::Script {
                    name: task_conf.name.clone(),
                    generation,
                    outcome,
                    code,
                };
                if tx.send(event).await.is_err() {
                    return;
                }
                tokio::time::sleep_until(started + interval).await;
            }
        });
        let stats = halab_api::ScriptStatus {
            name: conf.name.clone(),
            command: conf.command.clone(),
            state: "init".into(),
            ..halab_api::ScriptStatus::default()
        };
        self.scripts.insert(
            conf.name.clone(),
            ScriptTask {
                conf,
                generation,
                task: task.abort_handle(),
                stats,
            },
        );
    }

    /// Shuts an instance down for good (reload removed or changed it).
    async fn stop_runner(&mut self, mut runner: Runner) {
        tracing::info!("({}) stopping", runner.name());
        if let Some(setup) = runner.setup.as_mut() {
            let now = Instant::now();
            let actions = setup.core.handle(self.now_ts(now), Input::Shutdown);
            self.runners.push(runner);
            let index = self.runners.len() - 1;
            self.apply(index, actions).await;
            self.runners.pop();
        }
    }

    /// Resolves the interface and address, opens the socket, starts the core.
    async fn start_runner(&mut self, index: usize) {
        let all_vips: Vec<Ipv4Addr> = self
            .config
            .instances
            .iter()
            .flat_map(|i| i.vips.iter().map(|v| v.vip.address))
            .collect();
        let addresses = match self.netlink.addresses().await {
            Ok(a) => a,
            Err(e) => {
                self.runners[index].problem = Some(format!("failed to {e}"));
                return;
            }
        };
        let tx = self.tx.clone();
        let runner = &mut self.runners[index];
        let name = runner.conf.name.clone();
        let Some(link) = self
            .links
            .values()
            .find(|l| l.name == runner.conf.interface)
            .cloned()
        else {
            let problem = format!("interface {} does not exist", runner.conf.interface);
            if runner.problem.as_deref() != Some(problem.as_str()) {
                tracing::warn!("({name}) {problem}; waiting for it (FAULT)");
            }
            runner.problem = Some(problem);
            return;
        };
        let primary = runner.conf.unicast_src_ip.or_else(|| {
            addresses
                .iter()
                .find(|a| a.index == link.index && !a.secondary && !all_vips.contains(&a.address))
                .map(|a| a.address)
        });
        let Some(primary) = primary else {
            let problem = format!("interface {} has no IPv4 address", link.name);
            if runner.problem.as_deref() != Some(problem.as_str()) {
                tracing::warn!("({name}) {problem}; waiting for one (FAULT)");
            }
            runner.problem = Some(problem);
            return;
        };
        let socket =
            match VrrpSocket::open(&link.name, link.index, runner.conf.unicast_peers.is_empty()) {
                Ok(s) => Arc::new(s),
                Err(e) => {
                    tracing::error!(
                        "({name}) failed to open the VRRP socket on {}: {e}",
                        link.name
                    );
                    runner.problem = Some(format!("cannot open the VRRP socket: {e}"));
                    return;
                }
            };
        let mut core_config = runner.conf.core_config(primary);
        core_config.sync_group = self
            .config
            .sync_groups
            .iter()
            .any(|g| g.instances.contains(&name));
        let core = match Instance::new(core_config) {
            Ok(core) => core,
            Err(e) => {
                tracing::error!("({name}) {e}");
                runner.problem = Some(e.to_string());
                return;
            }
        };
        for warning in core.warnings() {
            tracing::warn!("({name}) {warning}");
        }
        let id = runner.id;
        let vrid = runner.conf.vrid;
        let recv_socket = Arc::clone(&socket);
        let recv_task = tokio::spawn(async move {
            loop {
                match recv_socket.recv().await {
                    Ok(packet) => {
                        // Other virtual routers share the wire: skip them before the core.
                        if packet_vrid(&packet) != Some(vrid) {
                            continue;
                        }
                        // A flood must not grow memory: past the queue's bound, drop packets
                        // (VRRP survives lost adverts; the loop is behind anyway).
                        match tx.try_send(Event::Packet { runner: id, packet }) {
                            Ok(()) | Err(TrySendError::Full(_)) => {}
                            Err(TrySendError::Closed(_)) => return,
                        }
                    }
                    Err(e) => {
                        tracing::warn!("VRRP socket receive failed: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        })
        .abort_handle();
        runner.problem = None;
        runner.link_up = link.up;
        runner.fed = Default::default();
        runner.setup = Some(Setup {
            ifindex: link.index,
            primary,
            socket,
            recv_task,
            core,
        });
        tracing::info!(
            "({name}) starting on {} (primary {primary}, vrid {vrid}, priority {})",
            link.name,
            runner.conf.priority
        );
        let now = self.now_ts(Instant::now());
        let mut actions = Vec::new();
        let runner = &mut self.runners[index];
        let own = runner.tracker.status();
        if let Some(setup) = runner.setup.as_mut() {
            if !link.up {
                actions.extend(setup.core.handle(now, Input::InterfaceDown));
            }
            runner.fed = own;
            actions.extend(
                setup
                    .core
                    .handle(now, Input::TrackingChanged { tracking: own }),
            );
            actions.extend(setup.core.handle(now, Input::Startup));
        }
        self.apply(index, actions).await;
        // RFC 5798 6.4.2: a backup must not hold the VIPs. A crashed predecessor (SIGKILL)
        // may have left them on the interface: take them off unless we are master already.
        let runner = &self.runners[index];
        if runner.state() != State::Master {
            let leftovers: Vec<Vip> = runner
                .conf
                .vips
                .iter()
                .filter(|v| {
                    let dev = self.vip_dev_index(link.index, v.dev.as_deref());
                    addresses
                        .iter()
                        .any(|a| a.index == dev && a.address == v.vip.address)
                })
                .map(|v| v.vip)
                .collect();
            if !leftovers.is_empty() {
                tracing::info!(
                    "({name}) removing leftover VIPs: {}",
                    leftovers
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                self.change_vips(index, &leftovers, false).await;
            }
        }
    }

    async fn reload(&mut self) {
        tracing::info!(
            "Reloading configuration from {}",
            self.options.config_file.display()
        );
        match conf::load(&self.options.config_file) {
            Ok(parsed) => {
                for notice in &parsed.notices {
                    tracing::warn!("{notice}");
                }
                match RunAs::resolve(
                    parsed.config.script_user.as_ref(),
                    parsed.config.enable_script_security,
                ) {
                    Ok(run_as) => {
                        if run_as != self.run_as {
                            // Every script runs as someone else now: restart them all.
                            self.scripts.clear();
                            self.run_as = run_as;
                        }
                    }
                    Err(e) => {
                        tracing::error!("Reload refused: {e}");
                        self.failed_reloads += 1;
                        return;
                    }
                }
                self.install(parsed.config).await;
                self.reloads += 1;
                tracing::info!("Configuration reloaded");
            }
            Err(errors) => {
                self.failed_reloads += 1;
                for e in &errors.0 {
                    tracing::error!("{e}");
                }
                tracing::error!(
                    "Reload refused: the configuration has errors; keeping the running one"
                );
            }
        }
    }

    async fn shutdown(&mut self) {
        tracing::info!("Stopping");
        let runners = std::mem::take(&mut self.runners);
        for runner in runners {
            self.stop_runner(runner).await;
        }
        self.scripts.clear();
        self.publish();
    }

    // ---- events ----

    async fn packet(&mut self, id: u64, packet: Vec<u8>) {
        let Some(index) = self.runners.iter().position(|r| r.id == id) else {
            return;
        };
        let now = self.now_ts(Instant::now());
        let runner = &mut self.runners[index];
        let Some(setup) = runner.setup.as_mut() else {
            return;
        };
        runner.counters.adverts_received += 1;
        let actions = setup.core.handle(now, Input::PacketReceived { packet });
        self.apply(index, actions).await;
    }

    async fn timers(&mut self) {
        let now = Instant::now();
        let ts = self.now_ts(now);
        for index in 0..self.runners.len() {
            let runner = &mut self.runners[index];
            if let Some((timer, at)) = runner.deadline
                && at <= now
            {
                runner.deadline = None;
                if let Some(setup) = runner.setup.as_mut() {
                    let actions = setup.core.handle(ts, Input::TimerFired { timer });
                    self.apply(index, actions).await;
                }
            }
            let runner = &mut self.runners[index];
            if runner.garp_burst_at.is_some_and(|at| at <= now) {
                runner.garp_burst_at = None;
                if runner.state() == State::Master {
                    let repeat = runner.conf.garp_master_repeat;
                    self.send_garps(index, repeat);
                }
            }
            let runner = &mut self.runners[index];
            if runner.refresh_at.is_some_and(|at| at <= now) {
                runner.refresh_at = None;
                if runner.state() == State::Master && runner.conf.garp_master_refresh_s > 0 {
                    runner.refresh_at =
                        Some(now + Duration::from_secs(runner.conf.garp_master_refresh_s));
                    self.send_garps(index, 1);
                }
            }
        }
    }

    async fn net_event(&mut self, event: NetEvent) {
        match event {
            NetEvent::LinkChanged(link) => {
                let previous = self.links.insert(link.index, link.clone());
                let changed = previous
                    .as_ref()
                    .is_none_or(|p| p.up != link.up || p.name != link.name);
                if changed {
                    tracing::info!(
                        "Netlink reports {} {}",
                        link.name,
                        if link.up { "UP" } else { "DOWN" }
                    );
                    self.link_state(&link.name, link.index, link.up).await;
                }
            }
            NetEvent::LinkRemoved { index, name } => {
                let name = self.links.remove(&index).map(|l| l.name).or(name);
                if let Some(name) = name {
                    tracing::info!("Netlink reports {name} removed");
                    self.link_state(&name, index, false).await;
                }
            }
            NetEvent::AddressRemoved(address) => self.address_removed(address).await,
            NetEvent::AddressAdded(address) => {
                // An instance waiting for an address may start now.
                let waiting: Vec<usize> = (0..self.runners.len())
                    .filter(|&i| {
                        let r = &self.runners[i];
                        r.setup.is_none()
                            && self
                                .links
                                .get(&address.index)
                                .is_some_and(|l| l.name == r.conf.interface)
                    })
                    .collect();
                for index in waiting {
                    self.start_runner(index).await;
                }
                if !self.runners.is_empty() {
                    self.refresh_tracking().await;
                }
            }
            NetEvent::Resync => {
                tracing::warn!("Netlink event socket overran or failed; re-reading links");
                let before = self.links.clone();
                self.read_links().await;
                let links: Vec<Link> = self.links.values().cloned().collect();
                for link in links {
                    if before.get(&link.index) != Some(&link) {
                        self.link_state(&link.name, link.index, link.up).await;
                    }
                }
            }
        }
    }

    async fn read_links(&mut self) {
        match self.netlink.links().await {
            Ok(links) => self.links = links.into_iter().map(|l| (l.index, l)).collect(),
            Err(e) => tracing::error!("Failed to {e}"),
        }
    }

    /// A link went up or down, appeared or vanished.
    async fn link_state(&mut self, name: &str, index: u32, up: bool) {
        let now = self.now_ts(Instant::now());
        for i in 0..self.runners.len() {
            let runner = &mut self.runners[i];
            // Tracked interfaces: refresh_tracking() below feeds the change.
            let _ = runner.tracker.interface_changed(name, up);
            if runner.conf.interface != name {
                continue;
            }
            if runner.setup.as_ref().is_some_and(|s| s.ifindex != index) && up {
                // The interface was deleted and created again: the socket is bound to a dead
                // device. Start over on the new one.
                tracing::info!(
                    "({}) {name} was recreated, restarting on it",
                    runner.conf.name
                );
                runner.setup = None;
                runner.deadline = None;
                runner.vips_held = false;
            }
            let runner = &mut self.runners[i];
            if runner.setup.is_none() {
                if up || self.links.contains_key(&index) {
                    self.start_runner(i).await;
                }
                continue;
            }
            if runner.link_up != up {
                runner.link_up = up;
                if let Some(setup) = runner.setup.as_mut() {
                    let input = if up {
                        Input::InterfaceUp
                    } else {
                        Input::InterfaceDown
                    };
                    if !up {
                        tracing::warn!("({}) Interface {name} is down", runner.conf.name);
                    }
                    let actions = setup.core.handle(now, input);
                    self.apply(i, actions).await;
                }
            }
        }
        self.refresh_tracking().await;
    }

    /// Someone removed an address: if it is a VIP of a master, put it back.
    async fn address_removed(&mut self, address: crate::net::Address) {
        for i in 0..self.runners.len() {
            let runner = &self.runners[i];
            if runner.state() != State::Master || !runner.vips_held {
                continue;
            }
            let Some(setup) = runner.setup.as_ref() else {
                continue;
            };
            let Some(vip) = runner
                .conf
                .vips
                .iter()
                .find(|v| v.vip.address == address.address)
                .cloned()
            else {
                continue;
            };
            let dev_index = self.vip_dev_index(setup.ifindex, vip.dev.as_deref());
            if dev_index != address.index {
                continue;
            }
            tracing::warn!(
                "({}) VIP {} was removed from the interface while MASTER, restoring it",
                runner.conf.name,
                vip.vip
            );
            let result = self
                .netlink
                .add_address(
                    dev_index,
                    vip.vip.address,
                    vip.vip.prefix_len,
                    vip.label.as_deref(),
                )
                .await;
            let runner = &mut self.runners[i];
            match result {
                Ok(()) => runner.counters.vips_restored += 1,
                Err(e) => {
                    runner.counters.io_errors += 1;
                    tracing::error!("({}) failed to {e}", runner.conf.name);
                }
            }
            let garps = runner.conf.garp_master_repeat;
            self.send_garps(i, garps);
        }
    }

    async fn script_result(
        &mut self,
        name: &str,
        generation: u64,
        outcome: ScriptOutcome,
        code: Option<i32>,
    ) {
        let Some(task) = self.scripts.get_mut(name) else {
            return;
        };
        if task.generation != generation {
            return;
        }
        task.stats.runs += 1;
        if outcome != ScriptOutcome::Success {
            task.stats.failures += 1;
        }
        task.stats.last_exit_code = code;
        task.stats.last_outcome = Some(
            match outcome {
                ScriptOutcome::Success => "success",
                ScriptOutcome::Failure => "failure",
                ScriptOutcome::TimedOut => "timed_out",
            }
            .into(),
        );
        if outcome == ScriptOutcome::TimedOut {
            tracing::warn!("Script {name} timed out, killed it");
        }
        let mut changed = false;
        let mut first_state = None;
        for runner in &mut self.runners {
            let before = runner.tracker.script_state(name);
            if runner.tracker.script_result(name, outcome).is_ok() {
                let after = runner.tracker.script_state(name);
                changed |= before != after;
                first_state = first_state.or(after);
            }
        }
        if let (Some(state), Some(task)) = (first_state, self.scripts.get_mut(name)) {
            let word = format!("{state:?}").to_lowercase();
            if task.stats.state != word {
                let verb = match state {
                    halab_vrrp::track::ScriptState::Ok => "succeeded",
                    halab_vrrp::track::ScriptState::Failed => "failed",
                    halab_vrrp::track::ScriptState::Init => "init",
                };
                tracing::info!("Script `{name}` now returning {verb}");
                task.stats.state = word;
            }
        }
        if changed {
            self.refresh_tracking().await;
        }
    }

    /// Feeds each instance its tracking status, with its sync group's fault folded in
    /// (keepalived: one member in FAULT puts the whole group in FAULT).
    async fn refresh_tracking(&mut self) {
        let group_fault: HashMap<String, bool> = self
            .config
            .sync_groups
            .iter()
            .map(|g| {
                let fault = self
                    .runners
                    .iter()
                    .filter(|r| g.instances.contains(&r.conf.name))
                    .any(Runner::own_fault);
                (g.name.clone(), fault)
            })
            .collect();
        let now = self.now_ts(Instant::now());
        for index in 0..self.runners.len() {
            let runner = &mut self.runners[index];
            let mut status = runner.tracker.status();
            let in_group = self
                .config
                .sync_groups
                .iter()
                .find(|g| g.instances.contains(&runner.conf.name));
            if let Some(group) = in_group
                && group_fault.get(&group.name).copied().unwrap_or(false)
                && !status.fault
                && runner.link_up
                && runner.setup.is_some()
            {
                tracing::info!(
                    "({}) sync group {} is in FAULT",
                    runner.conf.name,
                    group.name
                );
                status.fault = true;
            }
            if status == runner.fed {
                continue;
            }
            runner.fed = status;
            if let Some(setup) = runner.setup.as_mut() {
                let actions = setup
                    .core
                    .handle(now, Input::TrackingChanged { tracking: status });
                self.apply(index, actions).await;
            }
        }
        self.group_notify();
    }

    // ---- actions ----

    /// Carries out the core's actions for runner `index`, in order, then moves the rest of its
    /// sync group if it asked to or changed state by itself.
    async fn apply(&mut self, index: usize, actions: Vec<Action>) {
        let forced = self.sync_group_inputs(index, &actions);
        let mut state_changed = self.carry_out(index, actions).await;
        if !forced.is_empty() {
            let now = self.now_ts(Instant::now());
            // Forced transitions are carried out without looking at the group again: they
            // cannot re-trigger it.
            for (member, input) in forced {
                let Some(setup) = self.runners[member].setup.as_mut() else {
                    continue;
                };
                let actions = setup.core.handle(now, input);
                state_changed |= self.carry_out(member, actions).await;
            }
        }
        if state_changed {
            self.group_notify();
        }
    }

    /// keepalived `vrrp_sync.c` (the policy is [`sync_group::moves`]): what runner `index`'s
    /// actions mean for the other members of its sync group, as `SyncTo` inputs in the order
    /// to feed them.
    fn sync_group_inputs(&self, index: usize, actions: &[Action]) -> Vec<(usize, Input)> {
        let name = &self.runners[index].conf.name;
        let Some(group) = self
            .config
            .sync_groups
            .iter()
            .find(|g| g.instances.contains(name))
        else {
            return Vec::new();
        };
        // The running members, the mover among them.
        let runners: Vec<usize> = (0..self.runners.len())
            .filter(|&i| {
                i == index
                    || group.instances.contains(&self.runners[i].conf.name)
                        && self.runners[i].setup.is_some()
            })
            .collect();
        let members: Vec<sync_group::Member> = runners
            .iter()
            .map(|&i| sync_group::Member {
                state: self.runners[i].state(),
                wants_master: self.runners[i].wants_master(),
            })
            .collect();
        let mover = runners.iter().position(|&i| i == index).unwrap_or(0);
        let moves = sync_group::moves(mover, &members, actions);
        if !moves.held_back_by.is_empty() {
            let waiting: Vec<&str> = moves
                .held_back_by
                .iter()
                .map(|&m| self.runners[runners[m]].name())
                .collect();
            tracing::info!(
                "({name}) Receive advertisement timeout; sync group {} stays BACKUP while {} does not want MASTER",
                group.name,
                waiting.join(", ")
            );
        }
        moves
            .inputs
            .into_iter()
            .map(|(m, input)| (runners[m], input))
            .collect()
    }

    /// Carries out the core's actions for runner `index`, in order; whether the state changed.
    async fn carry_out(&mut self, index: usize, actions: Vec<Action>) -> bool {
        let becomes_master = actions.iter().any(|a| {
            matches!(
                a,
                Action::StateChanged {
                    to: State::Master,
                    ..
                }
            )
        });
        let mut state_changed = false;
        // keepalived logs the new state before the work it entails (VIPs, ARPs).
        for action in &actions {
            if let Action::StateChanged { to, reason, .. } = action {
                self.log_transition(index, *to, *reason);
            }
        }
        for action in actions {
            let runner = &mut self.runners[index];
            let name = runner.conf.name.clone();
            let Some(setup) = runner.setup.as_ref() else {
                return state_changed;
            };
            match action {
                Action::SendAdvert { advert } => {
                    let destinations: Vec<Ipv4Addr> = if runner.conf.unicast_peers.is_empty() {
                        vec![VRRP_MULTICAST]
                    } else {
                        runner.conf.unicast_peers.clone()
                    };
                    for dst in destinations {
                        match setup.socket.send(&advert, setup.primary, dst) {
                            Ok(()) => {
                                runner.counters.adverts_sent += 1;
                                if advert.priority() == 0 {
                                    runner.counters.priority_zero_sent += 1;
                                }
                            }
                            Err(e) => {
                                runner.counters.io_errors += 1;
                                tracing::warn!("({name}) failed to send advert to {dst}: {e}");
                            }
                        }
                    }
                    if advert.priority() == 0 {
                        tracing::info!("({name}) sent 0 priority");
                    }
                }
                Action::SendGratuitousArp { .. } => {
                    let repeat = if becomes_master {
                        runner.conf.garp_master_repeat
                    } else {
                        GARP_LOWER_PRIO_REPEAT
                    };
                    if becomes_master {
                        let now = Instant::now();
                        if runner.conf.garp_master_delay_s > 0 {
                            runner.garp_burst_at =
                                Some(now + Duration::from_secs(runner.conf.garp_master_delay_s));
                        }
                        if runner.conf.garp_master_refresh_s > 0 {
                            runner.refresh_at =
                                Some(now + Duration::from_secs(runner.conf.garp_master_refresh_s));
                        }
                    }
                    self.send_garps(index, repeat);
                }
                Action::AddVips { vips } => {
                    tracing::info!("({name}) setting VIPs.");
                    self.change_vips(index, &vips, true).await;
                }
                Action::RemoveVips { vips } => {
                    tracing::info!("({name}) removing VIPs.");
                    self.change_vips(index, &vips, false).await;
                }
                Action::ArmTimer { timer, at } => {
                    runner.deadline = Some((timer, self.epoch + at.to_duration()));
                }
                Action::CancelTimer { timer } => {
                    if runner.deadline.is_some_and(|(t, _)| t == timer) {
                        runner.deadline = None;
                    }
                }
                Action::StateChanged { from, to, reason } => {
                    state_changed = true;
                    self.state_changed(index, from, to, reason);
                }
                Action::PriorityChanged { from, to } => {
                    tracing::info!("({name}) Changing effective priority from {from} to {to}");
                }
                Action::Discarded { src, reason } => {
                    *runner
                        .counters
                        .discarded
                        .entry(discard_key(&reason))
                        .or_default() += 1;
                    log_discard(&name, src, &reason);
                }
                // Handled by sync_group_inputs before these actions were carried out.
                Action::WantMaster { .. } => {}
                Action::Ignored { reason } => tracing::debug!("({name}) {reason}"),
            }
        }
        state_changed
    }

    fn log_transition(&self, index: usize, to: State, reason: Reason) {
        let runner = &self.runners[index];
        let name = &runner.conf.name;
        match reason {
            Reason::MasterDown if to == State::Master => {
                tracing::info!("({name}) Receive advertisement timeout")
            }
            Reason::MasterResigned => {
                tracing::info!("({name}) Master sent priority 0, taking over")
            }
            Reason::Preempted => tracing::info!("({name}) Preempting a lower priority master"),
            Reason::HigherPriority { src, priority } => {
                let ours = runner.setup.as_ref().map_or(0, |s| s.core.priority());
                tracing::info!(
                    "({name}) received higher priority advert from {src} (priority {priority}, ours {ours})"
                );
            }
            Reason::InterfaceDown => {
                tracing::info!("({name}) Interface {} is down", runner.conf.interface)
            }
            Reason::TrackingFault => tracing::info!("({name}) tracked script or interface failed"),
            Reason::SyncGroup => tracing::info!("({name}) following its sync group"),
            _ => {}
        }
        let word = state_word(to, reason);
        if word == "STOP" {
            tracing::info!("({name}) Stopped");
        } else {
            tracing::info!("({name}) Entering {word} STATE");
        }
    }

    fn state_changed(&mut self, index: usize, from: State, to: State, reason: Reason) {
        let runner = &mut self.runners[index];
        let name = runner.conf.name.clone();
        runner.counters.transitions += 1;
        runner.since = Instant::now();
        if to == State::Master {
            runner.counters.became_master += 1;
        }
        if from == State::Master {
            runner.garp_burst_at = None;
            runner.refresh_at = None;
        }
        let word = state_word(to, reason);
        let priority = runner
            .setup
            .as_ref()
            .map_or(runner.conf.priority, |s| s.core.priority());
        let notify = runner.conf.notify.clone();
        self.notify(&notify, "INSTANCE", &name, word, priority);
    }

    /// Runs the notify scripts for a state: the specific one, then `notify` with
    /// `TYPE NAME STATE PRIORITY` (keepalived's arguments).
    fn notify(&self, notify: &NotifyConf, kind: &str, name: &str, word: &str, priority: u8) {
        let specific = match word {
            "MASTER" => notify.master.as_ref(),
            "BACKUP" => notify.backup.as_ref(),
            "FAULT" => notify.fault.as_ref(),
            "STOP" => notify.stop.as_ref(),
            _ => None,
        };
        if let Some(command) = specific
            && let Ok(argv) = conf::split_command(command)
        {
            process::spawn_notify(argv, &self.run_as);
        }
        if word == "INIT" {
            return;
        }
        if let Some(command) = &notify.any
            && let Ok(mut argv) = conf::split_command(command)
        {
            argv.extend([
                kind.to_owned(),
                name.to_owned(),
                word.to_owned(),
                priority.to_string(),
            ]);
            process::spawn_notify(argv, &self.run_as);
        }
    }

    /// Group notify scripts when a sync group's state changes.
    fn group_notify(&mut self) {
        let groups = self.config.sync_groups.clone();
        for group in groups {
            let state = status::group_state(&group, &self.runners);
            let previous = self.group_states.insert(group.name.clone(), state);
            if previous.is_some_and(|p| p != state)
                || (previous.is_none() && state != halab_api::VrrpState::Init)
            {
                let word = state.as_str();
                if word != "INIT" {
                    tracing::info!(
                        "VRRP_Group({}) Syncing instances to {word} state",
                        group.name
                    );
                    self.notify(&group.notify, "GROUP", &group.name, word, 0);
                }
            }
        }
    }

    fn vip_dev_index(&self, default: u32, dev: Option<&str>) -> u32 {
        dev.and_then(|d| self.links.values().find(|l| l.name == d).map(|l| l.index))
            .unwrap_or(default)
    }

    async fn change_vips(&mut self, index: usize, vips: &[Vip], add: bool) {
        let runner = &self.runners[index];
        let Some(setup) = runner.setup.as_ref() else {
            return;
        };
        let name = runner.conf.name.clone();
        let mut work = Vec::new();
        for vip in vips {
            let conf = runner.conf.vips.iter().find(|v| v.vip == *vip);
            let dev = conf.and_then(|c| c.dev.as_deref());
            let label = conf.and_then(|c| c.label.clone());
            work.push((self.vip_dev_index(setup.ifindex, dev), *vip, label));
        }
        let routes: Vec<_> = runner
            .conf
            .virtual_routes
            .iter()
            .map(|r| {
                (
                    r.clone(),
                    r.dev
                        .as_deref()
                        .map(|d| self.vip_dev_index(setup.ifindex, Some(d))),
                )
            })
            .collect();
        let mut errors = 0;
        if !add {
            for (route, dev) in &routes {
                if let Err(e) = self.netlink.del_route(route, *dev).await {
                    errors += 1;
                    tracing::error!("({name}) failed to {e}");
                }
            }
        }
        for (dev, vip, label) in &work {
            let result = if add {
                self.netlink
                    .add_address(*dev, vip.address, vip.prefix_len, label.as_deref())
                    .await
            } else {
                self.netlink
                    .del_address(*dev, vip.address, vip.prefix_len)
                    .await
            };
            if let Err(e) = result {
                errors += 1;
                tracing::error!("({name}) failed to {e}");
            }
        }
        if add {
            for (route, dev) in &routes {
                if let Err(e) = self.netlink.add_route(route, *dev).await {
                    errors += 1;
                    tracing::error!("({name}) failed to {e}");
                }
            }
        }
        let runner = &mut self.runners[index];
        runner.counters.io_errors += errors;
        runner.vips_held = add;
    }

    /// `repeat` gratuitous ARPs for each VIP, on the VIP's interface.
    fn send_garps(&mut self, index: usize, repeat: u32) {
        let runner = &self.runners[index];
        let Some(setup) = runner.setup.as_ref() else {
            return;
        };
        let name = runner.conf.name.clone();
        let mut sent = 0;
        let mut errors = 0;
        let mut by_dev: Vec<(String, Vec<Ipv4Addr>)> = Vec::new();
        for vip in &runner.conf.vips {
            let dev = vip.dev.clone().unwrap_or_else(|| {
                self.links
                    .get(&setup.ifindex)
                    .map_or(runner.conf.interface.clone(), |l| l.name.clone())
            });
            match by_dev.iter_mut().find(|(d, _)| *d == dev) {
                Some((_, list)) => list.push(vip.vip.address),
                None => by_dev.push((dev, vec![vip.vip.address])),
            }
        }
        for (dev, addresses) in by_dev {
            let target = match ArpSender::target(&dev) {
                Ok(t) => t,
                Err(e) => {
                    errors += 1;
                    tracing::warn!("({name}) cannot send gratuitous ARP on {dev}: {e}");
                    continue;
                }
            };
            tracing::info!(
                "({name}) Sending/queueing gratuitous ARPs on {dev} for {}",
                addresses
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for address in addresses {
                let frame = gratuitous_arp(target.mac, address);
                for _ in 0..repeat {
                    match self.arp.send(&target, &frame) {
                        Ok(()) => sent += 1,
                        Err(e) => {
                            errors += 1;
                            tracing::warn!("({name}) gratuitous ARP on {dev} failed: {e}");
                        }
                    }
                }
                tracing::info!("Sending gratuitous ARP on {dev} for {address}");
            }
        }
        let runner = &mut self.runners[index];
        runner.counters.garps_sent += sent;
        runner.counters.io_errors += errors;
    }

    fn publish(&self) {
        let status: Status = status::build(self);
        self.status.set(status);
    }
}

/// The shared handle the API reads.
pub fn status_cell() -> StatusCell {
    StatusCell(Arc::new(Mutex::new(Status::default())))
}
