//! The daemon's state as the API reports it.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;

use halab_api::{
    DaemonStatus, InstanceStatus, Status, SyncGroupStatus, TrackedInterface, TrackedScript,
    VrrpState,
};
use halab_vrrp::State;

use super::Daemon;
use super::runner::{Runner, api_state};
use crate::conf::SyncGroupConf;

/// A request for the current [`Status`], answered by the event loop.
pub(super) type Request = oneshot::Sender<Status>;

/// The daemon's [`Status`] for the API: built by the event loop when asked (nothing is built
/// per advert), or the last one published once the loop has stopped.
#[derive(Debug, Clone)]
pub struct StatusCell {
    latest: Arc<Mutex<Status>>,
    requests: Arc<Mutex<Option<UnboundedSender<Request>>>>,
}

impl StatusCell {
    pub fn new() -> Self {
        Self {
            latest: Arc::new(Mutex::new(Status::default())),
            requests: Arc::new(Mutex::new(None)),
        }
    }

    /// The event loop answers requests from the returned receiver from now on.
    pub(super) fn serve(&self) -> UnboundedReceiver<Request> {
        let (tx, rx) = unbounded_channel();
        *self.requests.lock().unwrap_or_else(PoisonError::into_inner) = Some(tx);
        rx
    }

    /// The loop has stopped: `status` is the answer from now on.
    pub(super) fn publish_final(&self, status: Status) {
        *self.requests.lock().unwrap_or_else(PoisonError::into_inner) = None;
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = status;
    }

    /// The current status: asked of the event loop while it runs.
    pub async fn get(&self) -> Status {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(tx) = requests {
            let (answer, reply) = oneshot::channel();
            if tx.send(answer).is_ok()
                && let Ok(status) = reply.await
            {
                return status;
            }
        }
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Default for StatusCell {
    fn default() -> Self {
        Self::new()
    }
}

pub fn build(daemon: &Daemon) -> Status {
    let instances = daemon.runners.iter().map(|r| instance(daemon, r)).collect();
    let scripts = daemon
        .config
        .scripts
        .iter()
        .map(|s| match daemon.scripts.get(&s.name) {
            Some(task) => task.stats.clone(),
            None => halab_api::ScriptStatus {
                name: s.name.clone(),
                command: s.command.clone(),
                state: "not_running".into(),
                ..halab_api::ScriptStatus::default()
            },
        })
        .collect();
    let sync_groups = daemon
        .config
        .sync_groups
        .iter()
        .map(|g| SyncGroupStatus {
            name: g.name.clone(),
            instances: g.instances.clone(),
            state: group_state(g, &daemon.runners),
        })
        .collect();
    Status {
        daemon: DaemonStatus {
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            router_id: daemon.config.router_id.clone(),
            config_file: daemon.options.config_file.display().to_string(),
            uptime_secs: daemon.epoch.elapsed().as_secs(),
            reloads: daemon.reloads,
            failed_reloads: daemon.failed_reloads,
        },
        instances,
        scripts,
        sync_groups,
    }
}

fn instance(daemon: &Daemon, r: &Runner) -> InstanceStatus {
    let setup = r.setup.as_ref();
    let state = match setup {
        Some(s) => api_state(s.core.state()),
        None => VrrpState::Fault,
    };
    let master_address = setup.and_then(|s| {
        if s.core.state() == State::Master {
            Some(s.primary)
        } else if s.core.state() == State::Backup {
            s.core.known_master()
        } else {
            None
        }
    });
    InstanceStatus {
        name: r.conf.name.clone(),
        interface: r.conf.interface.clone(),
        vrid: r.conf.vrid,
        version: r.conf.version.number(),
        state,
        base_priority: r.conf.priority,
        effective_priority: setup.map_or(r.conf.priority, |s| s.core.priority()),
        advert_interval_ms: u64::from(r.conf.advert_interval_cs) * 10,
        primary_address: setup.map(|s| s.primary),
        master_address,
        vips: r.conf.vips.iter().map(|v| v.vip.to_string()).collect(),
        vips_held: r.vips_held,
        tracked_scripts: r
            .conf
            .track_scripts
            .iter()
            .map(|(name, weight)| TrackedScript {
                name: name.clone(),
                weight: weight
                    .or_else(|| {
                        daemon
                            .config
                            .scripts
                            .iter()
                            .find(|s| &s.name == name)
                            .map(|s| s.weight)
                    })
                    .unwrap_or(0),
                state: r
                    .script_state(name)
                    .map_or_else(|| "unknown".into(), |s| format!("{s:?}").to_lowercase()),
            })
            .collect(),
        tracked_interfaces: r
            .conf
            .track_interfaces
            .iter()
            .map(|(name, weight)| TrackedInterface {
                name: name.clone(),
                weight: *weight,
                up: daemon.links.values().any(|l| &l.name == name && l.up),
            })
            .collect(),
        problem: r.problem.clone(),
        secs_in_state: r.since.elapsed().as_secs(),
        counters: r.counters.clone(),
    }
}

/// FAULT if any member is, MASTER or BACKUP when all agree, INIT otherwise.
pub fn group_state(group: &SyncGroupConf, runners: &[Runner]) -> VrrpState {
    let states: Vec<VrrpState> = runners
        .iter()
        .filter(|r| group.instances.contains(&r.conf.name))
        .map(|r| api_state(r.state()))
        .collect();
    if states.contains(&VrrpState::Fault) {
        VrrpState::Fault
    } else if !states.is_empty() && states.iter().all(|s| *s == VrrpState::Master) {
        VrrpState::Master
    } else if !states.is_empty() && states.iter().all(|s| *s == VrrpState::Backup) {
        VrrpState::Backup
    } else {
        VrrpState::Init
    }
}
