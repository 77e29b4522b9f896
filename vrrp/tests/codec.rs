//! The advert codec and the IPv4 header parser: hand-checked bytes, error cases, properties.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use halab_vrrp::ip::{
    Ipv4Error, Ipv4Header, VRRP_MULTICAST, VRRP_MULTICAST_V6, build_ipv4, parse_ipv4, set_ipv4_id,
};
use halab_vrrp::{Advert, AdvertError, Auth, DecodeError, Family, Password, Version};
use proptest::prelude::*;

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("test hex"))
        .collect()
}

fn addr(text: &str) -> Ipv4Addr {
    text.parse().expect("test address")
}

fn addr6(text: &str) -> Ipv6Addr {
    text.parse().expect("test address")
}

struct Case {
    name: &'static str,
    /// The VRRP message, checksums computed outside this crate (Python, or a capture).
    bytes: &'static str,
    src: &'static str,
    dst: &'static str,
    advert: fn() -> Advert,
}

fn password(text: &str) -> Auth {
    Auth::Simple(Password::from_text(text).expect("short password"))
}

const CASES: &[Case] = &[
    Case {
        // What keepalived 2.2.7 sends for `virtual_router_id 10; priority 101; advert_int 1;
        // auth_type PASS; auth_pass 12345; virtual_ipaddress { 192.168.0.130 }`.
        name: "keepalived v2 with password",
        bytes: "210a650101011e62c0a800823132333435000000",
        src: "192.168.0.11",
        dst: "224.0.0.18",
        advert: || {
            Advert::v2(10, 101, 1, password("12345"), vec![addr("192.168.0.130")]).expect("valid")
        },
    },
    Case {
        // dpkt's VRRP test vector (vrrp.py): vrid 1, priority 100, no authentication.
        name: "dpkt v2 vector",
        bytes: "21016401000 1ba52c0a800010000000000000000",
        src: "10.0.0.1",
        dst: "224.0.0.18",
        advert: || Advert::v2(1, 100, 1, Auth::None, vec![addr("192.168.0.1")]).expect("valid"),
    },
    Case {
        name: "v2 priority 0 with two addresses",
        bytes: "213300020003c9fe0a0000640a0000650000000000000000",
        src: "10.0.0.2",
        dst: "224.0.0.18",
        advert: || {
            Advert::v2(
                51,
                0,
                3,
                Auth::None,
                vec![addr("10.0.0.100"), addr("10.0.0.101")],
            )
            .expect("valid")
        },
    },
    Case {
        // PcapPlusPlus' captured VRRP-V3-IPv4 frame (Tests/Packet++Test/PacketExamples).
        name: "captured v3",
        bytes: "310164020001484dc0a80001c0a80002",
        src: "192.168.0.30",
        dst: "224.0.0.18",
        advert: || {
            Advert::v3(1, 100, 1, vec![addr("192.168.0.1"), addr("192.168.0.2")]).expect("valid")
        },
    },
    Case {
        name: "v3 multicast",
        bytes: "310a650100640723c0a80082",
        src: "192.168.0.11",
        dst: "224.0.0.18",
        advert: || Advert::v3(10, 101, 100, vec![addr("192.168.0.130")]).expect("valid"),
    },
    Case {
        // Same advert to a unicast peer: keepalived puts the real destination in the
        // pseudo-header, so the checksum differs.
        name: "v3 unicast",
        bytes: "310a650100642681c0a80082",
        src: "192.168.0.11",
        dst: "192.168.0.12",
        advert: || Advert::v3(10, 101, 100, vec![addr("192.168.0.130")]).expect("valid"),
    },
    Case {
        name: "v3 owner, longest interval",
        bytes: "31ffff010fffc86b0a010203",
        src: "10.0.0.1",
        dst: "224.0.0.18",
        advert: || Advert::v3(255, 255, 4095, vec![addr("10.1.2.3")]).expect("valid"),
    },
    Case {
        // Captured from keepalived 2.2.7 (tcpdump in a netns) for `version 3;
        // virtual_router_id 61; priority 150; advert_int 1; virtual_ipaddress { fd00:6::100/64
        // fd00:6::101 }`: the kernel filled the checksum (IPV6_CHECKSUM) over the IPv6
        // pseudo-header from the interface's link-local address to ff02::12.
        name: "keepalived v3 over ipv6",
        bytes: "313d96020064f97afd000006000000000000000000000100fd000006000000000000000000000101",
        src: "fe80::a0e6:41ff:feba:6303",
        dst: "ff02::12",
        advert: || {
            Advert::v3_ipv6(
                61,
                150,
                100,
                vec![addr6("fd00:6::100"), addr6("fd00:6::101")],
            )
            .expect("valid")
        },
    },
    Case {
        // The same keepalived's priority-0 advert on shutdown (same capture).
        name: "keepalived v3 over ipv6, priority 0",
        bytes: "313d000200648f7bfd000006000000000000000000000100fd000006000000000000000000000101",
        src: "fe80::a0e6:41ff:feba:6303",
        dst: "ff02::12",
        advert: || {
            Advert::v3_ipv6(61, 0, 100, vec![addr6("fd00:6::100"), addr6("fd00:6::101")])
                .expect("valid")
        },
    },
];

/// The whole frame keepalived 2.2.7 sent (Ethernet, IPv6 header, VRRP): hop limit 255, traffic
/// class 0xc0, from the link-local address to ff02::12 (same capture as the table's case).
const KEEPALIVED_V6_FRAME: &str = "33330000001202000000060a86dd6c01b0e5002870fffe80000000000000a0e641fffeba6303ff020000000000000000000000000012313d96020064f97afd000006000000000000000000000100fd000006000000000000000000000101";

#[test]
fn keepalived_v6_frame_decodes_and_re_encodes_byte_exact() {
    let frame = hex(KEEPALIVED_V6_FRAME);
    let ip6 = &frame[14..];
    assert_eq!(ip6[0] >> 4, 6, "ipv6");
    assert_eq!(ip6[6], 112, "next header vrrp");
    assert_eq!(ip6[7], 255, "hop limit");
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&ip6[8..24]).expect("16 bytes"));
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&ip6[24..40]).expect("16 bytes"));
    assert_eq!(dst, VRRP_MULTICAST_V6);
    let payload = &ip6[40..];
    let advert = Advert::decode(payload, src, dst).expect("keepalived's advert decodes");
    assert_eq!(advert.family(), Family::Ipv6);
    assert_eq!(advert.priority(), 150);
    assert_eq!(advert.interval_cs(), 100);
    assert_eq!(advert.encode(src, dst), payload, "re-encoded byte for byte");
}

#[test]
fn v6_errors() {
    let src = addr6("fe80::1");
    let v6 = Advert::v3_ipv6(1, 100, 100, vec![addr6("fd00::1")]).expect("valid");
    let bytes = v6.encode(src, VRRP_MULTICAST_V6);
    // RFC 3768 is IPv4 only.
    let mut v2 = bytes.clone();
    v2[0] = 0x21;
    assert_eq!(
        Advert::decode(&v2, src, VRRP_MULTICAST_V6),
        Err(DecodeError::V2OverIpv6)
    );
    // A v6 advert read as v4 has the wrong length for its count.
    assert!(matches!(
        Advert::decode(&bytes, addr("10.0.0.1"), VRRP_MULTICAST),
        Err(DecodeError::LengthMismatch { .. })
    ));
    assert_eq!(
        Advert::decode(&bytes, src, VRRP_MULTICAST),
        Err(DecodeError::FamilyMismatch {
            src: src.into(),
            dst: VRRP_MULTICAST.into()
        })
    );
    // The pseudo-header is IPv6's: another source breaks the checksum.
    assert!(matches!(
        Advert::decode(&bytes, addr6("fe80::2"), VRRP_MULTICAST_V6),
        Err(DecodeError::BadChecksum { .. })
    ));
    let mixed = vec![
        IpAddr::from(addr6("fd00::1")),
        IpAddr::from(addr("10.0.0.1")),
    ];
    assert_eq!(
        Advert::v3_in(Family::Ipv6, 1, 100, 100, mixed),
        Err(AdvertError::MixedFamilies {
            family: Family::Ipv6,
            address: addr("10.0.0.1").into()
        })
    );
    // JSON: v2 cannot carry IPv6, and an empty v6 advert keeps its family.
    let json = r#"{"version":"v2","vrid":1,"priority":100,"adver_int":1,"addresses":["fd00::1"]}"#;
    assert!(serde_json::from_str::<Advert>(json).is_err());
    let empty = Advert::v3_ipv6(1, 100, 100, vec![]).expect("valid");
    let json = serde_json::to_string(&empty).expect("serialise");
    assert_eq!(
        serde_json::from_str::<Advert>(&json).expect("deserialise"),
        empty
    );
}

#[test]
fn table_round_trips() {
    for case in CASES {
        let bytes = hex(&case.bytes.replace(' ', ""));
        let src: IpAddr = case.src.parse().expect("test address");
        let dst: IpAddr = case.dst.parse().expect("test address");
        let advert = (case.advert)();
        assert_eq!(
            Advert::decode(&bytes, src, dst).as_ref(),
            Ok(&advert),
            "decode {}",
            case.name
        );
        assert_eq!(advert.encode(src, dst), bytes, "encode {}", case.name);
        assert_eq!(advert.encoded_len(), bytes.len(), "length {}", case.name);
    }
}

#[test]
fn v3_checksum_covers_the_addresses() {
    let bytes = hex("310a650100640723c0a80082");
    let wrong_src = Advert::decode(&bytes, addr("192.168.0.99"), VRRP_MULTICAST);
    assert!(
        matches!(
            wrong_src,
            Err(DecodeError::BadChecksum { found: 0x0723, .. })
        ),
        "{wrong_src:?}"
    );
}

#[test]
fn v2_checksum_ignores_the_addresses() {
    let bytes = hex("210a650101011e62c0a800823132333435000000");
    assert!(Advert::decode(&bytes, addr("1.2.3.4"), addr("5.6.7.8")).is_ok());
}

#[test]
fn decode_errors() {
    let (src, dst) = (addr("192.168.0.11"), VRRP_MULTICAST);
    let cases: &[(&str, DecodeError)] = &[
        ("210a6501", DecodeError::TooShort { len: 4 }),
        (
            "110a650101011e62",
            DecodeError::UnsupportedVersion { version: 1 },
        ),
        (
            "220a650101011e62",
            DecodeError::UnsupportedType { packet_type: 2 },
        ),
        // Count says 2 addresses, one present.
        (
            "210a650201011e62c0a800823132333435000000",
            DecodeError::LengthMismatch {
                expected: 24,
                actual: 20,
                count: 2,
            },
        ),
        // A trailing byte.
        (
            "310a650100640723c0a8008200",
            DecodeError::LengthMismatch {
                expected: 12,
                actual: 13,
                count: 1,
            },
        ),
        // Priority changed from 101 to 102 without fixing the checksum.
        (
            "210a660101011e62c0a800823132333435000000",
            DecodeError::BadChecksum {
                found: 0x1e62,
                expected: 0x1d62,
            },
        ),
    ];
    for (bytes, error) in cases {
        assert_eq!(
            Advert::decode(&hex(bytes), src, dst),
            Err(error.clone()),
            "{bytes}"
        );
    }
}

#[test]
fn unsupported_auth_type_is_rejected() {
    // Auth type 2 (AH) in a protocol-112 packet, checksum made valid.
    let advert = Advert::v2(10, 101, 1, Auth::None, vec![addr("192.168.0.130")]).expect("valid");
    let mut bytes = advert.encode(addr("1.1.1.1"), VRRP_MULTICAST);
    bytes[4] = 2;
    let sum = halab_vrrp::internet_checksum(&{
        let mut zeroed = bytes.clone();
        zeroed[6..8].fill(0);
        zeroed
    });
    bytes[6..8].copy_from_slice(&sum.to_be_bytes());
    let decoded = Advert::decode(&bytes, addr("1.1.1.1"), VRRP_MULTICAST);
    assert_eq!(
        decoded,
        Err(DecodeError::UnsupportedAuthType { auth_type: 2 })
    );
}

#[test]
fn v3_reserved_bits_are_ignored() {
    // RFC 5798 5.2.6: reserved bits are ignored on reception.
    let advert = Advert::v3(10, 101, 100, vec![addr("192.168.0.130")]).expect("valid");
    let (src, dst) = (addr("192.168.0.11"), VRRP_MULTICAST);
    let mut bytes = advert.encode(src, dst);
    bytes[4] |= 0xf0;
    // Setting 0xf000 in one word lowers the complemented sum by 0xf000 (one's complement).
    let ck = u16::from_be_bytes([bytes[6], bytes[7]]);
    let fixed = u32::from(ck) + 0xffff - 0xf000;
    let fixed = ((fixed & 0xffff) + (fixed >> 16)) as u16;
    bytes[6..8].copy_from_slice(&fixed.to_be_bytes());
    assert_eq!(Advert::decode(&bytes, src, dst), Ok(advert));
}

#[test]
fn advert_constructors_check_limits() {
    let many = vec![addr("10.0.0.1"); 256];
    assert!(Advert::v2(1, 100, 1, Auth::None, many.clone()).is_err());
    assert!(Advert::v3(1, 100, 100, many).is_err());
    assert!(Advert::v3(1, 100, 4096, vec![]).is_err());
    assert!(Advert::v3(1, 100, 4095, vec![addr("10.0.0.1"); 255]).is_ok());
}

#[test]
fn advert_json_round_trip() {
    for case in CASES {
        let advert = (case.advert)();
        let json = serde_json::to_string(&advert).expect("serialise");
        let back: Advert = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, advert, "{json}");
    }
    let json = r#"{"version":"v2","vrid":10,"priority":101,"adver_int":1,"auth":{"simple":"12345"},"addresses":["192.168.0.130"]}"#;
    let advert: Advert = serde_json::from_str(json).expect("deserialise");
    assert_eq!(serde_json::to_string(&advert).expect("serialise"), json);
    let v3_with_auth = r#"{"version":"v3","vrid":1,"priority":1,"adver_int":1,"auth":{"simple":"x"},"addresses":[]}"#;
    assert!(serde_json::from_str::<Advert>(v3_with_auth).is_err());
    let v2_too_slow = r#"{"version":"v2","vrid":1,"priority":1,"adver_int":256,"addresses":[]}"#;
    assert!(serde_json::from_str::<Advert>(v2_too_slow).is_err());
}

#[test]
fn password_serialises_as_text_or_bytes() {
    let text = Password::from_text("12345").expect("short");
    assert_eq!(
        serde_json::to_string(&text).expect("serialise"),
        r#""12345""#
    );
    let binary = Password::from_bytes([1, 2, 3, 4, 5, 6, 7, 0xff]);
    let json = serde_json::to_string(&binary).expect("serialise");
    assert_eq!(json, "[1,2,3,4,5,6,7,255]");
    assert_eq!(
        serde_json::from_str::<Password>(&json).expect("deserialise"),
        binary
    );
    assert!(Password::from_text("123456789").is_err());
    assert_eq!(format!("{text:?}"), "Password(..)");
}

#[test]
fn parses_a_captured_ipv4_header() {
    // PcapPlusPlus' VRRP-V3-IPv4 capture without its Ethernet header.
    let packet = hex("4500002400000000ff701a91c0a8001ee0000012310164020001484dc0a80001c0a80002");
    let (header, payload) = parse_ipv4(&packet).expect("valid");
    assert_eq!(
        header,
        Ipv4Header {
            src: addr("192.168.0.30"),
            dst: VRRP_MULTICAST,
            ttl: 255,
            protocol: 112
        }
    );
    assert_eq!(payload, &packet[20..]);
    assert!(Advert::decode(payload, header.src, header.dst).is_ok());
}

#[test]
fn ipv4_errors() {
    let good = hex("4500002400000000ff701a91c0a8001ee0000012310164020001484dc0a80001c0a80002");
    assert_eq!(
        parse_ipv4(&good[..10]),
        Err(Ipv4Error::TooShort { len: 10 })
    );
    let mut v6 = good.clone();
    v6[0] = 0x65;
    assert_eq!(parse_ipv4(&v6), Err(Ipv4Error::NotIpv4 { version: 6 }));
    let mut short_ihl = good.clone();
    short_ihl[0] = 0x44;
    assert_eq!(
        parse_ipv4(&short_ihl),
        Err(Ipv4Error::BadHeaderLength { ihl: 4, len: 36 })
    );
    let mut long_ihl = good.clone();
    long_ihl[0] = 0x4f;
    assert_eq!(
        parse_ipv4(&long_ihl[..40.min(long_ihl.len())]),
        Err(Ipv4Error::BadHeaderLength { ihl: 15, len: 36 })
    );
    let mut padded = good.clone();
    padded.push(0);
    assert_eq!(
        parse_ipv4(&padded),
        Err(Ipv4Error::TotalLengthMismatch {
            total: 36,
            received: 37
        })
    );
    let mut fragment = good.clone();
    fragment[6] = 0x20;
    assert_eq!(parse_ipv4(&fragment), Err(Ipv4Error::Fragment));
    // Options are skipped: IHL 6 with 4 bytes of options.
    let mut with_options = good[..20].to_vec();
    with_options[0] = 0x46;
    with_options[3] = 40;
    with_options.extend_from_slice(&[1, 1, 1, 0]);
    with_options.extend_from_slice(&good[20..]);
    let (_, payload) = parse_ipv4(&with_options).expect("valid");
    assert_eq!(payload, &good[20..]);
}

#[test]
fn build_ipv4_matches_keepalived_header() {
    let payload = hex("310164020001484dc0a80001c0a80002");
    let packet = build_ipv4(addr("192.168.0.30"), VRRP_MULTICAST, 255, 0, &payload);
    // keepalived sets TOS 0xc0 where the capture has 0; otherwise the same header.
    assert_eq!(
        hex("45c0002400000000ff7019d1c0a8001ee0000012"),
        packet[..20]
    );
    assert_eq!(halab_vrrp::internet_checksum(&packet[..20]), 0);
    assert_eq!(parse_ipv4(&packet).expect("valid").1, payload.as_slice());
}

/// Input: a packet built with identification 0, then given identification 0x1234 (and an odd
/// one) in place; an advert encoded after 20 bytes already in a buffer. Output: the packets
/// built with those identifications from the start, byte for byte (header checksum
/// included); the bytes before the advert untouched and the advert as `encode` makes it.
#[test]
fn packets_made_in_kept_buffers_match_fresh_ones() {
    let src = addr("192.168.0.30");
    let advert = Advert::v3(1, 100, 100, vec![addr("10.0.0.1"), addr("10.0.0.2")]).expect("advert");
    let payload = advert.encode(src, VRRP_MULTICAST);
    let mut packet = build_ipv4(src, VRRP_MULTICAST, 255, 0, &payload);
    for id in [0x1234, 0xffff, 1] {
        set_ipv4_id(&mut packet, id);
        assert_eq!(
            packet,
            build_ipv4(src, VRRP_MULTICAST, 255, id, &payload),
            "id {id}"
        );
    }
    let mut kept = vec![7u8; 20];
    advert.encode_into(src, VRRP_MULTICAST, &mut kept);
    assert_eq!(kept[..20], [7u8; 20]);
    assert_eq!(kept[20..], payload[..]);
}

fn any_auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(|b| Auth::Simple(Password::from_bytes(b)))
    ]
}

fn any_advert() -> impl Strategy<Value = Advert> {
    let addresses = prop::collection::vec(any::<u32>().prop_map(Ipv4Addr::from), 0..=255);
    prop_oneof![
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any_auth(),
            addresses.clone()
        )
            .prop_map(
                |(vrid, prio, int, auth, a)| Advert::v2(vrid, prio, int, auth, a)
                    .expect("in range")
            ),
        (any::<u8>(), any::<u8>(), 0..=4095u16, addresses)
            .prop_map(|(vrid, prio, int, a)| Advert::v3(vrid, prio, int, a).expect("in range")),
    ]
}

fn any_addr() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn any_v6_advert() -> impl Strategy<Value = Advert> {
    let addresses = prop::collection::vec(any::<u128>().prop_map(Ipv6Addr::from), 0..=255);
    (any::<u8>(), any::<u8>(), 0..=4095u16, addresses)
        .prop_map(|(vrid, prio, int, a)| Advert::v3_ipv6(vrid, prio, int, a).expect("in range"))
}

proptest! {
    #[test]
    fn decode_inverts_encode(advert in any_advert(), src in any_addr(), dst in any_addr()) {
        let bytes = advert.encode(src, dst);
        prop_assert_eq!(bytes.len(), advert.encoded_len());
        prop_assert_eq!(Advert::decode(&bytes, src, dst), Ok(advert));
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..1100), src in any_addr(), dst in any_addr()) {
        let _ = Advert::decode(&bytes, src, dst);
        let _ = parse_ipv4(&bytes);
    }

    #[test]
    fn a_flipped_bit_is_caught(advert in any_advert(), src in any_addr(), bit in 0usize..64) {
        // Any single-bit error in the header is detected, by a check or by the checksum (even
        // in the v3 reserved bits, which are otherwise ignored).
        let dst = VRRP_MULTICAST;
        let mut bytes = advert.encode(src, dst);
        bytes[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(Advert::decode(&bytes, src, dst) != Ok(advert));
    }

    #[test]
    fn v6_decode_inverts_encode(advert in any_v6_advert(), src in any::<u128>(), dst in any::<u128>()) {
        let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
        let bytes = advert.encode(src, dst);
        prop_assert_eq!(bytes.len(), advert.encoded_len());
        prop_assert_eq!(Advert::decode(&bytes, src, dst), Ok(advert.clone()));
        let json = serde_json::to_string(&advert).expect("serialise");
        prop_assert_eq!(serde_json::from_str::<Advert>(&json).expect("deserialise"), advert);
    }

    #[test]
    fn v6_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..4200), src in any::<u128>()) {
        let _ = Advert::decode(&bytes, Ipv6Addr::from(src), VRRP_MULTICAST_V6);
    }

    #[test]
    fn json_round_trip(advert in any_advert()) {
        let json = serde_json::to_string(&advert).expect("serialise");
        prop_assert_eq!(serde_json::from_str::<Advert>(&json).expect("deserialise"), advert);
    }
}

#[test]
fn version_numbers() {
    assert_eq!(Version::V2.number(), 2);
    assert_eq!(Version::V3.number(), 3);
}
