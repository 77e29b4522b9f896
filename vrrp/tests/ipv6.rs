//! VRRPv3 over IPv6 (RFC 5798): an instance whose primary address is link-local, its VIPs
//! IPv6; the tie-break on IPv6 sources; v2 and mixed families refused.

mod common;

use std::net::{IpAddr, Ipv6Addr};

use common::{at_ms, backup, instance, master, received, transition};
use halab_vrrp::{
    Action, Advert, ConfigError, DiscardReason, Family, Input, Instance, InstanceConfig, Reason,
    State, Timer, Version, Vip,
};

const US: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x11);
const HIGHER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x12);
const LOWER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x10);
const VIP: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x130);

fn config(priority: u8) -> InstanceConfig {
    let mut config = InstanceConfig::new(10, US);
    config.version = Version::V3;
    config.priority = priority;
    config.vips = vec![Vip::new(VIP, 64)];
    config
}

fn advert(priority: u8) -> Advert {
    Advert::v3_ipv6(10, priority, 100, vec![VIP]).expect("valid")
}

#[test]
fn v6_instance_sends_v6_adverts() {
    // Input: an IPv6 v3 instance becomes master. Output: its adverts carry the IPv6 VIP.
    let (mut instance, since) = master(config(100));
    let actions = instance.handle(
        since.plus_micros(1_000_000),
        Input::TimerFired {
            timer: Timer::Advert,
        },
    );
    let sent: Vec<&Advert> = actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert { advert } => Some(advert),
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec![&advert(100)]);
    assert_eq!(sent[0].family(), Family::Ipv6);
}

#[test]
fn equal_priority_tie_break_compares_v6_sources() {
    // Input: adverts at our priority from a higher and from a lower link-local address.
    // Output: the higher one wins (RFC 5798 6.4.3), the lower one is discarded.
    let (mut from_higher, since) = master(config(100).rfc_strict());
    let actions = from_higher.handle(since, received(HIGHER, advert(100)));
    assert_eq!(
        transition(&actions),
        Some((
            State::Master,
            State::Backup,
            Reason::HigherPriority {
                src: HIGHER.into(),
                priority: 100
            }
        ))
    );
    let (mut from_lower, since) = master(config(100).rfc_strict());
    let actions = from_lower.handle(since, received(LOWER, advert(100)));
    assert_eq!(
        actions,
        vec![Action::Discarded {
            src: Some(LOWER.into()),
            reason: DiscardReason::LowerAddress { priority: 100 }
        }]
    );
}

#[test]
fn backup_follows_a_v6_master_and_ignores_v4_adverts() {
    // Input: a v6 master's advert, then a v4 advert with the same VRID. Output: the first is
    // followed, the second discarded for its family.
    let mut instance = backup(config(100));
    instance.handle(at_ms(100), received(HIGHER, advert(200)));
    assert_eq!(instance.known_master(), Some(IpAddr::V6(HIGHER)));
    let v4 = Advert::v3(10, 200, 100, vec!["192.168.0.130".parse().expect("v4")]).expect("valid");
    let actions = instance.handle(
        at_ms(200),
        received("192.168.0.12".parse::<IpAddr>().expect("v4"), v4),
    );
    assert_eq!(
        actions,
        vec![Action::Discarded {
            src: Some("192.168.0.12".parse().expect("v4")),
            reason: DiscardReason::WrongFamily {
                got: Family::Ipv4,
                expected: Family::Ipv6
            }
        }]
    );
}

#[test]
fn v2_and_mixed_families_are_refused() {
    // Input: IPv6 with version 2; an IPv4 VIP in an IPv6 instance. Output: both reported.
    let mut bad = config(100);
    bad.version = Version::V2;
    bad.vips
        .push(Vip::new("192.168.0.130".parse::<IpAddr>().expect("v4"), 32));
    let errors = Instance::new(bad).expect_err("invalid").0;
    assert!(errors.contains(&ConfigError::V2Ipv6), "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, ConfigError::VipFamily { .. })),
        "{errors:?}"
    );
    assert!(instance(config(100)).config().family() == Family::Ipv6);
}

#[test]
fn vip_text_takes_ipv6_with_prefix_up_to_128() {
    assert_eq!(
        "fd00::130/64".parse::<Vip>().expect("valid"),
        Vip::new(VIP, 64)
    );
    assert_eq!(
        "fd00::130".parse::<Vip>().expect("valid").prefix_len,
        128,
        "keepalived's default for IPv6 is /128"
    );
    assert!("fd00::130/129".parse::<Vip>().is_err());
    assert!("10.0.0.1/33".parse::<Vip>().is_err());
}

#[test]
fn keepalived_v6_packet_is_followed_and_a_routed_one_discarded() {
    // Input: keepalived 2.2.7's captured VRRPv3 IPv6 advert (vrid 61, priority 150, two VIPs)
    // as an AF_INET6 raw socket delivers it, hop limit 255, then the same with hop limit 64.
    // Output: the backup follows keepalived; the second is discarded (RFC 5798 7.1).
    let payload =
        "313d96020064f97afd000006000000000000000000000100fd000006000000000000000000000101";
    let payload: Vec<u8> = (0..payload.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&payload[i..i + 2], 16).expect("hex"))
        .collect();
    let keepalived: Ipv6Addr = "fe80::a0e6:41ff:feba:6303".parse().expect("v6");
    let mut ours = InstanceConfig::new(61, US);
    ours.version = Version::V3;
    ours.vips = vec![
        "fd00:6::100/64".parse().expect("vip"),
        "fd00:6::101".parse().expect("vip"),
    ];
    let mut instance = backup(ours);
    let packet = |hop_limit| Input::Ipv6PacketReceived {
        src: keepalived,
        dst: halab_vrrp::ip::VRRP_MULTICAST_V6,
        hop_limit,
        payload: payload.clone(),
    };
    instance.handle(at_ms(100), packet(255));
    assert_eq!(instance.known_master(), Some(IpAddr::V6(keepalived)));
    let actions = instance.handle(at_ms(200), packet(64));
    assert_eq!(
        actions,
        vec![Action::Discarded {
            src: Some(keepalived.into()),
            reason: DiscardReason::BadTtl { ttl: 64 }
        }]
    );
    // The input round-trips through JSON (recordings), payload as hex.
    let json = serde_json::to_string(&packet(255)).expect("serialise");
    assert!(json.contains("313d9602"), "{json}");
    assert_eq!(
        serde_json::from_str::<Input>(&json).expect("deserialise"),
        packet(255)
    );
}
