//! The event loop: everything from outside (packets, netlink, script results, signals,
//! timers) becomes an input to one instance's core; every action the core returns is carried
//! out here. One task owns all instances, so sync groups and reloads see a consistent whole.

mod apply;
mod install;
mod links;
mod notify;
mod process;
mod receive;
mod runner;
mod scripts;
mod start;
mod status;
mod timers;
mod vips;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use halab_api::Status;
use halab_vrrp::{ScriptOutcome, Timestamp};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{Receiver, Sender, channel, unbounded_channel};

use crate::conf::Config;
use crate::net::{ArpSender, Link, NetEvent, Netlink};
use process::RunAs;
use runner::Runner;
use scripts::ScriptTask;

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

    fn publish(&self) {
        let status: Status = status::build(self);
        self.status.set(status);
    }
}

/// The shared handle the API reads.
pub fn status_cell() -> StatusCell {
    StatusCell(Arc::new(Mutex::new(Status::default())))
}
