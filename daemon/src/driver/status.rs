//! The daemon's state as the API reports it.

use std::sync::{Arc, Mutex, PoisonError};

use halab_api::{
    DaemonStatus, InstanceStatus, Status, SyncGroupStatus, TrackedInterface, TrackedScript,
    VrrpState,
};
use halab_vrrp::State;

use super::Daemon;
use super::runner::{Runner, api_state};
use crate::conf::SyncGroupConf;

/// The latest [`Status`], written by the event loop and read by the API.
#[derive(Debug, Clone)]
pub struct StatusCell(pub(super) Arc<Mutex<Status>>);

impl StatusCell {
    pub fn set(&self, status: Status) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = status;
    }

    pub fn get(&self) -> Status {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
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
                    .tracker
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
