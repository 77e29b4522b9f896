//! The event loop: everything from outside (packets, netlink, script results, signals,
//! timers) becomes an input to one instance's core; every action the core returns is carried
//! out here. One task owns all instances, so sync groups and reloads see a consistent whole.

mod apply;
mod dump;
mod fifo;
mod heal;
mod install;
mod keyhash;
mod links;
mod notify;
mod outbox;
mod process;
mod receive;
mod runner;
mod scripts;
mod start;
mod status;
mod timers;
mod tracked;
mod turn;
mod vips;
mod wakeup;
mod watch;
mod wire;
mod woken;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use halab_vrrp::{ScriptOutcome, Timestamp};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{Receiver, Sender, channel, unbounded_channel};

use crate::conf::Config;
use crate::net::{ArpSender, Firewall, Link, NetEvent, Netlink};
use process::RunAs;
use runner::Runner;
use scripts::ScriptTask;
use turn::Turn;
use wakeup::Wakeup;

pub use status::StatusCell;

/// keepalived's `garp_lower_prio_repeat` default: ARPs per VIP when a master hears a lower
/// priority (and for halab's contention ARPs).
const GARP_LOWER_PRIO_REPEAT: u32 = 5;
/// A wake-up later than this after its deadline may have missed packets that arrived
/// meanwhile: the sockets are read without asking the runtime first.
const LATE: std::time::Duration = std::time::Duration::from_millis(1);
/// Events waiting for the loop (VRRP packets wait in their sockets, not here).
const EVENT_QUEUE: usize = 4096;

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
    #[error("create the loop's timerfd: {0}")]
    Timer(std::io::Error),
    #[error("install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("{0}")]
    ScriptUser(String),
}

enum Event {
    /// ARP heard on an interface (split-brain heal).
    Arp {
        ifindex: u32,
        packet: crate::net::ArpPacket,
    },
    Net(NetEvent),
    Script {
        name: String,
        generation: u64,
        outcome: ScriptOutcome,
        code: Option<i32>,
    },
    /// A tracked file's value or a tracked process's quorum changed (watch.rs).
    Tracked {
        generation: u64,
        change: watch::Change,
    },
    Terminate,
    Reload,
    /// SIGUSR1, SIGUSR2, SIGJSON, SIGSTATS_CLEAR: write a dump file.
    Dump(dump::Dump),
}

pub struct Daemon {
    options: Options,
    /// The configuration installed; its instances are moved into `runners`.
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
    /// One VRRP socket per interface, shared by its instances, read by the loop itself.
    sockets: keyhash::KeyMap<receive::SocketKey, receive::SharedSocket>,
    /// Buffers for reading the sockets (out of the daemon while their packets are handled).
    recv_buffers: Option<Box<crate::net::RecvBuffers>>,
    /// Kept vectors, so that an advert sent or received allocates nothing: the sockets' keys
    /// while they are all read, and a core's actions while they are carried out.
    socket_keys: Vec<receive::SocketKey>,
    actions: Vec<halab_vrrp::Action>,
    /// One ARP listener per interface (split-brain heal), shared by its instances.
    arp_listeners: HashMap<u32, heal::ArpListener>,
    /// Heal announcements waiting for their holder's ARP reply.
    heal_pending: Vec<heal::Pending>,
    /// Interfaces' link-layer addresses for sending ARP, by name; forgotten on link events.
    link_targets: HashMap<String, crate::net::LinkTarget>,
    routes: receive::Routes,
    timer_queue: timers::TimerQueue,
    /// The host's addresses, read once while a configuration is installed.
    address_cache: Option<Arc<Vec<crate::net::Address>>>,
    /// The moment the configuration being installed starts its instances.
    install_started: Option<Timestamp>,
    /// keepalived's `vrrp_startup_delay`: when it ends (set at the first install only).
    startup_delay_until: Option<Timestamp>,
    /// keepalived's nftables table (no_accept drops, VMAC IGMP).
    firewall: Firewall,
    /// Base interfaces' ARP sysctls before their first VMAC, to restore.
    base_sysctls: HashMap<String, Vec<(String, String)>>,
    /// The task polling tracked files and processes, and its generation.
    watcher: Option<(u64, watch::Watcher)>,
    /// Adverts of the timer batch being handled, sent together at its end.
    outbox: outbox::Outbox,
    /// keepalived's notify FIFOs that global_defs names.
    fifos: Vec<fifo::NotifyFifo>,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(options: Options, config: Config, status: StatusCell) -> Result<(), DriverError> {
    let (tx, rx) = channel(EVENT_QUEUE);
    let run_as = RunAs::resolve(config.script_user.as_ref(), config.enable_script_security)
        .map_err(DriverError::ScriptUser)?;
    let wakeup = Wakeup::new().map_err(DriverError::Timer)?;
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
        sockets: keyhash::KeyMap::default(),
        recv_buffers: Some(Box::default()),
        socket_keys: Vec::new(),
        actions: Vec::new(),
        arp_listeners: HashMap::new(),
        heal_pending: Vec::new(),
        link_targets: HashMap::new(),
        routes: receive::Routes::default(),
        timer_queue: timers::TimerQueue::default(),
        address_cache: None,
        install_started: None,
        startup_delay_until: None,
        firewall: Firewall::default(),
        base_sysctls: HashMap::new(),
        watcher: None,
        outbox: outbox::Outbox::default(),
        fifos: Vec::new(),
    };
    daemon.read_links().await;
    daemon.install(config).await;
    daemon.event_loop(rx, wakeup).await;
    Ok(())
}

/// Every signal a keepalived user sends: TERM/INT/QUIT stop cleanly (priority 0, VIPs
/// removed), HUP reloads, USR1/USR2/SIGJSON (SIGRTMIN+2)/SIGSTATS_CLEAR (SIGRTMAX-1) write
/// keepalived's dump files (dump.rs); PIPE is ignored. None of them kills halabd abruptly.
fn spawn_signals(tx: Sender<Event>) -> Result<(), DriverError> {
    let listen = |kind: SignalKind| signal(kind).map_err(DriverError::Signals);
    let mut term = listen(SignalKind::terminate())?;
    let mut int = listen(SignalKind::interrupt())?;
    let mut quit = listen(SignalKind::quit())?;
    let mut hup = listen(SignalKind::hangup())?;
    let mut usr1 = listen(SignalKind::user_defined1())?;
    let mut usr2 = listen(SignalKind::user_defined2())?;
    let mut json = listen(SignalKind::from_raw(nix::libc::SIGRTMIN() + 2))?;
    let mut clear = listen(SignalKind::from_raw(nix::libc::SIGRTMAX() - 1))?;
    let mut pipe = listen(SignalKind::pipe())?;
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                _ = term.recv() => Event::Terminate,
                _ = int.recv() => Event::Terminate,
                _ = quit.recv() => Event::Terminate,
                _ = hup.recv() => Event::Reload,
                _ = usr1.recv() => Event::Dump(dump::Dump::Data),
                _ = usr2.recv() => Event::Dump(dump::Dump::Stats),
                _ = json.recv() => Event::Dump(dump::Dump::Json),
                _ = clear.recv() => Event::Dump(dump::Dump::StatsClear),
                _ = pipe.recv() => continue,
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

    async fn event_loop(&mut self, mut rx: Receiver<Event>, wakeup: Wakeup) {
        let mut requests = self.status.serve();
        let woken = turn::Woken::default();
        let mut turn = 0usize;
        loop {
            let wake = self.next_wake();
            turn = turn.wrapping_add(1);
            let mut sources = turn::Sources {
                woken: &woken,
                wakeup: &wakeup,
                sockets: &self.sockets,
                events: &mut rx,
                requests: &mut requests,
            };
            let next = std::future::poll_fn(|cx| sources.poll(cx, wake, turn)).await;
            let event = match next {
                Turn::Alarm(at, result) => {
                    let slept = match result {
                        Ok(slept) => slept,
                        Err(e) => {
                            tracing::error!("Timer failed: {e}");
                            tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
                            false
                        }
                    };
                    self.due_work(slept).await;
                    continue;
                }
                Turn::Socket(key) => {
                    // If timers are due too, they are handled as above, after every socket
                    // has been read.
                    if !self.due_work(false).await {
                        self.read_socket(key, receive::BATCH, false).await;
                    }
                    continue;
                }
                Turn::Event(event) => event,
                Turn::Status(answer) => {
                    let _ = answer.send(status::build(self));
                    continue;
                }
            };
            if !self.handle(event).await {
                return;
            }
        }
    }

    /// Fires what is due, if anything is (false if nothing was). What arrived before the
    /// deadline counts before the deadline: a backup must see the advert that is already in
    /// its socket before its Master_Down_Timer makes it master (with many instances due at
    /// once, or after the process waited for a CPU, the timers would otherwise run before the
    /// queued adverts are read). The moment is taken first, so every packet queued by then is
    /// read before anything due by then fires. `woken`: the loop slept until the alarm woke
    /// it; if it also woke in time, the runtime's view of the sockets comes from that same
    /// wake-up and is current (a socket it did not see readable costs no read), else every
    /// socket is read whatever the runtime knows.
    async fn due_work(&mut self, woken: bool) -> bool {
        let now = Instant::now();
        let Some(due) = self.next_wake().filter(|&due| due <= now) else {
            // Woken early, or by a socket: nothing is due.
            return false;
        };
        let current = woken && now.saturating_duration_since(due) < LATE;
        self.read_all_sockets(!current).await;
        self.timers(now).await;
        true
    }

    /// Handles one event; false once the daemon has stopped.
    async fn handle(&mut self, event: Option<Event>) -> bool {
        match event {
            Some(Event::Arp { ifindex, packet }) => self.arp_packet(ifindex, packet).await,
            Some(Event::Net(event)) => self.net_event(event).await,
            Some(Event::Script {
                name,
                generation,
                outcome,
                code,
            }) => self.script_result(&name, generation, outcome, code).await,
            Some(Event::Tracked { generation, change }) => {
                self.tracked_change(generation, change).await;
            }
            Some(Event::Reload) => self.reload().await,
            Some(Event::Dump(kind)) => self.dump(kind),
            Some(Event::Terminate) | None => {
                self.shutdown().await;
                return false;
            }
        }
        true
    }

    /// The final status, for the API once the loop has stopped.
    fn publish(&self) {
        self.status.publish_final(status::build(self));
    }
}

/// The shared handle the API reads.
pub fn status_cell() -> StatusCell {
    StatusCell::new()
}

impl Daemon {
    /// Writes a dump file (SIGUSR1/SIGUSR2/SIGJSON/SIGSTATS_CLEAR).
    fn dump(&mut self, kind: dump::Dump) {
        let text = kind.render(&status::build(self));
        match dump::write(&dump::tmp_dir(), kind.file_name(), &text) {
            Ok(path) => tracing::info!("Wrote {}", path.display()),
            Err(e) => tracing::warn!("Can't write {}: {e}", kind.file_name()),
        }
        if kind == dump::Dump::StatsClear {
            for runner in &mut self.runners {
                runner.counters = dump::cleared();
            }
        }
    }
}

/// keepalived's check of tracked scripts at start (and `-t`): each one whose program cannot
/// be found is disabled, with keepalived's message.
pub fn missing_scripts(config: &Config) -> Vec<String> {
    config
        .scripts
        .iter()
        .filter(|s| process::missing(&s.argv, s.shell))
        .map(|s| {
            format!(
                "Disabling track script {} since not found/accessible ({})",
                s.name,
                s.argv.first().map_or("", String::as_str)
            )
        })
        .collect()
}
