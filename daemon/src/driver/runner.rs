//! One `vrrp_instance` at run time: the protocol core, its socket, its tracker, its timers
//! and counters.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use halab_api::{Counters, VrrpState};
use halab_vrrp::{
    DiscardReason, Instance, Reason, ScriptConfig, State, Timer, TrackStatus, Tracker,
};

use super::tracked::{Extra, Plan};
use super::watch::Values;
use crate::conf::{InstanceConf, ScriptConf};
use crate::net::VrrpSocket;

/// What a running instance needs from the host: resolved once its interface and address exist.
#[derive(Debug)]
pub struct Setup {
    pub ifindex: u32,
    /// Advert source and tie-breaker: `unicast_src_ip`, else the interface's primary address
    /// (IPv6: its link-local address).
    pub primary: IpAddr,
    /// The interface's shared socket (sending; the loop reads it for every instance).
    pub socket: Arc<VrrpSocket>,
    pub socket_key: super::receive::SocketKey,
    /// The interface's link address, for the split-brain heal's ARP (None if its ARP
    /// listener could not be opened).
    pub heal: Option<crate::net::LinkTarget>,
    pub core: Instance,
}

#[derive(Debug)]
pub struct Runner {
    /// Stable across reloads and index changes (ARP listener events name it).
    pub id: u64,
    pub conf: InstanceConf,
    /// The `vrrp_script`s this instance tracks, as configured (for reload comparison).
    pub scripts: Vec<ScriptConf>,
    pub setup: Option<Setup>,
    /// Why `setup` is missing.
    pub problem: Option<String>,
    pub tracker: Tracker,
    /// Everything the instance tracks, resolved (for reload comparison).
    pub plan: super::tracked::Plan,
    /// The trackers the core's tracker does not hold (reversed, files, processes).
    pub extra: super::tracked::Extra,
    /// The instance's own interface: up and running.
    pub link_up: bool,
    /// What the core was last told about tracking (own tracking plus sync-group fault).
    pub fed: TrackStatus,
    pub counters: Counters,
    pub since: Instant,
    pub vips_held: bool,
    pub deadline: Option<(Timer, Instant)>,
    /// keepalived `garp_master_delay`: the second burst after becoming master.
    pub garp_burst_at: Option<Instant>,
    /// keepalived `garp_master_refresh`.
    pub refresh_at: Option<Instant>,
    /// keepalived `garp_lower_prio_delay`: the second burst after hearing a lower priority.
    pub lower_prio_burst_at: Option<Instant>,
    /// keepalived `use_vmac`: the VMAC link this instance created (name, index, base name).
    pub vmac: Option<super::wire::VmacLink>,
    /// The wake-up queued for this runner in the loop's timer heap (its one live entry).
    pub queued: Option<Instant>,
}

impl Runner {
    pub fn new(
        id: u64,
        conf: InstanceConf,
        plan: Plan,
        all_scripts: &[ScriptConf],
        values: &Values,
        link_up: impl Fn(&str) -> bool,
    ) -> Self {
        let mut tracker = Tracker::new();
        let mut extra = Extra::default();
        let mut scripts = Vec::new();
        for t in &plan.scripts {
            if let Some(script) = all_scripts.iter().find(|s| s.name == t.name) {
                let config = ScriptConfig {
                    interval_ms: script.interval_ms,
                    timeout_ms: script.timeout_ms,
                    rise: script.rise,
                    fall: script.fall,
                    weight: t.weight,
                    init_fail: script.init_fail,
                };
                if t.reverse {
                    extra.add_script(t.clone(), config);
                } else {
                    tracker.add_script(t.name.clone(), config);
                }
                scripts.push(script.clone());
            }
        }
        for t in &plan.interfaces {
            if t.reverse {
                extra.add_interface(t.clone(), link_up(&t.name));
            } else {
                tracker.add_interface(t.name.clone(), t.weight, link_up(&t.name));
            }
        }
        for t in &plan.files {
            extra.add_file(t.clone(), values.files.get(&t.name).copied().unwrap_or(0));
        }
        for t in &plan.processes {
            let up = values.processes.get(&t.name).copied().unwrap_or(false);
            extra.add_process(t.clone(), up);
        }
        Self {
            id,
            link_up: link_up(&conf.interface),
            conf,
            scripts,
            setup: None,
            problem: Some("starting".into()),
            tracker,
            plan,
            extra,
            fed: TrackStatus::default(),
            counters: Counters::default(),
            since: Instant::now(),
            vips_held: false,
            deadline: None,
            garp_burst_at: None,
            refresh_at: None,
            lower_prio_burst_at: None,
            vmac: None,
            queued: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.conf.name
    }

    pub fn state(&self) -> State {
        self.setup.as_ref().map_or(State::Fault, |s| s.core.state())
    }

    /// keepalived's `wantstate` MASTER: master, or a sync group member held in BACKUP.
    pub fn wants_master(&self) -> bool {
        self.setup.as_ref().is_some_and(|s| s.core.wants_master())
    }

    /// Own fault: interface down, a weight-0 tracker failed, or the instance cannot run.
    pub fn own_fault(&self) -> bool {
        self.setup.is_none() || !self.link_up || self.track_status().fault
    }

    /// What everything the instance tracks adds up to.
    pub fn track_status(&self) -> TrackStatus {
        super::tracked::combine(self.tracker.status(), self.extra.status())
    }

    /// A tracked script's state, wherever it is tracked.
    pub fn script_state(&self, name: &str) -> Option<halab_vrrp::track::ScriptState> {
        self.tracker
            .script_state(name)
            .or_else(|| self.extra.script_state(name))
    }

    /// The earliest thing this runner waits for.
    pub fn next_wakeup(&self) -> Option<Instant> {
        [
            self.deadline.map(|(_, at)| at),
            self.garp_burst_at,
            self.refresh_at,
            self.lower_prio_burst_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

pub fn api_state(state: State) -> VrrpState {
    match state {
        State::Initialize => VrrpState::Init,
        State::Backup => VrrpState::Backup,
        State::Master => VrrpState::Master,
        State::Fault => VrrpState::Fault,
    }
}

/// keepalived's word for a state in logs and notify arguments.
pub fn state_word(state: State, reason: Reason) -> &'static str {
    match (state, reason) {
        (State::Initialize, Reason::Shutdown) => "STOP",
        (State::Initialize, _) => "INIT",
        (State::Backup, _) => "BACKUP",
        (State::Master, _) => "MASTER",
        (State::Fault, _) => "FAULT",
    }
}

/// A short stable key for a discard reason, for counters and metrics labels.
pub fn discard_key(reason: &DiscardReason) -> String {
    match serde_json::to_value(reason) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
        _ => "other".into(),
    }
}

/// Logs a discarded packet the way keepalived would; own and other-VRID packets are quiet.
pub fn log_discard(name: &str, src: Option<IpAddr>, reason: &DiscardReason) {
    let from = src.map(|s| format!(" from {s}")).unwrap_or_default();
    match reason {
        DiscardReason::OwnAdvert | DiscardReason::WrongVrid { .. } => {}
        DiscardReason::LowerPriority { priority, ours } => tracing::info!(
            "({name}) received lower priority ({priority}) advert{from}, ours {ours} - discarding"
        ),
        DiscardReason::LowerAddress { priority } => tracing::info!(
            "({name}) received equal priority ({priority}) advert{from} with lower address - discarding"
        ),
        other => tracing::warn!("({name}) discarding advert{from}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discard_keys_are_short_names() {
        assert_eq!(discard_key(&DiscardReason::BadTtl { ttl: 64 }), "bad_ttl");
        assert_eq!(discard_key(&DiscardReason::BadPassword), "bad_password");
        assert_eq!(
            discard_key(&DiscardReason::LowerPriority {
                priority: 1,
                ours: 2
            }),
            "lower_priority"
        );
    }
}
