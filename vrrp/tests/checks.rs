//! RFC 5798 7.1 / RFC 3768 7.1 receive checks, in keepalived 2.2.7's manner: each drop is a
//! `Discarded` action with its reason, and the timers are left alone.

mod common;

use common::*;
use halab_vrrp::ip::{VRRP_MULTICAST, build_ipv4};
use halab_vrrp::{
    Action, Advert, Auth, DecodeError, DiscardReason, Input, Password, Timer, Version,
};

fn discard_of(config: halab_vrrp::InstanceConfig, input: Input) -> Vec<Action> {
    let mut instance = backup(config);
    instance.handle(at_ms(1_000), input)
}

fn only_discard(actions: &[Action], src: Option<std::net::IpAddr>, reason: DiscardReason) {
    assert_eq!(actions, &[Action::Discarded { src, reason }]);
}

#[test]
fn ttl_must_be_255() {
    // Input: advert with TTL 254. Output: discarded (RFC 5798 7.1), timer untouched.
    let input = Input::AdvertReceived {
        src: HIGHER.into(),
        ttl: 254,
        advert: advert_v2(150),
    };
    only_discard(
        &discard_of(config(100), input.clone()),
        Some(HIGHER.into()),
        DiscardReason::BadTtl { ttl: 254 },
    );
    // Input: same with check_ttl off (unicast). Output: accepted.
    let mut unicast = config(100);
    unicast.check_ttl = false;
    assert!(matches!(
        discard_of(unicast, input).as_slice(),
        [Action::ArmTimer {
            timer: Timer::MasterDown,
            ..
        }]
    ));
}

#[test]
fn vrid_must_match() {
    // Input: advert for VRID 11. Output: discarded.
    let advert = Advert::v2(11, 150, 1, Auth::None, vec![VIP]).expect("valid");
    only_discard(
        &discard_of(config(100), received(HIGHER, advert)),
        Some(HIGHER.into()),
        DiscardReason::WrongVrid {
            got: 11,
            expected: 10,
        },
    );
}

#[test]
fn version_must_match() {
    // Input: VRRPv3 advert to a VRRPv2 instance. Output: discarded.
    only_discard(
        &discard_of(config(100), received(HIGHER, advert_v3(150, 100))),
        Some(HIGHER.into()),
        DiscardReason::WrongVersion {
            got: Version::V3,
            expected: Version::V2,
        },
    );
}

#[test]
fn authentication_must_match() {
    let mut with_pass = config(100);
    with_pass.auth = Some(Password::from_text("12345").expect("short"));
    // Input: no authentication, we expect PASS. Output: auth type mismatch.
    only_discard(
        &discard_of(with_pass.clone(), received(HIGHER, advert_v2(150))),
        Some(HIGHER.into()),
        DiscardReason::AuthTypeMismatch {
            got: 0,
            expected: 1,
        },
    );
    // Input: wrong password. Output: discarded.
    let wrong = Auth::Simple(Password::from_text("54321").expect("short"));
    let advert = Advert::v2(10, 150, 1, wrong, vec![VIP]).expect("valid");
    only_discard(
        &discard_of(with_pass.clone(), received(HIGHER, advert)),
        Some(HIGHER.into()),
        DiscardReason::BadPassword,
    );
    // Input: right password. Output: accepted.
    let right = Auth::Simple(Password::from_text("12345").expect("short"));
    let advert = Advert::v2(10, 150, 1, right, vec![VIP]).expect("valid");
    assert_eq!(
        armed(
            &discard_of(with_pass, received(HIGHER, advert)),
            Timer::MasterDown
        ),
        Some(at_us(4_609_375))
    );
}

#[test]
fn v2_interval_must_match() {
    // Input: VRRPv2 advert with a 2 s interval, ours is 1 s. Output: discarded (RFC 3768 7.1).
    let advert = Advert::v2(10, 150, 2, Auth::None, vec![VIP]).expect("valid");
    only_discard(
        &discard_of(config(100), received(HIGHER, advert)),
        Some(HIGHER.into()),
        DiscardReason::IntervalMismatch {
            got: 2,
            expected: 1,
        },
    );
}

#[test]
fn v3_interval_may_differ() {
    // Input: VRRPv3 advert with 3 s, ours is 1 s. Output: accepted, interval learned.
    let mut config = config(100);
    config.version = Version::V3;
    let actions = discard_of(config, received(HIGHER, advert_v3(150, 300)));
    assert_eq!(
        armed(&actions, Timer::MasterDown),
        Some(at_us(1_000_000 + 9_000_000 + 1_828_125))
    );
}

#[test]
fn v3_zero_interval_is_discarded() {
    // Input: VRRPv3 advert with Max Adver Int 0. Output: discarded (it would make
    // Master_Down_Interval 0).
    let mut config = config(100);
    config.version = Version::V3;
    only_discard(
        &discard_of(config, received(HIGHER, advert_v3(150, 0))),
        Some(HIGHER.into()),
        DiscardReason::ZeroInterval,
    );
}

#[test]
fn virtual_addresses_must_match_like_keepalived() {
    // Input: an advert with an extra address. Output: count mismatch, discarded.
    let extra = Advert::v2(10, 150, 1, Auth::None, vec![VIP, LOWER]).expect("valid");
    only_discard(
        &discard_of(config(100), received(HIGHER, extra)),
        Some(HIGHER.into()),
        DiscardReason::AddressCountMismatch {
            got: 2,
            expected: 1,
        },
    );
    // Input: same count, another address. Output: our VIP is missing, discarded.
    let other = Advert::v2(10, 150, 1, Auth::None, vec![LOWER]).expect("valid");
    only_discard(
        &discard_of(config(100), received(HIGHER, other)),
        Some(HIGHER.into()),
        DiscardReason::AddressMissing {
            address: VIP.into(),
        },
    );
    // Input: the same addresses in another order. Output: accepted.
    let mut two = config(100);
    two.vips.push(halab_vrrp::Vip::new(LOWER, 32));
    let swapped = Advert::v2(10, 150, 1, Auth::None, vec![LOWER, VIP]).expect("valid");
    assert!(
        armed(
            &discard_of(two, received(HIGHER, swapped)),
            Timer::MasterDown
        )
        .is_some()
    );
}

#[test]
fn own_advert_is_discarded() {
    // Input: an advert from our own primary address. Output: discarded.
    only_discard(
        &discard_of(config(100), received(US, advert_v2(150))),
        Some(US.into()),
        DiscardReason::OwnAdvert,
    );
}

#[test]
fn raw_packets_are_parsed_and_verified() {
    let advert = advert_v2(150);
    let payload = advert.encode(HIGHER, VRRP_MULTICAST);
    // Input: a good packet. Output: accepted.
    let packet = build_ipv4(HIGHER, VRRP_MULTICAST, 255, 7, &payload);
    let actions = discard_of(
        config(100),
        Input::PacketReceived {
            packet: packet.clone(),
        },
    );
    assert_eq!(armed(&actions, Timer::MasterDown), Some(at_us(4_609_375)));
    // Input: a corrupted checksum. Output: malformed.
    let mut corrupt = packet.clone();
    corrupt[20 + 7] ^= 1;
    let actions = discard_of(config(100), Input::PacketReceived { packet: corrupt });
    assert!(matches!(
        actions.as_slice(),
        [Action::Discarded {
            reason: DiscardReason::Malformed {
                error: DecodeError::BadChecksum { .. }
            },
            ..
        }]
    ));
    // Input: TTL 1 in the IP header. Output: bad TTL.
    let hop = build_ipv4(HIGHER, VRRP_MULTICAST, 1, 7, &payload);
    only_discard(
        &discard_of(config(100), Input::PacketReceived { packet: hop }),
        Some(HIGHER.into()),
        DiscardReason::BadTtl { ttl: 1 },
    );
    // Input: another protocol. Output: not VRRP.
    let mut tcp = packet.clone();
    tcp[9] = 6;
    only_discard(
        &discard_of(config(100), Input::PacketReceived { packet: tcp }),
        Some(HIGHER.into()),
        DiscardReason::NotVrrp { protocol: 6 },
    );
    // Input: garbage. Output: bad IP header, no source.
    let actions = discard_of(
        config(100),
        Input::PacketReceived {
            packet: vec![0x45, 0],
        },
    );
    assert!(matches!(
        actions.as_slice(),
        [Action::Discarded {
            src: None,
            reason: DiscardReason::BadIpHeader { .. }
        }]
    ));
}

#[test]
fn discard_reasons_read_like_keepalived_logs() {
    assert_eq!(
        DiscardReason::BadTtl { ttl: 64 }.to_string(),
        "invalid ttl 64, expected 255"
    );
    assert_eq!(
        DiscardReason::AddressMissing {
            address: VIP.into()
        }
        .to_string(),
        "our address 192.168.0.130 is not present in the advert"
    );
    assert_eq!(
        DiscardReason::IntervalMismatch {
            got: 2,
            expected: 1
        }
        .to_string(),
        "advertisement interval mismatch: ours 1 s, received 2 s"
    );
}

/// Input: the same raw packets (lower priority, priority 0, a bad checksum, garbage, higher
/// priority twice) to a backup and to a master, through `handle` with an owned packet and
/// through `handle_packet_into` with a borrowed one and a vector kept across inputs (holding
/// an earlier action). Output: the same actions, appended after the earlier one, and the
/// same state, timer, master and priority after each packet.
#[test]
fn borrowed_packets_act_like_owned_ones() {
    let packet = |priority: u8| {
        let payload = advert_v2(priority).encode(HIGHER, VRRP_MULTICAST);
        build_ipv4(HIGHER, VRRP_MULTICAST, 255, 7, &payload)
    };
    let mut corrupt = packet(150);
    corrupt[20 + 7] ^= 1;
    let packets = [
        packet(50),
        packet(0),
        corrupt,
        vec![0x45, 0],
        packet(150),
        packet(150),
    ];
    let earlier = Action::CancelTimer {
        timer: Timer::Advert,
    };
    for start in [backup(config(100)), master(config(100)).0] {
        let (mut owned, mut borrowed) = (start.clone(), start);
        let mut kept = Vec::new();
        for (i, packet) in (0u64..).zip(&packets) {
            let now = at_ms(5_000 + 100 * i);
            let expected = owned.handle(
                now,
                Input::PacketReceived {
                    packet: packet.clone(),
                },
            );
            kept.clear();
            kept.push(earlier.clone());
            borrowed.handle_packet_into(now, packet, &mut kept);
            assert_eq!(kept[0], earlier);
            assert_eq!(kept[1..], expected[..], "packet {i}");
            let view = |i: &halab_vrrp::Instance| {
                (i.state(), i.armed_timer(), i.known_master(), i.priority())
            };
            assert_eq!(view(&borrowed), view(&owned), "packet {i}");
        }
    }
}
