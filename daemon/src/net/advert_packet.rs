//! An IPv4 advert packet kept to be sent again. A master sends the same advert every
//! interval: while the advert, its source, destination and TTL stay the same, only the IP
//! identification and the header checksum are re-written, in the same buffer (encoding and
//! summing the advert, into two fresh vectors, was about an eighth of a master's
//! instructions per advert at N=1: docs/halabd.md "Seventh change").

use std::net::Ipv4Addr;

use halab_vrrp::Advert;
use halab_vrrp::ip::{set_ipv4_id, write_ipv4_header};

/// IPv4 header length (no options).
const HEADER: usize = 20;

/// A packet made by [`AdvertPacket::make`].
#[derive(Debug, Default)]
pub struct AdvertPacket {
    /// What the bytes carry: the advert, source, destination and TTL.
    made_for: Option<(Advert, Ipv4Addr, Ipv4Addr, u8)>,
    bytes: Vec<u8>,
}

impl AdvertPacket {
    /// Makes the whole IPv4 packet of `advert` from `src` to `dst` with `ttl` and
    /// identification `id` (header included), re-using what the buffer holds if it is the
    /// same advert.
    pub fn make(&mut self, advert: &Advert, src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, id: u16) {
        let same = self
            .made_for
            .as_ref()
            .is_some_and(|(a, s, d, t)| (*s, *d, *t) == (src, dst, ttl) && a == advert);
        if same {
            set_ipv4_id(&mut self.bytes, id);
            return;
        }
        self.bytes.clear();
        self.bytes.resize(HEADER, 0);
        advert.encode_into(src, dst, &mut self.bytes);
        write_ipv4_header(&mut self.bytes, src, dst, ttl, id);
        self.made_for = Some((advert.clone(), src, dst, ttl));
    }

    /// The packet's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use halab_vrrp::ip::{VRRP_MULTICAST, build_ipv4};

    use super::*;

    fn fresh(advert: &Advert, src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, id: u16) -> Vec<u8> {
        build_ipv4(src, dst, ttl, id, &advert.encode(src, dst))
    }

    /// Input: one buffer asked in turn for an advert, the same advert with the next
    /// identification, another priority, another destination, another TTL, the first advert
    /// again. Output: each time the packet made from scratch, byte for byte.
    #[test]
    fn a_kept_packet_is_the_fresh_one() {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let peer = Ipv4Addr::new(10, 0, 0, 2);
        let advert = Advert::v3(7, 100, 10, vec![Ipv4Addr::new(10, 0, 0, 100)]).expect("advert");
        let lower = advert.with_priority(0);
        let mut kept = AdvertPacket::default();
        let cases = [
            (&advert, VRRP_MULTICAST, 255, 1),
            (&advert, VRRP_MULTICAST, 255, 2),
            (&lower, VRRP_MULTICAST, 255, 3),
            (&lower, peer, 255, 4),
            (&lower, peer, 64, 5),
            (&advert, VRRP_MULTICAST, 255, 6),
        ];
        for (advert, dst, ttl, id) in cases {
            kept.make(advert, src, dst, ttl, id);
            assert_eq!(kept.bytes(), fresh(advert, src, dst, ttl, id), "id {id}");
        }
    }
}
