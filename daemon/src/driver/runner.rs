//! One `vrrp_instance` at run time: the protocol core, its socket, its tracker, its timers
//! and counters.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use halab_api::{Counters, VrrpState};
use halab_vrrp::{
    DiscardReason, Instance, Reason, ScriptConfig, State, Timer, TrackStatus, Tracker,
};

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
}

impl Runner {
    pub fn new(
        id: u64,
        conf: InstanceConf,
        all_scripts: &[ScriptConf],
        link_up: impl Fn(&str) -> bool,
    ) -> Self {
        let mut tracker = Tracker::new();
        let mut scripts = Vec::new();
        for (name, weight) in &conf.track_scripts {
            if let Some(script) = all_scripts.iter().find(|s| &s.name == name) {
                tracker.add_script(
                    name.clone(),
                    ScriptConfig {
                        interval_ms: script.interval_ms,
                        timeout_ms: script.timeout_ms,
                        rise: script.rise,
                        fall: script.fall,
                        weight: weight.unwrap_or(script.weight),
                        init_fail: script.init_fail,
                    },
                );
                scripts.push(script.clone());
            }
        }
        for (name, weight) in &conf.track_interfaces {
            tracker.add_interface(name.clone(), *weight, link_up(name));
        }
        Self {
            id,
            link_up: link_up(&conf.interface),
            conf,
            scripts,
            setup: None,
            problem: Some("starting".into()),
            tracker,
            fed: TrackStatus::default(),
            counters: Counters::default(),
            since: Instant::now(),
            vips_held: false,
            deadline: None,
            garp_burst_at: None,
            refresh_at: None,
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
        self.setup.is_none() || !self.link_up || self.tracker.status().fault
    }

    /// The earliest thing this runner waits for.
    pub fn next_wakeup(&self) -> Option<Instant> {
        [
            self.deadline.map(|(_, at)| at),
            self.garp_burst_at,
            self.refresh_at,
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
