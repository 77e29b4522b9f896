//! VRRP for halabd, without I/O: the VRRPv2 (RFC 3768) and VRRPv3-for-IPv4 (RFC 5798) codec,
//! one virtual router's state machine, keepalived's tracking, and the timer maths. No sockets,
//! no clock, no async: the daemon's driver owns those and this crate tells it what to do.
//!
//! # Driving an instance
//!
//! ```
//! use std::net::Ipv4Addr;
//! use halab_vrrp::{Action, Input, Instance, InstanceConfig, Timestamp};
//!
//! let mut config = InstanceConfig::new(10, Ipv4Addr::new(192, 168, 0, 11));
//! config.priority = 101;
//! config.vips = vec!["192.168.0.130/24".parse().unwrap()];
//! let mut instance = Instance::new(config).unwrap();
//!
//! // The driver's clock: microseconds since an epoch it picked.
//! let actions = instance.handle(Timestamp::ZERO, Input::Startup);
//! assert!(matches!(actions.last(), Some(Action::StateChanged { .. })));
//! ```
//!
//! The driver's loop, per instance:
//!
//! 1. Read packets from a raw `IPPROTO_VRRP` socket (joined to 224.0.0.18 on the interface, or
//!    bound for unicast) and pass each whole IPv4 packet as [`Input::PacketReceived`]; the
//!    instance parses the header, checks the TTL, decodes and verifies the advert. A driver
//!    serving several instances on one socket can route on the VRID (byte 1 of the payload).
//!    Alternatively decode itself ([`ip::parse_ipv4`], [`Advert::decode`]) and pass
//!    [`Input::AdvertReceived`].
//! 2. Keep one deadline per [`Timer`]; when it passes, pass [`Input::TimerFired`].
//! 3. Pass [`Input::InterfaceDown`] / [`Input::InterfaceUp`] from netlink link events, and
//!    [`Input::TrackingChanged`] whenever a [`track::Tracker`] reports a new status.
//! 4. Pass [`Input::VipClaimed`] when an ARP packet on the interface gives one of the VIPs at
//!    a MAC that is not ours (split-brain heal; keepalived does not listen to ARP).
//! 5. [`Input::Startup`] once everything is ready (its socket listening: the first
//!    Master_Down_Interval must be spent listening), [`Input::Shutdown`] on SIGTERM (then send
//!    the actions before exiting: the master's priority-0 advert hands over in Skew_Time).
//!    With keepalived's `vrrp_startup_delay`, [`Input::StartupDelay`] before `Startup`.
//!
//! Then carry out the returned actions in order:
//!
//! | action | what to do |
//! | --- | --- |
//! | `SendAdvert { advert }` | `advert.encode(primary, dst)` and send it with TTL 255 (TOS 0xc0) to 224.0.0.18, or to each unicast peer; VRRPv3 must be encoded per destination, the checksum covers it ([`ip::build_ipv4`] builds the header for `IP_HDRINCL`) |
//! | `SendGratuitousArp { vips }` | broadcast gratuitous ARPs for each address (keepalived: `garp_master_repeat`, default 5, and a refresh after `garp_master_delay`, default 5 s) |
//! | `AddVips` / `RemoveVips` | add or remove the addresses on the interface (netlink) |
//! | `ArmTimer { timer, at }` / `CancelTimer { timer }` | set or clear that timer's deadline |
//! | `StateChanged { from, to, reason }` | log, run `notify_*` scripts, update the status API |
//! | `AnnounceVipsAt { vips, holder }` | split-brain heal: broadcast gratuitous ARPs for the addresses with the ARP sender hardware address of `holder` (resolve it over ARP), the Ethernet source staying ours |
//! | `WantMaster { reason }` | sync group members only: send [`Input::SyncTo`] `Master` to every member once all of them [`Instance::wants_master`] |
//! | `PriorityChanged`, `Discarded`, `Ignored` | log (each reason displays keepalived-style) |
//!
//! Sync groups (keepalived's `vrrp_sync_group`, with [`InstanceConfig::sync_group`] set on
//! each member): besides `WantMaster`, when a member steps down from MASTER by itself, send
//! `SyncTo` `Backup` to the other members in MASTER; share FAULT by folding it into each
//! member's [`Input::TrackingChanged`]. Transitions caused by `SyncTo` (reason
//! [`Reason::SyncGroup`], or any `SyncTo` the driver sends) must not move the group again.
//!
//! Timers: [`Timer::Advert`] (master: send the next advert, every Advertisement_Interval) and
//! [`Timer::MasterDown`] (backup: Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time,
//! or Skew_Time after a priority-0 advert). At most one is armed at a time. A timer fired before
//! its deadline is re-armed, a timer that is no longer armed is ignored, so races between a
//! firing timer and a `CancelTimer` are harmless.
//!
//! Every input and action is serde: record `{at, input}` lines ([`replay::Event`]) in
//! production and [`replay::replay`] them in a test to get exactly the same actions.
//!
//! # Where halabd departs from keepalived 2.2.7 (on by default, see [`Improvements`])
//!
//! **Split-brain heal.** When VRRP between two masters comes back, the loser steps down; the
//! two directions may come back seconds apart, in either order, with adverts lost. If the loser
//! hears the winner first, keepalived's loser steps down silently, its winner never learns of
//! it, and clients that followed the loser keep sending to it until their ARP entries expire
//! (keepalived only re-ARPs when its master hears a lower priority). halabd, using ARP, which
//! gets through where VRRP is cut:
//! (i) a master stepping down for a better advert heard with TTL 255 (the winner is on its
//! link) announces each VIP at whoever holds it now, the winner ([`Action::AnnounceVipsAt`]:
//! the driver asks "who has" the VIP over ARP), so its clients move whether or not the winner
//! ever hears of it, and sends one last advert at its own priority (the winner, hearing a
//! lower priority, re-ARPs too; a keepalived winner does);
//! (ii) a master that receives a lower-priority advert or priority 0 sends gratuitous ARPs at
//! once, at most once per advert interval;
//! (iii) a master that sees one of its VIPs announced at another MAC ([`Input::VipClaimed`])
//! re-claims it (at once, or with its next advert if it ARPed within the interval), unless it
//! took over from a master it followed and has not heard a lower priority since: that one is
//! the likelier winner, so two halabd masters never answer each other. During a cut, the
//! winner thus takes clients back from the loser's gratuitous ARPs, which is what heals a
//! keepalived loser that steps down silently;
//! (iv) a master leaving by shutdown or fault, and a sync group member its group takes to
//! BACKUP, announce each VIP at whoever else holds it (nobody: nothing is sent).
//! Clients are back within one ARP round trip of the first advert heard, in every order
//! (`tests/heal.rs`).
//!
//! **Fast hand-off.** When a tracked script lowers the master's priority below a backup's,
//! keepalived's backup discards the lower-priority adverts (RFC 5798 6.4.2) and takes over only
//! when Master_Down_Interval expires (about 3.6 s at `advert_int 1`, after up to 1 s for the
//! next advert). halabd: a master whose priority drops advertises at once, and a preempting
//! backup that receives an advert below its own priority from the master it follows sets its
//! Master_Down_Timer to Skew_Time. The backup is master within Skew_Time of the drop. A master
//! never drops the VIPs on its own: only a better advert makes it step down.
//!
//! **Advert grid.** keepalived counts each advert interval from the last advert sent, so
//! instances that became master at different moments advertise at as many phases, each a
//! wake-up of its own. halabd keeps a master's Adver_Timer on multiples of its advert interval
//! from the epoch, offset by a tenth of an interval per VRID modulo 10 (ten bursts per
//! interval, not one of every instance): the advert of a takeover or of an answer to a lower
//! priority goes at once,
//! the next one at the next grid point (an interval is at most shortened, never lengthened),
//! and the driver's `garp_master_delay` round goes with an advert
//! ([`Instance::garp_round_at`]).
//!
//! # keepalived behaviour matched
//!
//! - Checks on reception (`vrrp_check_packet`): VRID, TTL 255 (unless unicast), version, auth
//!   type and password, VRRPv2 interval equal to ours, address count and every VIP present.
//!   A mismatch in the VIP list drops the advert (it is not just logged), except from the
//!   master a backup follows with `skip_check_adv_addr`; with `unicast_sources`
//!   (`check_unicast_src`, a peer's `min_ttl`/`max_ttl`) the source must be a peer and its TTL
//!   in that peer's range.
//! - `state MASTER` starts at once as master only for the address owner (priority 255);
//!   everyone else starts in BACKUP with Master_Down_Interval (`vrrp_init_state`).
//! - A master answers a lower-priority advert with its own advert and gratuitous ARPs
//!   (`lower_prio_no_advert` off, `garp_lower_prio_repeat` 5 by default), and a master going
//!   to FAULT sends priority 0 (`vrrp_state_leave_master`).
//! - `preempt_delay` starts at the first lower-priority advert heard as backup.
//! - Skew_Time in microseconds exactly as `VRRP_TIMER_SKEW`.
//!
//! See `vrrp/README.md` for the sources of each of these.

#![warn(missing_docs)]

mod auth;
mod checksum;
pub mod config;
mod instance;
pub mod interval;
pub mod io;
pub mod ip;
pub mod packet;
pub mod replay;
mod rx;
pub mod sync_group;
pub mod time;
pub mod track;
mod transition;

pub use auth::{Auth, Password, PasswordTooLong};
pub use checksum::{IPPROTO_VRRP, internet_checksum};
pub use config::{
    ConfigError, ConfigErrors, ConfigWarning, Improvements, InitialState, InstanceConfig,
    UnicastSource, Vip,
};
pub use instance::Instance;
pub use interval::{AdvertIntervalError, advert_interval_cs};
pub use io::{Action, DiscardReason, IgnoreReason, Input, Reason, State, Timer};
pub use packet::{Advert, AdvertError, DecodeError, Family, Version};
pub use time::Timestamp;
pub use track::{ScriptConfig, ScriptOutcome, TrackStatus, Tracker};
