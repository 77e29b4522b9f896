//! The VRRP advertisement: VRRPv2 (RFC 3768, IPv4 only) and VRRPv3 for IPv4 and IPv6
//! (RFC 5798), encode and decode.
//!
//! `decode` checks only what the bytes alone can tell (lengths, version, type, checksum, auth
//! type). Whether an advert is for us (VRID, addresses, password, interval) depends on the
//! instance configuration and is checked by [`crate::Instance`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::auth::Auth;
use crate::checksum::{Sum, pseudo_header_sum};

/// Fixed header length shared by both versions.
const HEADER_LEN: usize = 8;
/// RFC 3768 5.3.10: the authentication data that follows the addresses in VRRPv2.
const AUTH_LEN: usize = 8;
/// RFC 5798 5.2.2 / RFC 3768 5.3.2: the only packet type, ADVERTISEMENT.
const TYPE_ADVERTISEMENT: u8 = 1;
/// RFC 5798 5.2.7: Max Adver Int is a 12-bit field.
pub const MAX_V3_INTERVAL_CS: u16 = 0x0fff;

/// The VRRP version an instance speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    /// RFC 3768: interval in whole seconds, optional simple password, plain checksum.
    V2,
    /// RFC 5798: interval in centiseconds, no authentication, pseudo-header checksum.
    V3,
}

impl Version {
    /// The 4-bit version number on the wire.
    pub const fn number(self) -> u8 {
        match self {
            Self::V2 => 2,
            Self::V3 => 3,
        }
    }

    /// The version numbered `number` (2 or 3), if VRRP for IPv4 has one.
    pub const fn from_number(number: u8) -> Option<Self> {
        match number {
            2 => Some(Self::V2),
            3 => Some(Self::V3),
            _ => None,
        }
    }
}

/// The address family an advert carries (RFC 5798 5.2.9: "IPvX Address(es)"); VRRPv2 is
/// IPv4 only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4: 4-byte addresses, sent to 224.0.0.18.
    #[default]
    Ipv4,
    /// IPv6: 16-byte addresses, sent to ff02::12 from a link-local source.
    Ipv6,
}

impl Family {
    /// The family of `address`.
    pub const fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Self::Ipv4,
            IpAddr::V6(_) => Self::Ipv6,
        }
    }

    /// Bytes per address on the wire.
    pub const fn address_len(self) -> usize {
        match self {
            Self::Ipv4 => 4,
            Self::Ipv6 => 16,
        }
    }

    const fn is_ipv4(&self) -> bool {
        matches!(self, Self::Ipv4)
    }
}

/// One VRRP ADVERTISEMENT, either version, valid by construction (it always encodes).
///
/// VRRPv2 (RFC 3768 5.1):
///
/// ```text
///     0                   1                   2                   3
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |   Auth Type   |   Adver Int   |          Checksum             |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                         IP Address (1)                        |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                            .                                  |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                         IP Address (n)                        |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                     Authentication Data (1)                   |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                     Authentication Data (2)                   |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// VRRPv3 for IPv4 (RFC 5798 5.1):
///
/// ```text
///     0                   1                   2                   3
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |(rsvd) |     Max Adver Int     |          Checksum             |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                       IPv4 Address(es)                        |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// VRRPv3 for IPv6 (RFC 5798 5.1): the same header, then 16-byte addresses:
///
/// ```text
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |(rsvd) |     Max Adver Int     |          Checksum             |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                                                               |
///    +                                                               +
///    |                       IPv6 Address(es)                        |
///    +                                                               +
///    |                                                               |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AdvertFields", into = "AdvertFields")]
pub struct Advert {
    version: Version,
    family: Family,
    vrid: u8,
    priority: u8,
    adver_int: u16,
    auth: Auth,
    /// All of `family` (checked by the constructors). Shared: an instance's adverts are its
    /// template with some priority, and each clone costs a reference count, not an allocation
    /// (a master makes one per advert).
    addresses: Arc<[IpAddr]>,
}

/// Why an [`Advert`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdvertError {
    /// RFC 5798 5.2.5: Count IPvX Addr is one byte.
    #[error("{count} addresses do not fit in an advert, at most 255 do")]
    TooManyAddresses {
        /// Number of addresses asked for.
        count: usize,
    },
    /// RFC 5798 5.2.7: Max Adver Int is 12 bits of centiseconds.
    #[error("advertisement interval of {centis} cs does not fit in 12 bits (at most 4095 cs)")]
    IntervalTooLong {
        /// Interval asked for, in centiseconds.
        centis: u16,
    },
    /// RFC 3768 5.3.7: the VRRPv2 Adver Int is one byte of seconds.
    #[error("vrrpv2 advertisement interval of {secs} s does not fit in one byte (at most 255 s)")]
    V2IntervalTooLong {
        /// Interval asked for, in seconds.
        secs: u16,
    },
    /// Only VRRPv2 carries authentication.
    #[error("vrrpv3 adverts carry no authentication")]
    AuthInV3,
    /// RFC 3768 is IPv4 only; IPv6 needs VRRPv3.
    #[error("vrrpv2 is ipv4 only, ipv6 needs vrrp version 3")]
    V2Ipv6,
    /// RFC 5798 5.2.9: an advert carries addresses of one family.
    #[error("address {address} is not {family:?} like the advert's other addresses")]
    MixedFamilies {
        /// The advert's family.
        family: Family,
        /// The address of the other family.
        address: IpAddr,
    },
}

/// Why bytes are not a valid advert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeError {
    /// Fewer bytes than the 8-byte fixed header.
    #[error("packet of {len} bytes is shorter than the 8-byte vrrp header")]
    TooShort {
        /// Received length.
        len: usize,
    },
    /// RFC 5798 7.1: MUST verify the VRRP version.
    #[error("unsupported vrrp version {version}")]
    UnsupportedVersion {
        /// Version nibble received.
        version: u8,
    },
    /// RFC 5798 5.2.2: a packet with an unknown type MUST be discarded.
    #[error("unsupported vrrp packet type {packet_type}, only 1 (advertisement) exists")]
    UnsupportedType {
        /// Type nibble received.
        packet_type: u8,
    },
    /// RFC 5798 7.1: MUST verify that the packet contains the complete VRRP packet; keepalived
    /// also rejects trailing bytes.
    #[error("packet is {actual} bytes long, {expected} expected for {count} addresses")]
    LengthMismatch {
        /// Length implied by the address count.
        expected: usize,
        /// Received length.
        actual: usize,
        /// Count IPvX Addr field.
        count: u8,
    },
    /// RFC 5798 7.1: MUST verify the VRRP checksum.
    #[error("bad checksum 0x{found:04x}, expected 0x{expected:04x}")]
    BadChecksum {
        /// Checksum field received.
        found: u16,
        /// Checksum the packet should carry.
        expected: u16,
    },
    /// RFC 3768 is IPv4 only (keepalived refuses version 2 over IPv6 too).
    #[error("vrrpv2 advert over ipv6, vrrpv2 is ipv4 only")]
    V2OverIpv6,
    /// The source and destination addresses are of different families.
    #[error("source {src} and destination {dst} are of different address families")]
    FamilyMismatch {
        /// IP source.
        src: IpAddr,
        /// IP destination.
        dst: IpAddr,
    },
    /// keepalived: "Invalid auth type"; AH (2) never arrives as protocol 112.
    #[error("unsupported vrrpv2 auth type {auth_type}")]
    UnsupportedAuthType {
        /// Auth Type byte received.
        auth_type: u8,
    },
}

impl Advert {
    /// A VRRPv2 advert. `adver_int_secs` is whole seconds (RFC 3768 5.3.7).
    pub fn v2(
        vrid: u8,
        priority: u8,
        adver_int_secs: u8,
        auth: Auth,
        addresses: Vec<Ipv4Addr>,
    ) -> Result<Self, AdvertError> {
        check_count(addresses.len())?;
        Ok(Self {
            version: Version::V2,
            family: Family::Ipv4,
            vrid,
            priority,
            adver_int: u16::from(adver_int_secs),
            auth,
            addresses: addresses.into_iter().map(IpAddr::V4).collect(),
        })
    }

    /// A VRRPv3 advert for IPv4. `max_adver_int_cs` is centiseconds, at most 4095
    /// (RFC 5798 5.2.7).
    pub fn v3(
        vrid: u8,
        priority: u8,
        max_adver_int_cs: u16,
        addresses: Vec<Ipv4Addr>,
    ) -> Result<Self, AdvertError> {
        let addresses = addresses.into_iter().map(IpAddr::V4).collect();
        Self::v3_in(Family::Ipv4, vrid, priority, max_adver_int_cs, addresses)
    }

    /// A VRRPv3 advert for IPv6 (sent from a link-local address to ff02::12).
    pub fn v3_ipv6(
        vrid: u8,
        priority: u8,
        max_adver_int_cs: u16,
        addresses: Vec<Ipv6Addr>,
    ) -> Result<Self, AdvertError> {
        let addresses = addresses.into_iter().map(IpAddr::V6).collect();
        Self::v3_in(Family::Ipv6, vrid, priority, max_adver_int_cs, addresses)
    }

    /// A VRRPv3 advert of `family`, whose addresses must all be of that family.
    pub fn v3_in(
        family: Family,
        vrid: u8,
        priority: u8,
        max_adver_int_cs: u16,
        addresses: Vec<IpAddr>,
    ) -> Result<Self, AdvertError> {
        check_count(addresses.len())?;
        if max_adver_int_cs > MAX_V3_INTERVAL_CS {
            return Err(AdvertError::IntervalTooLong {
                centis: max_adver_int_cs,
            });
        }
        if let Some(address) = addresses.iter().find(|a| Family::of(**a) != family) {
            return Err(AdvertError::MixedFamilies {
                family,
                address: *address,
            });
        }
        Ok(Self {
            version: Version::V3,
            family,
            vrid,
            priority,
            adver_int: max_adver_int_cs,
            auth: Auth::None,
            addresses: addresses.into(),
        })
    }

    /// VRRP version.
    pub const fn version(&self) -> Version {
        self.version
    }

    /// The address family (always IPv4 for v2).
    pub const fn family(&self) -> Family {
        self.family
    }

    /// Virtual Router Identifier.
    pub const fn vrid(&self) -> u8 {
        self.vrid
    }

    /// Sender's priority for this virtual router; 0 means "I stop being master".
    pub const fn priority(&self) -> u8 {
        self.priority
    }

    /// The interval field as on the wire: seconds for v2, centiseconds for v3.
    pub const fn adver_int(&self) -> u16 {
        self.adver_int
    }

    /// The advertisement interval in centiseconds, whatever the version.
    pub const fn interval_cs(&self) -> u32 {
        match self.version {
            Version::V2 => self.adver_int as u32 * 100,
            Version::V3 => self.adver_int as u32,
        }
    }

    /// Authentication (always [`Auth::None`] for v3).
    pub const fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The virtual router's addresses, in wire order, all of [`Advert::family`].
    pub fn addresses(&self) -> &[IpAddr] {
        &self.addresses
    }

    /// The same advert with another priority (priority 0 on shutdown, for instance).
    #[must_use]
    pub fn with_priority(&self, priority: u8) -> Self {
        Self {
            priority,
            ..self.clone()
        }
    }

    /// Length of the encoded VRRP message.
    pub fn encoded_len(&self) -> usize {
        let auth = if self.version == Version::V2 {
            AUTH_LEN
        } else {
            0
        };
        HEADER_LEN + self.family.address_len() * self.addresses.len() + auth
    }

    /// Encodes the VRRP message (no IP header).
    ///
    /// `src` and `dst` are the IP addresses the packet will carry: RFC 5798 5.2.8 puts them in
    /// the VRRPv3 checksum (keepalived uses the real destination, so a unicast peer gets its
    /// own checksum). VRRPv2 ignores them. They should be of the advert's family (an IPv4
    /// address in a mixed pair is summed as IPv4-mapped, which no receiver expects).
    pub fn encode(&self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(src, dst, &mut out);
        out
    }

    /// [`Advert::encode`], appended to `out` (a kept buffer, after an IP header for instance).
    pub fn encode_into(&self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>, out: &mut Vec<u8>) {
        let (src, dst) = (src.into(), dst.into());
        let start = out.len();
        out.reserve(self.encoded_len());
        out.push((self.version.number() << 4) | TYPE_ADVERTISEMENT);
        out.push(self.vrid);
        out.push(self.priority);
        // The constructors bound the count to 255.
        out.push(u8::try_from(self.addresses.len()).unwrap_or(u8::MAX));
        match self.version {
            Version::V2 => {
                out.push(self.auth.wire_type());
                out.push(u8::try_from(self.adver_int).unwrap_or(u8::MAX));
            }
            // RFC 5798 5.2.6: the 4 reserved bits MUST be zero on transmission.
            Version::V3 => {
                out.extend_from_slice(&(self.adver_int & MAX_V3_INTERVAL_CS).to_be_bytes())
            }
        }
        out.extend_from_slice(&[0, 0]);
        for address in self.addresses.iter() {
            match address {
                IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
                IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
            }
        }
        if self.version == Version::V2 {
            out.extend_from_slice(&self.auth.wire_data());
        }
        let message = &mut out[start..];
        let checksum = checksum(self.version, message, src, dst);
        message[6..8].copy_from_slice(&checksum.to_be_bytes());
    }

    /// Decodes and verifies a VRRP message (the IP payload; see [`crate::ip::parse_ipv4`]).
    ///
    /// `src` and `dst` come from the IP header: the VRRPv3 checksum covers them, and their
    /// family is the advert's (RFC 5798 5.1: IPv4 and IPv6 adverts differ in address size).
    pub fn decode(
        bytes: &[u8],
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
    ) -> Result<Self, DecodeError> {
        Self::decode_like(bytes, src, dst, None)
    }

    /// [`Advert::decode`], sharing `like`'s address list when the bytes carry the same
    /// addresses in the same order: an instance decodes its peers' adverts like its own,
    /// and a backup's master sends the same list every interval (no allocation per advert).
    pub fn decode_like(
        bytes: &[u8],
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
        like: Option<&Self>,
    ) -> Result<Self, DecodeError> {
        let (src, dst) = (src.into(), dst.into());
        let family = Family::of(src);
        if family != Family::of(dst) {
            return Err(DecodeError::FamilyMismatch { src, dst });
        }
        let header: &[u8; HEADER_LEN] = bytes
            .first_chunk()
            .ok_or(DecodeError::TooShort { len: bytes.len() })?;
        let version = match header[0] >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            version => return Err(DecodeError::UnsupportedVersion { version }),
        };
        if version == Version::V2 && family == Family::Ipv6 {
            return Err(DecodeError::V2OverIpv6);
        }
        let packet_type = header[0] & 0x0f;
        if packet_type != TYPE_ADVERTISEMENT {
            return Err(DecodeError::UnsupportedType { packet_type });
        }
        let count = header[3];
        let auth_len = if version == Version::V2 { AUTH_LEN } else { 0 };
        let width = family.address_len();
        let expected = HEADER_LEN + width * usize::from(count) + auth_len;
        if bytes.len() != expected {
            return Err(DecodeError::LengthMismatch {
                expected,
                actual: bytes.len(),
                count,
            });
        }
        let found = u16::from_be_bytes([header[6], header[7]]);
        if checksum(version, bytes, src, dst) != 0 {
            let mut zeroed = bytes.to_vec();
            zeroed[6..8].fill(0);
            let expected = checksum(version, &zeroed, src, dst);
            return Err(DecodeError::BadChecksum { found, expected });
        }
        let addr_end = HEADER_LEN + width * usize::from(count);
        let wire =
            bytes[HEADER_LEN..addr_end]
                .chunks_exact(width)
                .map(|a| match <[u8; 4]>::try_from(a) {
                    Ok(v4) => IpAddr::from(v4),
                    Err(_) => IpAddr::from(<[u8; 16]>::try_from(a).unwrap_or_default()),
                });
        let addresses = match like {
            Some(like)
                if like.family == family
                    && like.addresses.len() == usize::from(count)
                    && wire.clone().eq(like.addresses.iter().copied()) =>
            {
                Arc::clone(&like.addresses)
            }
            _ => wire.collect(),
        };
        let (adver_int, auth) = match version {
            Version::V2 => (
                u16::from(header[5]),
                decode_auth(header[4], &bytes[addr_end..])?,
            ),
            // RFC 5798 5.2.6: the reserved bits are ignored on reception.
            Version::V3 => (
                u16::from_be_bytes([header[4], header[5]]) & MAX_V3_INTERVAL_CS,
                Auth::None,
            ),
        };
        Ok(Self {
            version,
            family,
            vrid: header[1],
            priority: header[2],
            adver_int,
            auth,
            addresses,
        })
    }
}

fn check_count(count: usize) -> Result<(), AdvertError> {
    if count > usize::from(u8::MAX) {
        return Err(AdvertError::TooManyAddresses { count });
    }
    Ok(())
}

fn decode_auth(auth_type: u8, data: &[u8]) -> Result<Auth, DecodeError> {
    match (auth_type, <[u8; AUTH_LEN]>::try_from(data)) {
        // RFC 2338 5.3.10: with no authentication the data is ignored on reception.
        (0, _) => Ok(Auth::None),
        (1, Ok(data)) => Ok(Auth::Simple(crate::auth::Password::from_bytes(data))),
        (auth_type, _) => Err(DecodeError::UnsupportedAuthType { auth_type }),
    }
}

/// The checksum over `message` (whose checksum field may hold a value: then a correct packet
/// yields 0).
fn checksum(version: Version, message: &[u8], src: IpAddr, dst: IpAddr) -> u16 {
    match version {
        // RFC 3768 5.3.8: the entire VRRP message, starting with the version field.
        Version::V2 => Sum::default().add(message).finish(),
        // RFC 5798 5.2.8: prepend the IPv4 or IPv6 pseudo-header. A message never exceeds 16
        // bits of length (8 + 255 * 16 bytes).
        Version::V3 => {
            let len = u16::try_from(message.len()).unwrap_or(u16::MAX);
            pseudo_header_sum(src, dst, len).add(message).finish()
        }
    }
}

/// The serialised shape of an [`Advert`]; checked on the way in.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvertFields {
    version: Version,
    vrid: u8,
    priority: u8,
    /// Seconds for v2, centiseconds for v3, as on the wire.
    adver_int: u16,
    #[serde(default = "no_auth")]
    auth: Auth,
    /// Needed only when `addresses` is empty: their family otherwise.
    #[serde(default, skip_serializing_if = "Family::is_ipv4")]
    family: Family,
    addresses: Vec<IpAddr>,
}

const fn no_auth() -> Auth {
    Auth::None
}

impl TryFrom<AdvertFields> for Advert {
    type Error = AdvertError;

    fn try_from(f: AdvertFields) -> Result<Self, AdvertError> {
        let family = f.addresses.first().map_or(f.family, |a| Family::of(*a));
        match f.version {
            Version::V2 => {
                let secs = u8::try_from(f.adver_int)
                    .map_err(|_| AdvertError::V2IntervalTooLong { secs: f.adver_int })?;
                let v4 = f
                    .addresses
                    .iter()
                    .map(|a| match a {
                        IpAddr::V4(v4) => Ok(*v4),
                        IpAddr::V6(_) => Err(AdvertError::V2Ipv6),
                    })
                    .collect::<Result<_, _>>()?;
                if family == Family::Ipv6 {
                    return Err(AdvertError::V2Ipv6);
                }
                Self::v2(f.vrid, f.priority, secs, f.auth, v4)
            }
            Version::V3 if f.auth != Auth::None => Err(AdvertError::AuthInV3),
            Version::V3 => Self::v3_in(family, f.vrid, f.priority, f.adver_int, f.addresses),
        }
    }
}

impl From<Advert> for AdvertFields {
    fn from(a: Advert) -> Self {
        Self {
            version: a.version,
            vrid: a.vrid,
            priority: a.priority,
            adver_int: a.adver_int,
            auth: a.auth,
            family: a.family,
            addresses: a.addresses.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input: the encoded adverts of a template's list, of the same list in another order,
    /// of a shorter list, and of an IPv6 list, each decoded like the template. Output: the
    /// same advert `decode` gives; the template's list shared (not a copy) only for the same
    /// list in the same order.
    #[test]
    fn decoding_like_a_template_shares_only_its_exact_list() {
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let b = Ipv4Addr::new(10, 0, 0, 2);
        let (src, dst) = (Ipv4Addr::new(10, 0, 0, 9), Ipv4Addr::new(224, 0, 0, 18));
        let template = Advert::v3(1, 100, 100, vec![a, b]).expect("advert");
        let cases = [
            (Advert::v3(1, 50, 100, vec![a, b]).expect("advert"), true),
            (Advert::v3(1, 50, 100, vec![b, a]).expect("advert"), false),
            (Advert::v3(1, 50, 100, vec![a]).expect("advert"), false),
        ];
        for (sent, shared) in cases {
            let bytes = sent.encode(src, dst);
            let like = Advert::decode_like(&bytes, src, dst, Some(&template)).expect("decode");
            assert_eq!(like, Advert::decode(&bytes, src, dst).expect("decode"));
            assert_eq!(like, sent);
            assert_eq!(Arc::ptr_eq(&like.addresses, &template.addresses), shared);
        }
        let (src6, dst6) = (
            "fe80::1".parse::<Ipv6Addr>().expect("address"),
            "ff02::12".parse::<Ipv6Addr>().expect("address"),
        );
        let six = Advert::v3_ipv6(1, 50, 100, vec!["2001:db8::1".parse().expect("address")])
            .expect("advert");
        let bytes = six.encode(src6, dst6);
        let like = Advert::decode_like(&bytes, src6, dst6, Some(&template)).expect("decode");
        assert_eq!(like, six);
        assert!(!Arc::ptr_eq(&like.addresses, &template.addresses));
    }
}
