//! Fuzzes the state machine: a byte string is read as a sequence of inputs (adverts built to
//! pass the checks as well as raw garbage), and after each one the instance must hold its
//! invariants: the timer armed matches the state, deadlines are not in the past, the owner's
//! priority never moves.

#![no_main]

use std::net::Ipv4Addr;

use halab_vrrp::ip::{VRRP_MULTICAST, build_ipv4};
use halab_vrrp::{
    Action, Advert, Auth, Input, Instance, InstanceConfig, State, Timer, Timestamp, TrackStatus,
    Vip,
};
use libfuzzer_sys::fuzz_target;

const US: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 11);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 130);

fn config(flags: u8) -> InstanceConfig {
    let mut config = InstanceConfig::new(10, US);
    config.vips = vec![Vip::new(VIP, 24)];
    config.priority = [100, 255, 1, 254][usize::from(flags & 3)];
    if flags & 4 != 0 {
        config.version = halab_vrrp::Version::V3;
    }
    if flags & 8 != 0 {
        config = config.rfc_strict();
    }
    config.preempt = flags & 16 == 0;
    config.preempt_delay_ms = if flags & 32 != 0 { 1_500 } else { 0 };
    if flags & 64 != 0 {
        config.initial_state = halab_vrrp::InitialState::Master;
    }
    config.sync_group = flags & 128 != 0;
    config
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut ops)) = data.split_first() else {
        return;
    };
    let config = config(flags);
    let version = config.version;
    let Ok(mut instance) = Instance::new(config) else {
        return;
    };
    let owner = instance.config().priority == 255;
    let mut now = 0u64;
    while let [op, step, rest @ ..] = ops {
        ops = rest;
        now += u64::from(*step) * 10_000;
        let at = Timestamp::from_micros(now);
        let input = match op % 15 {
            0 => Input::Startup,
            1 => Input::Shutdown,
            2 => Input::TimerFired {
                timer: Timer::Advert,
            },
            3 => Input::TimerFired {
                timer: Timer::MasterDown,
            },
            4 => Input::InterfaceDown,
            5 => Input::InterfaceUp,
            6 => {
                let Some((&b, rest)) = ops.split_first() else {
                    return;
                };
                ops = rest;
                let tracking = TrackStatus {
                    weight: i32::from(b as i8),
                    fault: b & 0x81 == 0x81,
                    pending: b == 0x7f,
                };
                Input::TrackingChanged { tracking }
            }
            7 => {
                let Some((&len, rest)) = ops.split_first() else {
                    return;
                };
                let len = usize::from(len).min(rest.len());
                let (packet, rest) = rest.split_at(len);
                ops = rest;
                Input::PacketReceived {
                    packet: packet.to_vec(),
                }
            }
            10 => Input::SyncTo {
                state: State::Master,
            },
            11 => Input::SyncTo {
                state: State::Backup,
            },
            12 => Input::VipClaimed { address: VIP.into() },
            // keepalived vrrp_startup_delay, ending up to 2.55 s from now.
            13 => {
                let Some((&b, rest)) = ops.split_first() else {
                    return;
                };
                ops = rest;
                Input::StartupDelay {
                    until: at.plus_micros(u64::from(b) * 10_000),
                }
            }
            _ => {
                // A well-formed advert for our VRID from a peer: priority and source vary.
                let [prio, who, rest @ ..] = ops else { return };
                ops = rest;
                let src = Ipv4Addr::new(192, 168, 0, *who);
                let advert = match version {
                    halab_vrrp::Version::V2 => Advert::v2(10, *prio, 1, Auth::None, vec![VIP]),
                    halab_vrrp::Version::V3 => {
                        Advert::v3(10, *prio, u16::from(*who) * 4 + 1, vec![VIP])
                    }
                };
                let Ok(advert) = advert else { return };
                let payload = advert.encode(src, VRRP_MULTICAST);
                Input::PacketReceived {
                    packet: build_ipv4(src, VRRP_MULTICAST, 255, 0, &payload),
                }
            }
        };
        let actions = instance.handle(at, input);
        for action in &actions {
            if let Action::ArmTimer { at: due, .. } = action {
                assert!(*due >= at, "deadline in the past");
            }
        }
        let armed = instance.armed_timer().map(|(timer, _)| timer);
        match instance.state() {
            State::Master => assert_eq!(armed, Some(Timer::Advert)),
            State::Backup => assert_eq!(armed, Some(Timer::MasterDown)),
            State::Fault | State::Initialize => assert_eq!(armed, None),
        }
        if owner {
            assert_eq!(instance.priority(), 255);
        }
        assert_ne!(instance.priority(), 0);
    }
});
