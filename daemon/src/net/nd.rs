//! Unsolicited neighbour advertisements (RFC 4861 4.4, 7.2.6): IPv6's gratuitous ARP. The
//! frame is built whole here (pure) and sent by the `AF_PACKET` sender, like gratuitous ARP.

use std::net::Ipv6Addr;

/// EtherType of IPv6.
const ETH_P_IPV6: u16 = 0x86dd;
/// IPv6 next header: ICMPv6.
const IPPROTO_ICMPV6: u8 = 58;
/// ICMPv6 type: Neighbor Advertisement.
const ND_NEIGHBOR_ADVERT: u8 = 136;
/// RFC 4861 4.4: the Override flag (the top bit of the flags word after Router and
/// Solicited).
const NA_FLAG_OVERRIDE: u32 = 0x2000_0000;
/// RFC 4861 4.6.1: option Target Link-Layer Address.
const ND_OPT_TARGET_LL_ADDR: u8 = 2;
/// RFC 4861 7.1.2: Hop Limit 255 (receivers drop anything else).
const ND_HOP_LIMIT: u8 = 255;
/// ff02::1, all nodes.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// An unsolicited neighbour advertisement for `vip` at `mac`, the form keepalived 2.2.7 sends
/// on becoming master: from the VIP itself to ff02::1 (Ethernet 33:33:00:00:00:01), hop limit
/// 255, Override set, Router and Solicited clear, with the Target Link-Layer Address option.
///
/// ```text
/// dst 33:33:00:00:00:01 | src MAC | 0x86dd |
/// IPv6: 6 | tc 0 | flow 0 | payload 32 | next 58 | hop 255 | src VIP | dst ff02::1 |
/// ICMPv6: type 136 | code 0 | checksum | R=0 S=0 O=1 reserved | target VIP |
///         option 2 (target link-layer address), length 1 (8 bytes), MAC
/// ```
pub fn unsolicited_na(mac: [u8; 6], vip: Ipv6Addr) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[ND_NEIGHBOR_ADVERT, 0, 0, 0]);
    icmp.extend_from_slice(&NA_FLAG_OVERRIDE.to_be_bytes());
    icmp.extend_from_slice(&vip.octets());
    icmp.extend_from_slice(&[ND_OPT_TARGET_LL_ADDR, 1]);
    icmp.extend_from_slice(&mac);
    // RFC 4443 2.3: the checksum covers the IPv6 pseudo-header (RFC 8200 8.1).
    let len = u16::try_from(icmp.len()).unwrap_or(u16::MAX);
    let mut summed = Vec::with_capacity(40 + icmp.len());
    summed.extend_from_slice(&vip.octets());
    summed.extend_from_slice(&ALL_NODES.octets());
    summed.extend_from_slice(&u32::from(len).to_be_bytes());
    summed.extend_from_slice(&[0, 0, 0, IPPROTO_ICMPV6]);
    summed.extend_from_slice(&icmp);
    let checksum = halab_vrrp::internet_checksum(&summed);
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());

    let mut frame = Vec::with_capacity(14 + 40 + icmp.len());
    let group = ALL_NODES.octets();
    frame.extend_from_slice(&[0x33, 0x33, group[12], group[13], group[14], group[15]]);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ETH_P_IPV6.to_be_bytes());
    frame.extend_from_slice(&[0x60, 0, 0, 0]);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&[IPPROTO_ICMPV6, ND_HOP_LIMIT]);
    frame.extend_from_slice(&vip.octets());
    frame.extend_from_slice(&ALL_NODES.octets());
    frame.extend_from_slice(&icmp);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("test hex"))
            .collect()
    }

    #[test]
    fn matches_keepalived_byte_for_byte() {
        // Input: keepalived 2.2.7's unsolicited NA for fd00:6::100 from 02:00:00:00:06:0a,
        // captured with tcpdump in a netns. Output: the same frame.
        let captured = hex(concat!(
            "33330000000102000000060a86dd",
            "6000000000203afffd000006000000000000000000000100ff020000000000000000000000000001",
            "88005288200000",
            "00fd000006000000000000000000000100020102000000060a"
        ));
        let vip: Ipv6Addr = "fd00:6::100".parse().expect("v6");
        assert_eq!(unsolicited_na([2, 0, 0, 0, 6, 0x0a], vip), captured);
    }
}
