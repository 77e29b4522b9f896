//! What goes into [`crate::Instance::handle`] and what comes out. Every value is serde, so a run
//! can be recorded as JSON lines and replayed (see [`crate::replay`]).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::config::Vip;
use crate::ip::Ipv4Error;
use crate::packet::{Advert, DecodeError, Version};
use crate::time::Timestamp;
use crate::track::TrackStatus;

/// The RFC 5798 6.3 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not running: before `Startup`, after `Shutdown`, or waiting for tracking to settle.
    Initialize,
    /// Listening to the master, ready to take over.
    Backup,
    /// Holding the VIPs and advertising.
    Master,
    /// keepalived's FAULT: interface down or a weight-0 tracker failed; deaf and silent.
    Fault,
}

/// The two timers of RFC 5798 6.2. At most one is armed at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timer {
    /// Adver_Timer: while master, when to send the next advert.
    Advert,
    /// Master_Down_Timer: while backup, when to declare the master dead.
    MasterDown,
}

/// Everything that can happen to a virtual router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Input {
    /// RFC 5798 6.4.1: the Startup event.
    Startup,
    /// RFC 5798 6.4.2 / 6.4.3: the Shutdown event.
    Shutdown,
    /// keepalived's `vrrp_startup_delay`: until `until`, every Master_Down_Timer this
    /// instance sets as backup counts from `until` instead of from now, so it cannot take over
    /// before `until` plus its wait (keepalived 2.2.7 `vrrp_init_instance_sands`). Adverts are
    /// still received and accepted meanwhile. Give it before [`Input::Startup`] (a backup
    /// already waiting has its deadline moved the same way); an `until` in the past does
    /// nothing.
    StartupDelay {
        /// When the delay ends, on the driver's clock.
        until: Timestamp,
    },
    /// A whole IPv4 packet as read from the `IPPROTO_VRRP` raw socket (header included). The
    /// instance parses and decodes it, and reports malformed packets as `Discarded`.
    PacketReceived {
        /// The packet, hex in JSON.
        #[serde(with = "hex")]
        packet: Vec<u8>,
    },
    /// A VRRP message read from an `AF_INET6` raw socket, which delivers no IPv6 header: the
    /// driver takes the addresses and hop limit from `recvmsg` (`IPV6_PKTINFO`,
    /// `IPV6_HOPLIMIT`). The instance decodes it and reports malformed ones as `Discarded`.
    Ipv6PacketReceived {
        /// IPv6 source: the sender's link-local address.
        src: std::net::Ipv6Addr,
        /// IPv6 destination: ff02::12, or ours for a unicast peer (the checksum covers it).
        dst: std::net::Ipv6Addr,
        /// Hop limit, which RFC 5798 7.1 wants to be 255.
        hop_limit: u8,
        /// The VRRP message, hex in JSON.
        #[serde(with = "hex")]
        payload: Vec<u8>,
    },
    /// An advert the driver already decoded (with [`crate::ip::parse_ipv4`] and
    /// [`Advert::decode`]).
    AdvertReceived {
        /// IP source: the sender's primary address.
        src: IpAddr,
        /// IP TTL, which RFC 5798 7.1 wants to be 255.
        ttl: u8,
        /// The advert.
        advert: Advert,
    },
    /// A timer armed by `ArmTimer` expired.
    TimerFired {
        /// Which one.
        timer: Timer,
    },
    /// The tracked scripts and interfaces changed (see [`crate::track::Tracker`]).
    TrackingChanged {
        /// Their combined effect.
        tracking: TrackStatus,
    },
    /// The VRRP interface lost its link or address: go to FAULT.
    InterfaceDown,
    /// The VRRP interface is back.
    InterfaceUp,
    /// keepalived's `vrrp_sync_group`: the driver forces this member to `state` because the
    /// group moves (`vrrp_sync_master` / `vrrp_sync_backup`). `Master` acts like a natural
    /// takeover, `Backup` like stepping down; the state it is already in, `Fault` and
    /// `Initialize` are ignored (FAULT is shared through [`Input::TrackingChanged`]).
    SyncTo {
        /// The group's new state.
        state: State,
    },
    /// Someone else announced one of our VIPs at their link address (the driver saw an ARP
    /// request or reply whose sender is the VIP and whose sender MAC is not ours). ARP is not
    /// VRRP: it can get through while VRRP between the routers is cut, which is how a master
    /// learns that a split brain has moved clients away from it.
    VipClaimed {
        /// The VIP.
        address: IpAddr,
    },
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Encode with `advert.encode(primary, dst)` and send with TTL 255 to 224.0.0.18, or to
    /// each unicast peer (re-encoding per peer for VRRPv3: the checksum covers `dst`).
    SendAdvert {
        /// The advert (priority 0 on shutdown or fault).
        advert: Advert,
    },
    /// Broadcast gratuitous ARPs for these addresses (keepalived sends `garp_master_repeat`
    /// of them, 5 by default, and may schedule its `garp_master_delay` refresh).
    SendGratuitousArp {
        /// The addresses.
        vips: Vec<Vip>,
    },
    /// halab split-brain heal: broadcast gratuitous ARPs for these addresses that give the
    /// link address of whoever else holds `holder` now, not ours: clients that followed us go
    /// to the router that has the address. `holder` is one of the VIPs (the one to ask
    /// about: "who has it?"). The frame leaves from our own MAC (a switch must not learn the
    /// holder on our port); only the ARP sender hardware address is the holder's. The driver
    /// resolves it over ARP (ARP is not VRRP and gets through where VRRP may not); if nobody
    /// answers, nothing is sent.
    AnnounceVipsAt {
        /// The addresses.
        vips: Vec<Vip>,
        /// The address whose current holder to announce (a VIP).
        holder: IpAddr,
    },
    /// Add these addresses to the interface (netlink `RTM_NEWADDR`).
    AddVips {
        /// The addresses.
        vips: Vec<Vip>,
    },
    /// Remove these addresses from the interface.
    RemoveVips {
        /// The addresses.
        vips: Vec<Vip>,
    },
    /// (Re)arm `timer` to fire at `at`; replaces any earlier deadline of that timer.
    ArmTimer {
        /// Which timer.
        timer: Timer,
        /// When, on the driver's clock.
        at: Timestamp,
    },
    /// Disarm `timer`.
    CancelTimer {
        /// Which timer.
        timer: Timer,
    },
    /// The instance changed state: log it, run notify scripts, report it.
    StateChanged {
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// The effective priority changed (keepalived logs "Changing effective priority").
    PriorityChanged {
        /// Old priority.
        from: u8,
        /// New priority.
        to: u8,
    },
    /// A received packet was dropped; log the reason as keepalived would.
    Discarded {
        /// IP source, when the packet got that far.
        src: Option<IpAddr>,
        /// Why.
        reason: DiscardReason,
    },
    /// Sync group member only (`InstanceConfig::sync_group`): Master_Down_Timer expired, but
    /// a member becomes master only with its group. The instance stays Backup with
    /// Master_Down_Timer re-armed and wants MASTER until it accepts an advert; the driver
    /// sends [`Input::SyncTo`] `Master` once every other member wants MASTER too (keepalived
    /// `vrrp_sync_can_goto_master`: "prefer backup state to avoid thrashing").
    WantMaster {
        /// Why it would take over.
        reason: Reason,
    },
    /// An input had no effect in the current state.
    Ignored {
        /// Why.
        reason: IgnoreReason,
    },
}

/// Why a state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Initialize -> Backup, or Initialize -> Master for an owner with `state MASTER`.
    Startup,
    /// Back from FAULT.
    Recovered,
    /// Master_Down_Timer expired with no advert from the master.
    MasterDown,
    /// The master sent priority 0, and Skew_Time passed.
    MasterResigned,
    /// A lower-priority master was preempted.
    Preempted,
    /// A better advert made us step down.
    HigherPriority {
        /// Its sender.
        src: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// The interface went down.
    InterfaceDown,
    /// A weight-0 tracker failed.
    TrackingFault,
    /// The Shutdown event.
    Shutdown,
    /// Forced by the sync group ([`Input::SyncTo`]).
    SyncGroup,
}

/// Why a packet was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscardReason {
    /// Not a usable IPv4 packet.
    #[error("bad ip header: {error}")]
    BadIpHeader {
        /// The parse error.
        error: Ipv4Error,
    },
    /// Not protocol 112.
    #[error("ip protocol {protocol} is not vrrp (112)")]
    NotVrrp {
        /// The IP protocol.
        protocol: u8,
    },
    /// Not a valid advert (length, version, type, checksum).
    #[error("malformed advert: {error}")]
    Malformed {
        /// The decode error.
        error: DecodeError,
    },
    /// Our own advert looped back.
    #[error("advert from our own address")]
    OwnAdvert,
    /// An advert of the other address family than the instance's (an IPv4 instance and an
    /// IPv6 one may share a VRID: keepalived keeps them apart by family).
    #[error("{got:?} advert for a {expected:?} instance")]
    WrongFamily {
        /// The advert's family.
        got: crate::Family,
        /// The instance's.
        expected: crate::Family,
    },
    /// RFC 5798 7.1: MUST verify that the VRID is configured on the receiving interface.
    #[error("received vrid {got}, expected {expected}")]
    WrongVrid {
        /// VRID received.
        got: u8,
        /// Ours.
        expected: u8,
    },
    /// RFC 5798 7.1: MUST verify that the IPv4 TTL is 255.
    #[error("invalid ttl {ttl}, expected 255")]
    BadTtl {
        /// TTL received.
        ttl: u8,
    },
    /// RFC 5798 7.1: MUST verify the VRRP version.
    #[error("wrong version {got:?}, expected {expected:?}")]
    WrongVersion {
        /// Version received.
        got: Version,
        /// Ours.
        expected: Version,
    },
    /// RFC 2338 7.1: MUST perform the authentication specified by Auth Type.
    #[error("received auth type {got}, expecting {expected}")]
    AuthTypeMismatch {
        /// Auth type received.
        got: u8,
        /// Ours.
        expected: u8,
    },
    /// RFC 2338 7.1: wrong simple password.
    #[error("received an invalid password")]
    BadPassword,
    /// RFC 3768 7.1: MUST verify that the Adver Interval is the locally configured one.
    #[error("advertisement interval mismatch: ours {expected} s, received {got} s")]
    IntervalMismatch {
        /// Interval received, in seconds.
        got: u16,
        /// Ours, in seconds.
        expected: u16,
    },
    /// A VRRPv3 advert with a zero Max Adver Int.
    #[error("advertisement interval of 0 cs")]
    ZeroInterval,
    /// keepalived: "received an unexpected ip number count".
    #[error("received {got} addresses, expected {expected}")]
    AddressCountMismatch {
        /// Count received.
        got: usize,
        /// Ours.
        expected: usize,
    },
    /// keepalived `check_unicast_src`: "unicast source address %s not a unicast peer".
    #[error("unicast source address {src} is not a unicast peer")]
    NotAUnicastPeer {
        /// The advert's source.
        src: IpAddr,
    },
    /// keepalived `min_ttl`/`max_ttl` of a unicast peer: "TTL/HL %d not in range %d - %d".
    #[error("ttl {ttl} not in range {min} - {max}")]
    TtlOutOfRange {
        /// TTL received.
        ttl: u8,
        /// The peer's `min_ttl`.
        min: u8,
        /// The peer's `max_ttl`.
        max: u8,
    },
    /// keepalived: "ip address associated with VRID not present in MASTER advert".
    #[error("our address {address} is not present in the advert")]
    AddressMissing {
        /// The missing VIP.
        address: IpAddr,
    },
    /// RFC 5798 6.4.3: equal priority from a lower primary address loses the tie-break.
    #[error("received equal priority {priority} from a lower address")]
    LowerAddress {
        /// Priority received, equal to ours.
        priority: u8,
    },
    /// RFC 5798 6.4.2 (preempting backup) or 6.4.3 (master): a lower-priority advert.
    #[error("received lower priority {priority}, ours {ours}")]
    LowerPriority {
        /// Priority received.
        priority: u8,
        /// Ours.
        ours: u8,
    },
}

/// Why an input did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreReason {
    /// Adverts are not processed in Initialize or Fault (keepalived ignores them too).
    #[error("not listening in state {state:?}")]
    NotListening {
        /// Current state.
        state: State,
    },
    /// The timer is not armed, or not due yet: a late or duplicate fire.
    #[error("stale {timer:?} timer")]
    StaleTimer {
        /// Which timer.
        timer: Timer,
    },
    /// `Startup` while running.
    #[error("already started")]
    AlreadyStarted,
    /// `Shutdown` while stopped.
    #[error("not started")]
    NotStarted,
    /// `VipClaimed` for an address that is not one of our VIPs.
    #[error("{address} is not one of our addresses")]
    NotOurVip {
        /// The address claimed.
        address: IpAddr,
    },
    /// `VipClaimed` while not master: we do not hold the VIPs.
    #[error("not holding the addresses in state {state:?}")]
    NotHolding {
        /// Current state.
        state: State,
    },
    /// `VipClaimed` while master after taking over from a master we followed: that master
    /// may still hold the VIPs behind a VRRP cut and is the likelier winner, so its claim
    /// stands (answering it would make clients flap between two holders).
    #[error("deferring to the master we took over from")]
    Deferred,
    /// `VipClaimed` with `split_brain_heal` off (keepalived does not listen to ARP).
    #[error("split-brain heal is off")]
    HealOff,
    /// `SyncTo` the state the instance is in.
    #[error("already in state {state:?}")]
    AlreadyInState {
        /// Current state.
        state: State,
    },
    /// `SyncTo` that cannot apply: to `Fault` or `Initialize`, or while in one of them.
    #[error("sync group cannot move an instance from {from:?} to {to:?}")]
    NoSync {
        /// Current state.
        from: State,
        /// State asked for.
        to: State,
    },
}

/// Bytes as a lowercase hex string in JSON.
mod hex {
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        serializer.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.len() % 2 != 0 {
            return Err(de::Error::custom("hex string has an odd length"));
        }
        (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| de::Error::custom(format!("invalid hex at offset {i}")))
            })
            .collect()
    }
}
