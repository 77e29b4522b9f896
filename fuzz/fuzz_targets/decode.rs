//! Fuzzes the advert decoder (IPv4 and IPv6) and the IPv4 header parser, and checks that
//! whatever decodes re-encodes to something that decodes to the same advert.

#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};

use halab_vrrp::Advert;
use halab_vrrp::ip::parse_ipv4;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first 8 bytes choose the IP addresses the VRRPv3 checksum covers.
    let Some((addresses, packet)) = data.split_first_chunk::<8>() else {
        return;
    };
    let src = Ipv4Addr::new(addresses[0], addresses[1], addresses[2], addresses[3]);
    let dst = Ipv4Addr::new(addresses[4], addresses[5], addresses[6], addresses[7]);
    if let Ok(advert) = Advert::decode(packet, src, dst) {
        let encoded = advert.encode(src, dst);
        assert_eq!(Advert::decode(&encoded, src, dst).as_ref(), Ok(&advert));
    }
    // The same message over IPv6 (16-byte addresses, the IPv6 pseudo-header), from fe80::ADDR
    // to ff02::12.
    let src6 = Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([addresses[0], addresses[1]]),
        u16::from_be_bytes([addresses[2], addresses[3]]),
        u16::from_be_bytes([addresses[4], addresses[5]]),
        u16::from_be_bytes([addresses[6], addresses[7]]),
    );
    let dst6 = halab_vrrp::ip::VRRP_MULTICAST_V6;
    if let Ok(advert) = Advert::decode(packet, src6, dst6) {
        let encoded = advert.encode(src6, dst6);
        assert_eq!(Advert::decode(&encoded, src6, dst6).as_ref(), Ok(&advert));
    }
    // The same bytes as a whole IP packet, as a raw socket delivers it.
    if let Ok((header, payload)) = parse_ipv4(packet) {
        let _ = Advert::decode(payload, header.src, header.dst);
    }
});
