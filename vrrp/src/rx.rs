//! RFC 5798 7.1 "Receiving VRRP Packets": the checks that depend on our configuration, in
//! keepalived 2.2.7's order (`vrrp_check_packet`), each a reason of its own.
//!
//! Length, version, type and checksum were already checked by [`crate::Advert::decode`].

use std::net::IpAddr;

use crate::auth::Auth;
use crate::config::InstanceConfig;
use crate::io::DiscardReason;
use crate::ip::VRRP_TTL;
use crate::packet::{Advert, Version};

/// `Ok` when the advert is for this virtual router and consistent with its configuration.
/// `skip_addresses`: keepalived's `skip_check_adv_addr` applies (a backup hearing the master
/// it follows), so the address list is not compared.
pub(crate) fn check(
    config: &InstanceConfig,
    src: IpAddr,
    ttl: u8,
    advert: &Advert,
    skip_addresses: bool,
) -> Result<(), DiscardReason> {
    // RFC 5798 7.1: MUST verify that the VRID is configured on the receiving interface.
    // (keepalived dispatches on the VRID before any other check.)
    if advert.vrid() != config.vrid {
        return Err(DiscardReason::WrongVrid {
            got: advert.vrid(),
            expected: config.vrid,
        });
    }
    if advert.family() != config.family() {
        return Err(DiscardReason::WrongFamily {
            got: advert.family(),
            expected: config.family(),
        });
    }
    // Our own advert, looped back: never a peer.
    if src == config.primary_address {
        return Err(DiscardReason::OwnAdvert);
    }
    // RFC 5798 7.1: MUST verify that the IPv4 TTL (IPv6 Hop Limit) is 255 (keepalived skips
    // it for unicast).
    if config.check_ttl && ttl != VRRP_TTL {
        return Err(DiscardReason::BadTtl { ttl });
    }
    // RFC 5798 7.1: MUST verify the VRRP version.
    if advert.version() != config.version {
        return Err(DiscardReason::WrongVersion {
            got: advert.version(),
            expected: config.version,
        });
    }
    if config.version == Version::V2 {
        check_v2(config, advert)?;
    } else if advert.adver_int() == 0 {
        // A backup would learn Master_Down_Interval = 0 and take over at once, on every advert
        // (keepalived accepts it; a zero interval is a sender's misconfiguration).
        return Err(DiscardReason::ZeroInterval);
    }
    // keepalived skip_check_adv_addr: the address list (and the unicast source check after
    // it) is skipped for the master a backup already follows.
    if skip_addresses {
        return Ok(());
    }
    // RFC 5798 7.1: MAY verify that Count IPvX Addrs and the addresses match ours. keepalived
    // 2.2.7 does, and drops the advert on any difference (logging "unexpected ip number count"
    // or "ip address associated with VRID not present in MASTER advert"); so do we.
    if advert.addresses().len() != config.vips.len() {
        return Err(DiscardReason::AddressCountMismatch {
            got: advert.addresses().len(),
            expected: config.vips.len(),
        });
    }
    if let Some(vip) = config
        .vips
        .iter()
        .find(|vip| !advert.addresses().contains(&vip.address))
    {
        return Err(DiscardReason::AddressMissing {
            address: vip.address,
        });
    }
    // keepalived check_unicast_src (or a peer's min_ttl/max_ttl): the source must be a
    // configured peer, and the TTL within that peer's range.
    if let Some(sources) = &config.unicast_sources {
        let Some(peer) = sources.iter().find(|p| p.address == src) else {
            return Err(DiscardReason::NotAUnicastPeer { src });
        };
        if ttl < peer.min_ttl || ttl > peer.max_ttl {
            return Err(DiscardReason::TtlOutOfRange {
                ttl,
                min: peer.min_ttl,
                max: peer.max_ttl,
            });
        }
    }
    Ok(())
}

fn check_v2(config: &InstanceConfig, advert: &Advert) -> Result<(), DiscardReason> {
    let ours = config.auth.map_or(Auth::None, Auth::Simple);
    // RFC 2338 7.1: MUST perform the authentication specified by Auth Type; keepalived first
    // compares the types ("received a %d auth, expecting %d!").
    if advert.auth().wire_type() != ours.wire_type() {
        return Err(DiscardReason::AuthTypeMismatch {
            got: advert.auth().wire_type(),
            expected: ours.wire_type(),
        });
    }
    // RFC 2338 5.3.6.1: type 1 compares the password byte for byte.
    if advert.auth() != &ours {
        return Err(DiscardReason::BadPassword);
    }
    // RFC 3768 7.1: MUST verify that the Adver Interval is the locally configured one, and
    // discard and log otherwise (keepalived: "advertisement interval mismatch").
    let expected = config.advert_interval_cs / 100;
    if advert.adver_int() != expected {
        return Err(DiscardReason::IntervalMismatch {
            got: advert.adver_int(),
            expected,
        });
    }
    Ok(())
}
