//! Helpers shared by the state machine tests.

#![expect(dead_code, reason = "each test binary uses a different subset")]

pub mod sim;

use std::net::Ipv4Addr;

use halab_vrrp::{
    Action, Advert, Auth, Input, Instance, InstanceConfig, Reason, State, Timer, Timestamp, Vip,
};

/// Our router's primary address.
pub const US: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 11);
/// A peer with a higher address than ours.
pub const HIGHER: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 12);
/// A peer with a lower address than ours.
pub const LOWER: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 10);
/// The virtual address.
pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 130);

pub fn vip() -> Vip {
    Vip::new(VIP, 24)
}

/// VRID 10, VRRPv2, 1 s, one VIP, the given priority, everything else keepalived's default.
/// Adverts on RFC 5798 / keepalived timing (each interval counted from the advert before),
/// which the protocol tests assert; halabd's grid has its own tests (`halab.rs`).
pub fn config(priority: u8) -> InstanceConfig {
    let mut config = InstanceConfig::new(10, US);
    config.priority = priority;
    config.vips = vec![vip()];
    config.improvements.aligned_adverts = false;
    config
}

pub fn instance(config: InstanceConfig) -> Instance {
    Instance::new(config).expect("valid test config")
}

pub fn at_ms(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

pub fn at_us(us: u64) -> Timestamp {
    Timestamp::from_micros(us)
}

/// A started instance in Backup (started at t = 0).
pub fn backup(config: InstanceConfig) -> Instance {
    let mut instance = instance(config);
    instance.handle(Timestamp::ZERO, Input::Startup);
    assert_eq!(instance.state(), State::Backup);
    instance
}

/// A started instance that became master through its Master_Down_Timer.
pub fn master(config: InstanceConfig) -> (Instance, Timestamp) {
    let mut instance = backup(config);
    let (_, due) = instance.armed_timer().expect("master down armed");
    instance.handle(
        due,
        Input::TimerFired {
            timer: Timer::MasterDown,
        },
    );
    assert_eq!(instance.state(), State::Master);
    (instance, due)
}

/// An advert from a peer configured like `config(priority)`.
pub fn advert_v2(priority: u8) -> Advert {
    Advert::v2(10, priority, 1, Auth::None, vec![VIP]).expect("valid")
}

pub fn advert_v3(priority: u8, interval_cs: u16) -> Advert {
    Advert::v3(10, priority, interval_cs, vec![VIP]).expect("valid")
}

pub fn received(src: impl Into<std::net::IpAddr>, advert: Advert) -> Input {
    Input::AdvertReceived {
        src: src.into(),
        ttl: 255,
        advert,
    }
}

/// The priorities of the adverts sent.
pub fn sent(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert { advert } => Some(advert.priority()),
            _ => None,
        })
        .collect()
}

pub fn garps(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::SendGratuitousArp { .. }))
        .count()
}

/// The deadline armed for `timer`, if these actions arm it.
pub fn armed(actions: &[Action], timer: Timer) -> Option<Timestamp> {
    actions.iter().rev().find_map(|a| match a {
        Action::ArmTimer { timer: t, at } if *t == timer => Some(*at),
        _ => None,
    })
}

pub fn transition(actions: &[Action]) -> Option<(State, State, Reason)> {
    actions.iter().find_map(|a| match a {
        Action::StateChanged { from, to, reason } => Some((*from, *to, *reason)),
        _ => None,
    })
}

pub fn discarded(actions: &[Action]) -> Option<&halab_vrrp::DiscardReason> {
    actions.iter().find_map(|a| match a {
        Action::Discarded { reason, .. } => Some(reason),
        _ => None,
    })
}
