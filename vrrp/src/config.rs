//! One virtual router's configuration (RFC 5798 6.1 "Parameters per Virtual Router"), its
//! validation, and keepalived's quiet adjustments.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::auth::Password;
use crate::packet::{Family, Version};

/// A virtual address and the prefix length it is added with ("192.168.0.130/24",
/// "fd00::130/64").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Vip {
    /// The address, as advertised.
    pub address: IpAddr,
    /// Prefix length for `ip addr add`; keepalived's default is /32 (IPv4), /128 (IPv6).
    pub prefix_len: u8,
}

/// The text is not `a.b.c.d[/len]` with len at most 32, or an IPv6 address with an optional
/// `/len` at most 128.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid virtual address `{0}`, expected a.b.c.d[/len] (len at most 32) or an ipv6 address[/len] (len at most 128)"
)]
pub struct VipParseError(String);

impl Vip {
    /// An address with a prefix length.
    pub fn new(address: impl Into<IpAddr>, prefix_len: u8) -> Self {
        Self {
            address: address.into(),
            prefix_len,
        }
    }

    /// The address family.
    pub const fn family(&self) -> Family {
        Family::of(self.address)
    }

    /// The longest prefix of the address's family (32 or 128).
    pub const fn max_prefix_len(&self) -> u8 {
        match self.address {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }
}

impl FromStr for Vip {
    type Err = VipParseError;

    fn from_str(s: &str) -> Result<Self, VipParseError> {
        let bad = || VipParseError(s.to_owned());
        let (addr, len) = s.split_once('/').map_or((s, None), |(a, l)| (a, Some(l)));
        let address: IpAddr = addr.parse().map_err(|_| bad())?;
        let vip = Self::new(address, 0);
        let max = vip.max_prefix_len();
        let prefix_len = match len {
            None => max,
            Some(len) => len.parse().ok().filter(|l| *l <= max).ok_or_else(bad)?,
        };
        Ok(Self { prefix_len, ..vip })
    }
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl TryFrom<String> for Vip {
    type Error = VipParseError;
    fn try_from(s: String) -> Result<Self, VipParseError> {
        s.parse()
    }
}

impl From<Vip> for String {
    fn from(vip: Vip) -> Self {
        vip.to_string()
    }
}

/// keepalived's `state MASTER|BACKUP`.
///
/// In keepalived 2.2.7 (`vrrp_init_state`), MASTER only makes a difference for the address
/// owner (priority 255), which then becomes master at once; any other instance starts in
/// BACKUP and waits Master_Down_Interval whatever its `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialState {
    /// `state MASTER`.
    Master,
    /// `state BACKUP` (keepalived's default).
    #[default]
    Backup,
}

/// halabd's departures from RFC and keepalived behaviour, each on by default.
/// [`Improvements::none`] gives the plain RFC 5798 / keepalived 2.2.7 behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Improvements {
    /// A master that steps down for a better advert sends one last advert, so the winner
    /// learns of the contention; a master that learns of contention (priority 0, or a
    /// lower-priority advert) sends gratuitous ARPs at once, at most once per advert interval.
    /// See the crate docs.
    pub split_brain_heal: bool,
    /// A preempting backup that hears its master advertise a priority below its own takes over
    /// after Skew_Time instead of Master_Down_Interval; a master whose priority drops
    /// advertises it at once.
    pub fast_handoff: bool,
    /// A master's Adver_Timer runs on a grid: multiples of its advert interval counted from
    /// the daemon's epoch, offset by a tenth of an interval per VRID modulo 10. An advert
    /// sent off the grid (on becoming master, or answering a lower priority) goes at once as
    /// before, and the next one at the next grid point, up to one interval early and never
    /// late. Instances with one interval then advertise in ten wake-ups per interval instead
    /// of each at its own phase.
    pub aligned_adverts: bool,
}

impl Improvements {
    /// Every improvement off: RFC 5798 and keepalived 2.2.7 behaviour.
    pub const fn none() -> Self {
        Self {
            split_brain_heal: false,
            fast_handoff: false,
            aligned_adverts: false,
        }
    }
}

impl Default for Improvements {
    fn default() -> Self {
        Self {
            split_brain_heal: true,
            fast_handoff: true,
            aligned_adverts: true,
        }
    }
}

/// A unicast peer whose adverts are accepted when the source check is on (keepalived's
/// `unicast_peer { ADDR [min_ttl N] [max_ttl N] }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnicastSource {
    /// The peer's address (the advert's IP source).
    pub address: IpAddr,
    /// Lowest TTL accepted (keepalived's default 0).
    #[serde(default)]
    pub min_ttl: u8,
    /// Highest TTL accepted (keepalived's default 255).
    #[serde(default = "max_ttl")]
    pub max_ttl: u8,
}

impl UnicastSource {
    /// Any TTL from `address`.
    pub const fn any_ttl(address: IpAddr) -> Self {
        Self {
            address,
            min_ttl: 0,
            max_ttl: 255,
        }
    }
}

const fn max_ttl() -> u8 {
    255
}

/// One virtual router (keepalived's `vrrp_instance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    /// Virtual Router Identifier, 1..=255 (`virtual_router_id`).
    pub vrid: u8,
    /// Protocol version (`version`; keepalived's default is 2).
    #[serde(default = "default_version")]
    pub version: Version,
    /// Base priority, 1..=255; 255 is the address owner (`priority`, default 100).
    #[serde(default = "default_priority")]
    pub priority: u8,
    /// Advertisement_Interval in centiseconds (`advert_int`); whole seconds for VRRPv2.
    #[serde(default = "default_interval")]
    pub advert_interval_cs: u16,
    /// Preempt_Mode (keepalived: true unless `nopreempt`).
    #[serde(default = "yes")]
    pub preempt: bool,
    /// keepalived's `preempt_delay`, in milliseconds: after first hearing a lower-priority
    /// master, keep accepting its adverts this long before preempting.
    #[serde(default)]
    pub preempt_delay_ms: u64,
    /// Virtual addresses (`virtual_ipaddress`), in advert order, all of the family of
    /// `primary_address`.
    pub vips: Vec<Vip>,
    /// VRRPv2 simple password (`authentication { auth_type PASS }`).
    #[serde(default)]
    pub auth: Option<Password>,
    /// keepalived's `state`.
    #[serde(default)]
    pub initial_state: InitialState,
    /// This router's primary address on the interface: the advert source, and the tie-break.
    /// Its family is the instance's: for IPv6, the interface's link-local address
    /// (RFC 5798 5.1.2.1).
    pub primary_address: IpAddr,
    /// RFC 5798 7.1 TTL check. keepalived skips it with unicast peers; so should the driver.
    #[serde(default = "yes")]
    pub check_ttl: bool,
    /// keepalived's `lower_prio_no_advert`: a master that hears a lower priority does not
    /// answer with an advert (RFC behaviour; keepalived's default is to answer).
    #[serde(default)]
    pub lower_prio_no_advert: bool,
    /// keepalived's `garp_lower_prio_repeat` > 0 (its default, 5; `vrrp_strict` clears it): a
    /// master that hears a lower priority sends gratuitous ARPs.
    #[serde(default = "yes")]
    pub garp_lower_prio: bool,
    /// keepalived's `higher_prio_send_advert`: a master that hears a better advert sends one
    /// advert of its own before it steps down (off by default; `vrrp_strict` clears it).
    #[serde(default)]
    pub higher_prio_send_advert: bool,
    /// keepalived's `skip_check_adv_addr`: a backup does not check the address list of adverts
    /// from the master it already follows (only a new master's list is compared with ours).
    #[serde(default)]
    pub skip_check_adv_addr: bool,
    /// keepalived's `check_unicast_src` (set by it, or by `min_ttl`/`max_ttl` on a peer):
    /// adverts must come from one of these peers, with a TTL in that peer's range. `None`: no
    /// check (the default).
    #[serde(default)]
    pub unicast_sources: Option<Vec<UnicastSource>>,
    /// A member of a `vrrp_sync_group`: Master_Down_Timer expiring reports
    /// [`crate::Action::WantMaster`] instead of taking over, and the driver moves the group
    /// with [`crate::Input::SyncTo`]. An address owner in a group starts as backup too.
    #[serde(default)]
    pub sync_group: bool,
    /// halabd's improvements.
    #[serde(default)]
    pub improvements: Improvements,
}

const fn default_version() -> Version {
    Version::V2
}
const fn default_priority() -> u8 {
    100
}
const fn default_interval() -> u16 {
    100
}
const fn yes() -> bool {
    true
}

impl InstanceConfig {
    /// keepalived's defaults: VRRPv2, priority 100, 1 s, preempt, state BACKUP, no VIPs;
    /// halabd's improvements on.
    pub fn new(vrid: u8, primary_address: impl Into<IpAddr>) -> Self {
        let primary_address = primary_address.into();
        Self {
            vrid,
            version: default_version(),
            priority: default_priority(),
            advert_interval_cs: default_interval(),
            preempt: true,
            preempt_delay_ms: 0,
            vips: Vec::new(),
            auth: None,
            initial_state: InitialState::Backup,
            primary_address,
            check_ttl: true,
            lower_prio_no_advert: false,
            garp_lower_prio: true,
            higher_prio_send_advert: false,
            skip_check_adv_addr: false,
            unicast_sources: None,
            sync_group: false,
            improvements: Improvements::default(),
        }
    }

    /// Plain RFC 5798 behaviour: no halabd improvements, and a master that hears a lower
    /// priority only discards it (keepalived's `vrrp_strict` sets `lower_prio_no_advert` and
    /// clears `garp_lower_prio_repeat` the same way).
    #[must_use]
    pub fn rfc_strict(mut self) -> Self {
        self.improvements = Improvements::none();
        self.lower_prio_no_advert = true;
        self.garp_lower_prio = false;
        self.higher_prio_send_advert = false;
        self
    }

    /// The instance's address family: that of its primary address.
    pub const fn family(&self) -> Family {
        Family::of(self.primary_address)
    }

    /// Every problem with this configuration, or nothing.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        // RFC 5798 5.2.3: VRID 1..255.
        if self.vrid == 0 {
            errors.push(ConfigError::Vrid);
        }
        // RFC 5798 5.2.4: 0 is reserved for "master stops", 1..=254 backups, 255 owner.
        if self.priority == 0 {
            errors.push(ConfigError::Priority);
        }
        let cs = self.advert_interval_cs;
        if crate::interval::check_advert_interval_cs(self.version, cs).is_err() {
            errors.push(match self.version {
                Version::V2 => ConfigError::V2Interval { cs },
                Version::V3 => ConfigError::V3Interval { cs },
            });
        }
        if self.version == Version::V3 && self.auth.is_some() {
            errors.push(ConfigError::AuthWithV3);
        }
        // RFC 3768 is IPv4 only (keepalived: "cannot use IPv6 with VRRP version 2").
        if self.version == Version::V2 && self.family() == Family::Ipv6 {
            errors.push(ConfigError::V2Ipv6);
        }
        // RFC 5798 5.2.5: the count is one byte.
        if self.vips.len() > 255 {
            errors.push(ConfigError::TooManyVips {
                count: self.vips.len(),
            });
        }
        let mut seen = HashSet::new();
        for vip in &self.vips {
            if vip.prefix_len > vip.max_prefix_len() {
                errors.push(ConfigError::PrefixLength { vip: *vip });
            }
            // RFC 5798 5.2.9: an advert carries addresses of one family, the instance's.
            if vip.family() != self.family() {
                errors.push(ConfigError::VipFamily {
                    vip: *vip,
                    family: self.family(),
                });
            }
            if !seen.insert(vip.address) {
                errors.push(ConfigError::DuplicateVip {
                    address: vip.address,
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Applies the adjustments keepalived 2.2.7 makes with a warning (`vrrp_complete_instance`)
    /// and returns those warnings.
    pub(crate) fn normalise(&mut self) -> Vec<ConfigWarning> {
        let mut warnings = Vec::new();
        if self.priority == 255 && !self.preempt {
            warnings.push(ConfigWarning::NopreemptWithOwner);
            self.preempt = true;
        }
        if self.initial_state == InitialState::Master {
            if !self.preempt {
                warnings.push(ConfigWarning::NopreemptWithMaster);
                self.preempt = true;
            }
            if self.preempt_delay_ms != 0 {
                warnings.push(ConfigWarning::PreemptDelayWithMaster);
                self.preempt_delay_ms = 0;
            }
        }
        if !self.preempt && self.preempt_delay_ms != 0 {
            warnings.push(ConfigWarning::PreemptDelayWithNopreempt);
            self.preempt_delay_ms = 0;
        }
        warnings
    }
}

/// One problem in an [`InstanceConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// VRID 0.
    #[error("virtual router id must be 1..=255")]
    Vrid,
    /// Priority 0.
    #[error("priority must be 1..=255 (0 is reserved for a master that stops)")]
    Priority,
    /// VRRPv2 interval not whole seconds in 1..=255.
    #[error("vrrpv2 advert interval of {cs} cs is not a whole number of seconds in 1..=255")]
    V2Interval {
        /// Configured interval.
        cs: u16,
    },
    /// VRRPv3 interval outside 1..=4095 cs.
    #[error("vrrpv3 advert interval of {cs} cs is outside 1..=4095 cs")]
    V3Interval {
        /// Configured interval.
        cs: u16,
    },
    /// A password with VRRPv3.
    #[error("vrrpv3 has no authentication, remove the password or use version 2")]
    AuthWithV3,
    /// More VIPs than an advert holds.
    #[error("{count} virtual addresses do not fit in an advert (at most 255)")]
    TooManyVips {
        /// Configured count.
        count: usize,
    },
    /// Prefix length above 32 (IPv4) or 128 (IPv6).
    #[error("virtual address {vip} has a prefix length above its family's maximum")]
    PrefixLength {
        /// The offending VIP.
        vip: Vip,
    },
    /// VRRPv2 with an IPv6 instance.
    #[error("vrrp version 2 is ipv4 only, ipv6 needs version 3")]
    V2Ipv6,
    /// A VIP of the other family than the instance's.
    #[error("virtual address {vip} is not of the instance's family ({family:?})")]
    VipFamily {
        /// The offending VIP.
        vip: Vip,
        /// The instance's family.
        family: Family,
    },
    /// The same address twice.
    #[error("virtual address {address} is listed twice")]
    DuplicateVip {
        /// The repeated address.
        address: IpAddr,
    },
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid vrrp instance: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ConfigErrors(pub Vec<ConfigError>);

/// An adjustment keepalived makes to a contradictory configuration, which we make too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigWarning {
    /// keepalived: "nopreempt is incompatible with priority 255. resetting nopreempt".
    #[error("nopreempt is incompatible with priority 255, preempting")]
    NopreemptWithOwner,
    /// keepalived: "nopreempt will not work with initial state MASTER - clearing".
    #[error("nopreempt does not work with initial state master, preempting")]
    NopreemptWithMaster,
    /// keepalived: "preempt delay will not work with initial state MASTER - clearing".
    #[error("preempt delay does not work with initial state master, clearing it")]
    PreemptDelayWithMaster,
    /// keepalived: "preempt_delay is incompatible with nopreempt mode - resetting".
    #[error("preempt delay is incompatible with nopreempt, clearing it")]
    PreemptDelayWithNopreempt,
}
