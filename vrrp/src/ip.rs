//! The IPv4 header around a VRRP advert, as a raw `IPPROTO_VRRP` socket delivers it.
//!
//! The daemon needs the TTL (RFC 5798 5.1.1.3: MUST be 255, so an advert cannot come from off
//! the link) and the addresses (the VRRPv3 checksum covers them), which only the header has.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::checksum::{IPPROTO_VRRP, internet_checksum};

/// RFC 5798 5.1.1.3: the TTL every advert is sent with and MUST arrive with.
pub const VRRP_TTL: u8 = 255;
/// RFC 5798 5.1.1.2: the IPv4 multicast group adverts go to.
pub const VRRP_MULTICAST: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// RFC 5798 5.1.2.2: the IPv6 multicast group adverts go to (link-local scope).
pub const VRRP_MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// keepalived sends adverts with TOS 0xc0 (internetwork control).
pub const VRRP_TOS: u8 = 0xc0;

const MIN_HEADER_LEN: usize = 20;

/// The fields of an IPv4 header (RFC 791 3.1) that VRRP uses.
///
/// ```text
///     0                   1                   2                   3
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |Version|  IHL  |Type of Service|          Total Length         |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |         Identification        |Flags|      Fragment Offset    |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |  Time to Live |    Protocol   |         Header Checksum       |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                       Source Address                          |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                    Destination Address                        |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                    Options                    |    Padding    |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipv4Header {
    /// Source address: the sender's primary address (RFC 5798 5.1.1.1).
    pub src: Ipv4Addr,
    /// Destination address: 224.0.0.18, or a unicast peer.
    pub dst: Ipv4Addr,
    /// Time to live.
    pub ttl: u8,
    /// Payload protocol; 112 for VRRP.
    pub protocol: u8,
}

/// Why bytes are not a usable IPv4 packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ipv4Error {
    /// Fewer than 20 bytes.
    #[error("packet of {len} bytes is shorter than an ipv4 header")]
    TooShort {
        /// Received length.
        len: usize,
    },
    /// Version nibble is not 4.
    #[error("ip version {version}, expected 4")]
    NotIpv4 {
        /// Version nibble received.
        version: u8,
    },
    /// IHL below 5 words, or past the end of the packet.
    #[error("ip header length of {ihl} words is invalid for a {len}-byte packet")]
    BadHeaderLength {
        /// IHL field, in 32-bit words.
        ihl: u8,
        /// Received length.
        len: usize,
    },
    /// Total Length disagrees with what was received (keepalived: "ip_tot_len mismatch").
    #[error("ip total length {total} does not match the {received} bytes received")]
    TotalLengthMismatch {
        /// Total Length field.
        total: u16,
        /// Received length.
        received: usize,
    },
    /// A fragment: an advert always fits in one packet, so a fragment is not one.
    #[error("ip packet is a fragment")]
    Fragment,
}

/// Splits a received IPv4 packet into its header fields and payload.
///
/// Does not verify the header checksum: the kernel has already dropped packets with a bad one
/// before a raw socket sees them.
pub fn parse_ipv4(bytes: &[u8]) -> Result<(Ipv4Header, &[u8]), Ipv4Error> {
    let fixed: &[u8; MIN_HEADER_LEN] = bytes
        .first_chunk()
        .ok_or(Ipv4Error::TooShort { len: bytes.len() })?;
    let version = fixed[0] >> 4;
    if version != 4 {
        return Err(Ipv4Error::NotIpv4 { version });
    }
    let ihl = fixed[0] & 0x0f;
    let header_len = usize::from(ihl) * 4;
    if header_len < MIN_HEADER_LEN || header_len > bytes.len() {
        return Err(Ipv4Error::BadHeaderLength {
            ihl,
            len: bytes.len(),
        });
    }
    let total = u16::from_be_bytes([fixed[2], fixed[3]]);
    if usize::from(total) != bytes.len() {
        return Err(Ipv4Error::TotalLengthMismatch {
            total,
            received: bytes.len(),
        });
    }
    let flags_offset = u16::from_be_bytes([fixed[6], fixed[7]]);
    // More Fragments set, or a non-zero offset.
    if flags_offset & 0x3fff != 0 {
        return Err(Ipv4Error::Fragment);
    }
    let header = Ipv4Header {
        src: Ipv4Addr::new(fixed[12], fixed[13], fixed[14], fixed[15]),
        dst: Ipv4Addr::new(fixed[16], fixed[17], fixed[18], fixed[19]),
        ttl: fixed[8],
        protocol: fixed[9],
    };
    Ok((header, &bytes[header_len..]))
}

/// Builds an IPv4 packet carrying a VRRP message the way keepalived does with `IP_HDRINCL`:
/// TOS 0xc0, no options, no fragmentation, protocol 112, the given TTL and identification.
///
/// A payload longer than 65515 bytes cannot be sent; its length field saturates (adverts are at
/// most 1048 bytes).
pub fn build_ipv4(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0; MIN_HEADER_LEN];
    out.extend_from_slice(payload);
    write_ipv4_header(&mut out, src, dst, ttl, id);
    out
}

/// Writes [`build_ipv4`]'s header over the first 20 bytes of `packet`, whose payload follows
/// them already: a packet made in a kept buffer. Does nothing to a packet shorter than 20.
pub fn write_ipv4_header(packet: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, id: u16) {
    let total = u16::try_from(packet.len()).unwrap_or(u16::MAX);
    let Some(header) = packet.first_chunk_mut::<MIN_HEADER_LEN>() else {
        return;
    };
    header[..2].copy_from_slice(&[0x45, VRRP_TOS]);
    header[2..4].copy_from_slice(&total.to_be_bytes());
    header[6..12].copy_from_slice(&[0, 0, ttl, IPPROTO_VRRP, 0, 0]);
    header[12..16].copy_from_slice(&src.octets());
    header[16..20].copy_from_slice(&dst.octets());
    set_ipv4_id(packet, id);
}

/// Re-writes the identification of an IPv4 packet with a 20-byte header, and its header
/// checksum: the same packet, sent again. Does nothing to a packet shorter than 20.
pub fn set_ipv4_id(packet: &mut [u8], id: u16) {
    let Some(header) = packet.first_chunk_mut::<MIN_HEADER_LEN>() else {
        return;
    };
    header[4..6].copy_from_slice(&id.to_be_bytes());
    header[10..12].fill(0);
    let checksum = internet_checksum(header);
    header[10..12].copy_from_slice(&checksum.to_be_bytes());
}
