//! The Internet checksum (RFC 1071) that both VRRP versions use.
//!
//! RFC 3768 5.3.8 (VRRPv2): the checksum covers the whole VRRP message, starting with the
//! version field. RFC 5798 5.2.8 (VRRPv3): the same sum, preceded by a pseudo-header
//! (RFC 2460 8.1 for IPv6, and for IPv4 the UDP-style one: source, destination, zero,
//! protocol 112, VRRP length), which is what keepalived 2.2.7 computes by default.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP (RFC 5798 5.1.1.4, RFC 3768 5.2.4).
pub const IPPROTO_VRRP: u8 = 112;

/// A running one's-complement sum, so a pseudo-header and the message can be fed in turn.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sum(u32);

impl Sum {
    /// Adds `bytes` as big-endian 16-bit words; an odd last byte is padded with zero.
    ///
    /// Callers feed even-length pieces except possibly the last one, which is all VRRP needs
    /// (the pseudo-header is 12 bytes, the VRRP message is a multiple of 4).
    pub(crate) fn add(mut self, bytes: &[u8]) -> Self {
        // Summed in 64 bits and folded once at the end: 2^48 words would be needed to
        // overflow it (folding after every word cost a third of the sum's instructions).
        let mut sum = u64::from(self.0);
        let mut words = bytes.chunks_exact(2);
        for word in &mut words {
            sum += u64::from(u16::from_be_bytes([word[0], word[1]]));
        }
        if let [last] = words.remainder() {
            sum += u64::from(*last) << 8;
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        // At most 0xffff now: the cast keeps every bit.
        self.0 = sum as u32;
        self
    }

    /// The one's complement of the folded sum: the value to put in a checksum field, or zero
    /// when the summed bytes already contain a correct checksum.
    pub(crate) fn finish(self) -> u16 {
        let mut sum = self.0;
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        // `sum` is at most 0xffff here, so the cast keeps every bit.
        !(sum as u16)
    }
}

/// RFC 5798 5.2.8: the IPv4 pseudo-header, laid out as UDP's (RFC 768), before the VRRP message.
///
/// ```text
///     0                   1                   2                   3
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                       Source Address                          |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                    Destination Address                        |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |     zero      | Protocol (112)|        VRRP Length            |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
pub(crate) fn ipv4_pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, vrrp_len: u16) -> [u8; 12] {
    let mut header = [0u8; 12];
    header[0..4].copy_from_slice(&src.octets());
    header[4..8].copy_from_slice(&dst.octets());
    header[9] = IPPROTO_VRRP;
    header[10..12].copy_from_slice(&vrrp_len.to_be_bytes());
    header
}

/// RFC 5798 5.2.8 / RFC 8200 8.1: the IPv6 pseudo-header before the VRRP message (what the
/// kernel sums with `IPV6_CHECKSUM`, which keepalived sets).
///
/// ```text
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                                                               |
///    +                         Source Address                        +
///    |                          (16 bytes)                           |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                                                               |
///    +                      Destination Address                      +
///    |                          (16 bytes)                           |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                   Upper-Layer Packet Length                   |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                      zero                     |  Next Header  |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
pub(crate) fn ipv6_pseudo_header(src: Ipv6Addr, dst: Ipv6Addr, vrrp_len: u16) -> [u8; 40] {
    let mut header = [0u8; 40];
    header[0..16].copy_from_slice(&src.octets());
    header[16..32].copy_from_slice(&dst.octets());
    header[32..36].copy_from_slice(&u32::from(vrrp_len).to_be_bytes());
    header[39] = IPPROTO_VRRP;
    header
}

/// The sum of the pseudo-header for a source and destination: IPv4's when both are IPv4,
/// IPv6's otherwise (an IPv4 address in a mixed pair is taken as IPv4-mapped; no real packet
/// has one). Summed where it is made: every advert sent or received has one.
pub(crate) fn pseudo_header_sum(src: IpAddr, dst: IpAddr, vrrp_len: u16) -> Sum {
    match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            Sum::default().add(&ipv4_pseudo_header(src, dst, vrrp_len))
        }
        (src, dst) => Sum::default().add(&ipv6_pseudo_header(as_v6(src), as_v6(dst), vrrp_len)),
    }
}

fn as_v6(address: IpAddr) -> Ipv6Addr {
    match address {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The Internet checksum of `bytes` alone (VRRPv2, and the IPv4 header).
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    Sum::default().add(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2, complement 220d.
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(internet_checksum(&[0x12]), internet_checksum(&[0x12, 0x00]));
    }

    #[test]
    fn buffer_with_its_checksum_sums_to_zero() {
        let mut data = vec![0x45, 0x00, 0x00, 0x2e, 0x00, 0x00, 0x00, 0x00, 0x40, 0x06];
        let sum = internet_checksum(&data);
        data.extend_from_slice(&sum.to_be_bytes());
        assert_eq!(internet_checksum(&data), 0);
    }
}
