//! One virtual router's state machine (RFC 5798 section 6): inputs in, actions out.
//!
//! This file dispatches inputs and handles received adverts; `transition.rs` holds the state
//! changes themselves.

use std::net::IpAddr;

use crate::checksum::IPPROTO_VRRP;
use crate::config::{ConfigError, ConfigErrors, ConfigWarning, InstanceConfig};
use crate::io::{Action, DiscardReason, IgnoreReason, Input, Reason, State, Timer};
use crate::ip::parse_ipv4;
use crate::packet::{Advert, Version};
use crate::rx::check;
use crate::time::{Timestamp, master_down_interval_us, skew_time_us};
use crate::track::{TrackStatus, effective_priority};

/// The advert grid's offsets per interval (VRID modulo this): see `Instance::advert_grid`.
const GRID_SLOTS: u64 = 10;

/// One VRRP instance (keepalived's `vrrp_instance`), sans I/O.
#[derive(Debug, Clone)]
pub struct Instance {
    pub(crate) config: InstanceConfig,
    warnings: Vec<ConfigWarning>,
    /// Our advert at base priority; every advert we send is this with some priority.
    pub(crate) template: Advert,
    pub(crate) state: State,
    /// Between Startup and Shutdown.
    pub(crate) started: bool,
    pub(crate) interface_up: bool,
    pub(crate) tracking: TrackStatus,
    /// Effective priority: base plus tracking weights.
    pub(crate) priority: u8,
    /// RFC 5798 6.1 Master_Adver_Interval, learned from the master in VRRPv3.
    pub(crate) master_adver_int_cs: u32,
    /// The one armed timer, as the driver was told.
    pub(crate) timer: Option<(Timer, Timestamp)>,
    /// The master we follow: source of the last advert we accepted as backup.
    pub(crate) master: Option<IpAddr>,
    /// keepalived's `preempt_time`: when the running preempt delay ends.
    pub(crate) preempt_at: Option<Timestamp>,
    /// What a firing Master_Down_Timer will mean.
    pub(crate) takeover_reason: Reason,
    /// When we last sent gratuitous ARPs, for the contention rate limit.
    pub(crate) last_garp: Option<Timestamp>,
    /// Sync group member held in Backup although its Master_Down_Timer expired (keepalived's
    /// `wantstate` MASTER while in BACKUP).
    pub(crate) held: bool,
    /// halab split-brain heal: this mastership began by taking over from a master we
    /// followed, so another claim of our VIPs is most likely that master's (see
    /// [`IgnoreReason::Deferred`]).
    pub(crate) defer_claims: bool,
    /// A claim of our VIPs arrived within an advert interval of our last gratuitous ARPs:
    /// answer it with the next advert.
    pub(crate) reclaim_pending: bool,
    /// keepalived `vrrp_startup_delay`: its end, while it may still be running
    /// ([`Input::StartupDelay`]).
    pub(crate) startup_delay_until: Option<Timestamp>,
}

impl Instance {
    /// A stopped instance (state Initialize); send it [`Input::Startup`] to run it.
    ///
    /// Reports every configuration problem at once. Contradictions keepalived tolerates are
    /// fixed the way keepalived fixes them, and listed in [`Instance::warnings`].
    pub fn new(mut config: InstanceConfig) -> Result<Self, ConfigErrors> {
        config.validate()?;
        let warnings = config.normalise();
        let addresses: Vec<IpAddr> = config.vips.iter().map(|vip| vip.address).collect();
        let template = match config.version {
            Version::V2 => {
                let secs = u8::try_from(config.advert_interval_cs / 100).unwrap_or(u8::MAX);
                let auth = config.auth.map_or(crate::Auth::None, crate::Auth::Simple);
                // validate() made every VIP IPv4 for v2.
                let v4 = addresses
                    .iter()
                    .filter_map(|a| match a {
                        IpAddr::V4(v4) => Some(*v4),
                        IpAddr::V6(_) => None,
                    })
                    .collect();
                Advert::v2(config.vrid, config.priority, secs, auth, v4)
            }
            Version::V3 => Advert::v3_in(
                config.family(),
                config.vrid,
                config.priority,
                config.advert_interval_cs,
                addresses,
            ),
        }
        // validate() already rejected what the constructors reject.
        .map_err(|_| {
            ConfigErrors(vec![ConfigError::TooManyVips {
                count: config.vips.len(),
            }])
        })?;
        Ok(Self {
            master_adver_int_cs: u32::from(config.advert_interval_cs),
            priority: config.priority,
            config,
            warnings,
            template,
            state: State::Initialize,
            started: false,
            interface_up: true,
            tracking: TrackStatus::default(),
            timer: None,
            master: None,
            preempt_at: None,
            takeover_reason: Reason::MasterDown,
            last_garp: None,
            held: false,
            defer_claims: false,
            reclaim_pending: false,
            startup_delay_until: None,
        })
    }

    /// The one entry point: apply `input`, which happened at `now`, and say what to do.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        self.handle_into(now, input, &mut out);
        out
    }

    /// [`Instance::handle`], appending the actions to `out`: a driver that keeps one vector
    /// for every input makes no allocation per input (a backup handles one per advert).
    pub fn handle_into(&mut self, now: Timestamp, input: Input, out: &mut Vec<Action>) {
        match input {
            Input::Startup if self.started => out.push(Action::Ignored {
                reason: IgnoreReason::AlreadyStarted,
            }),
            Input::Startup => {
                self.started = true;
                self.reevaluate(now, out);
            }
            Input::Shutdown => self.shutdown(out),
            Input::StartupDelay { until } => self.startup_delay(now, until, out),
            Input::PacketReceived { packet } => self.packet(now, &packet, out),
            Input::Ipv6PacketReceived {
                src,
                dst,
                hop_limit,
                payload,
            } => match Advert::decode_like(&payload, src, dst, Some(&self.template)) {
                Ok(advert) => self.advert(now, src.into(), hop_limit, &advert, out),
                Err(error) => out.push(Action::Discarded {
                    src: Some(src.into()),
                    reason: DiscardReason::Malformed { error },
                }),
            },
            Input::AdvertReceived { src, ttl, advert } => self.advert(now, src, ttl, &advert, out),
            Input::TimerFired { timer } => self.timer_fired(now, timer, out),
            Input::TrackingChanged { tracking } => self.tracking_changed(now, tracking, out),
            Input::InterfaceDown | Input::InterfaceUp => {
                self.interface_up = input == Input::InterfaceUp;
                self.reevaluate(now, out);
            }
            Input::SyncTo { state } => self.sync_to(now, state, out),
            Input::VipClaimed { address } => self.vip_claimed(now, address, out),
        }
    }

    /// [`Instance::handle_into`] for [`Input::PacketReceived`] with `packet` borrowed: the same
    /// actions and the same new state, without copying the packet out of the driver's
    /// receive buffer.
    pub fn handle_packet_into(&mut self, now: Timestamp, packet: &[u8], out: &mut Vec<Action>) {
        self.packet(now, packet, out);
    }

    /// Current state.
    pub const fn state(&self) -> State {
        self.state
    }

    /// Effective priority (base priority plus tracking weights).
    pub const fn priority(&self) -> u8 {
        self.priority
    }

    /// The configuration in force (after keepalived's adjustments).
    pub const fn config(&self) -> &InstanceConfig {
        &self.config
    }

    /// Adjustments made to the configuration, for the driver to log.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// The armed timer and its deadline, if any.
    pub const fn armed_timer(&self) -> Option<(Timer, Timestamp)> {
        self.timer
    }

    /// Master, or a sync group member in Backup whose Master_Down_Timer expired and that has
    /// not accepted an advert since (keepalived: `wantstate` is MASTER). A group goes master
    /// only when every member wants to.
    pub const fn wants_master(&self) -> bool {
        matches!(self.state, State::Master) || (matches!(self.state, State::Backup) && self.held)
    }

    /// The master we follow while backup (source of the last advert accepted).
    pub const fn known_master(&self) -> Option<IpAddr> {
        self.master
    }

    /// Master_Adver_Interval in centiseconds (learned from the master in VRRPv3).
    pub const fn master_adver_int_cs(&self) -> u32 {
        self.master_adver_int_cs
    }

    /// Skew_Time now, in microseconds.
    pub(crate) fn skew_us(&self) -> u64 {
        skew_time_us(self.config.version, self.priority, self.master_adver_int_cs)
    }

    /// Master_Down_Interval now, in microseconds.
    pub(crate) fn master_down_us(&self) -> u64 {
        master_down_interval_us(self.config.version, self.priority, self.master_adver_int_cs)
    }

    /// Our own Advertisement_Interval, in microseconds.
    pub(crate) fn advert_interval_us(&self) -> u64 {
        u64::from(self.config.advert_interval_cs) * crate::time::MICROS_PER_CS
    }

    /// When a driver's delayed round of gratuitous ARPs (keepalived `garp_master_delay`), due
    /// at `at`, goes out. With [`crate::Improvements::aligned_adverts`]: with the first advert
    /// at or after `at` (up to one interval later), as keepalived's round goes with an advert
    /// when the delay is a whole number of intervals. A keepalived peer that is master too
    /// hears that advert's lower priority and re-ARPs at once, taking the clients back.
    /// Otherwise at `at`.
    pub fn garp_round_at(&self, at: Timestamp) -> Timestamp {
        if self.config.improvements.aligned_adverts {
            let (step, offset) = self.advert_grid();
            at.align_up(step, offset)
        } else {
            at
        }
    }

    /// halabd's advert grid (see [`crate::Improvements::aligned_adverts`]): its step (the
    /// advert interval) and this instance's offset on it, µs. VRIDs spread over
    /// [`GRID_SLOTS`] offsets a tenth of an interval apart, so that one wake-up sends at most a
    /// tenth of a daemon's adverts: 1000 adverts in one burst took 5-10 ms to leave, and the
    /// position of each in it moved by as much from one burst to the next (jitter).
    pub(crate) fn advert_grid(&self) -> (u64, u64) {
        let step = self.advert_interval_us();
        let slot = u64::from(self.config.vrid) % GRID_SLOTS;
        (step, slot * (step / GRID_SLOTS))
    }

    fn packet(&mut self, now: Timestamp, packet: &[u8], out: &mut Vec<Action>) {
        let (ip, payload) = match parse_ipv4(packet) {
            Ok(parsed) => parsed,
            Err(error) => {
                return out.push(Action::Discarded {
                    src: None,
                    reason: DiscardReason::BadIpHeader { error },
                });
            }
        };
        let src = Some(IpAddr::V4(ip.src));
        if ip.protocol != IPPROTO_VRRP {
            return out.push(Action::Discarded {
                src,
                reason: DiscardReason::NotVrrp {
                    protocol: ip.protocol,
                },
            });
        }
        match Advert::decode_like(payload, ip.src, ip.dst, Some(&self.template)) {
            Ok(advert) => self.advert(now, ip.src.into(), ip.ttl, &advert, out),
            Err(error) => out.push(Action::Discarded {
                src,
                reason: DiscardReason::Malformed { error },
            }),
        }
    }

    fn advert(
        &mut self,
        now: Timestamp,
        src: IpAddr,
        ttl: u8,
        advert: &Advert,
        out: &mut Vec<Action>,
    ) {
        // keepalived drops adverts in FAULT and INIT before looking at them.
        if matches!(self.state, State::Initialize | State::Fault) {
            return out.push(Action::Ignored {
                reason: IgnoreReason::NotListening { state: self.state },
            });
        }
        // keepalived skip_check_adv_addr: only a backup, only for the master it follows.
        let skip_addresses = self.config.skip_check_adv_addr
            && self.state == State::Backup
            && self.master == Some(src);
        if let Err(reason) = check(&self.config, src, ttl, advert, skip_addresses) {
            return out.push(Action::Discarded {
                src: Some(src),
                reason,
            });
        }
        if self.state == State::Master {
            self.master_rx(now, src, ttl, advert, out);
        } else {
            self.backup_rx(now, src, advert, out);
        }
    }

    /// RFC 5798 6.4.2 "If an ADVERTISEMENT is received".
    fn backup_rx(&mut self, now: Timestamp, src: IpAddr, advert: &Advert, out: &mut Vec<Action>) {
        let priority = advert.priority();
        // RFC 5798 6.4.2: priority 0 => Set the Master_Down_Timer to Skew_Time.
        if priority == 0 {
            self.takeover_reason = Reason::MasterResigned;
            let at = self.master_down_at(now, self.skew_us());
            return self.arm(Timer::MasterDown, at, out);
        }
        // RFC 5798 6.4.2: Preempt_Mode False, or priority >= local priority => accept.
        // keepalived also accepts lower priorities while its preempt delay runs.
        if !self.config.preempt || priority >= self.priority || self.preempt_delay_running(now) {
            // RFC 5798 6.4.2: Set Master_Adver_Interval to the advert's interval (VRRPv3 only;
            // VRRPv2 checked it equals ours), recompute Master_Down_Interval, reset the timer.
            if self.config.version == Version::V3 {
                self.master_adver_int_cs = advert.interval_cs();
            }
            self.master = Some(src);
            self.takeover_reason = Reason::MasterDown;
            // keepalived vrrp_state_backup: a member held back by its sync group wants BACKUP
            // again once it accepts an advert.
            self.held = false;
            self.track_preempt_delay(now, priority);
            let at = self.master_down_at(now, self.master_down_us());
            return self.arm(Timer::MasterDown, at, out);
        }
        // RFC 5798 6.4.2: otherwise (preempting, lower priority) discard the advert.
        out.push(Action::Discarded {
            src: Some(src),
            reason: DiscardReason::LowerPriority {
                priority,
                ours: self.priority,
            },
        });
        // halab fast hand-off: the master we follow is now worse than us; take over after
        // Skew_Time rather than waiting for Master_Down_Interval to run out. Only for the
        // master we follow: another lower-priority sender (a contender's last advert) says
        // nothing about whether our master is still better than us.
        if self.config.improvements.fast_handoff && self.master == Some(src) {
            let at = self.master_down_at(now, self.skew_us());
            if self.timer.is_none_or(|(_, due)| due > at) {
                self.takeover_reason = Reason::Preempted;
                self.arm(Timer::MasterDown, at, out);
            }
        }
    }

    /// keepalived `preempt_delay`: the delay starts at the first lower-priority advert and
    /// stops at any advert at least as good as us.
    fn track_preempt_delay(&mut self, now: Timestamp, priority: u8) {
        if !self.config.preempt || self.config.preempt_delay_ms == 0 {
            return;
        }
        if priority >= self.priority {
            self.preempt_at = None;
        } else if self.preempt_at.is_none() {
            self.preempt_at =
                Some(now.plus_micros(self.config.preempt_delay_ms.saturating_mul(1_000)));
        }
    }

    fn preempt_delay_running(&self, now: Timestamp) -> bool {
        self.config.preempt_delay_ms != 0 && self.preempt_at.is_none_or(|at| at > now)
    }

    /// RFC 5798 6.4.3 "If an ADVERTISEMENT is received".
    fn master_rx(
        &mut self,
        now: Timestamp,
        src: IpAddr,
        ttl: u8,
        advert: &Advert,
        out: &mut Vec<Action>,
    ) {
        let priority = advert.priority();
        // RFC 5798 6.4.3: priority 0 => Send an ADVERTISEMENT, reset the Adver_Timer.
        if priority == 0 {
            self.send_advert(now, out);
            // halab split-brain heal: someone else held the VIPs; re-claim them at once.
            if self.config.improvements.split_brain_heal {
                self.contention_garp(now, out);
            }
            return;
        }
        // RFC 5798 6.4.3: greater priority, or equal priority and greater primary address =>
        // Backup.
        if priority > self.priority
            || (priority == self.priority && src > self.config.primary_address)
        {
            // keepalived higher_prio_send_advert: one advert of ours before stepping down (the
            // split-brain heal sends the same last advert as it leaves master).
            if self.config.higher_prio_send_advert && !self.config.improvements.split_brain_heal {
                self.send_advert(now, out);
            }
            return self.step_down(now, src, ttl, advert, out);
        }
        // RFC 5798 6.4.3: otherwise discard the advert.
        let reason = if priority == self.priority {
            DiscardReason::LowerAddress { priority }
        } else {
            DiscardReason::LowerPriority {
                priority,
                ours: self.priority,
            }
        };
        out.push(Action::Discarded {
            src: Some(src),
            reason,
        });
        // halab split-brain heal: VRRP shows us a lower master, so we are the winner here; a
        // claim of our VIPs is no longer likely to be a better router's.
        self.defer_claims = false;
        // keepalived (unless lower_prio_no_advert): answer at once, "forcing new election".
        if !self.config.lower_prio_no_advert {
            self.send_advert(now, out);
        }
        if self.config.garp_lower_prio {
            // keepalived (garp_lower_prio_repeat): refresh the clients' ARP caches each time.
            self.send_garp(now, out);
        } else if self.config.improvements.split_brain_heal {
            // halab split-brain heal: another router believes it is master.
            self.contention_garp(now, out);
        }
    }

    fn timer_fired(&mut self, now: Timestamp, timer: Timer, out: &mut Vec<Action>) {
        match self.timer {
            Some((armed, due)) if armed == timer && due > now => {
                // Fired early (clock rounding): keep the deadline we gave.
                out.push(Action::ArmTimer { timer, at: due });
            }
            Some((armed, due)) if armed == timer => {
                self.timer = None;
                match (self.state, timer) {
                    // RFC 5798 6.4.3: Adver_Timer fires => send an ADVERTISEMENT, reset it.
                    // From the deadline, not from when the driver got round to it, so lateness
                    // does not add up: the adverts keep the configured rate. A driver more
                    // than one interval behind skips ahead rather than sending a burst. (On
                    // the grid, `due` is a grid point, so both give the next one.)
                    (State::Master, Timer::Advert) => {
                        let next = due.plus_micros(self.advert_interval_us());
                        let base = if next > now { due } else { now };
                        self.send_advert(base, out);
                        // halab split-brain heal: a claim we could not answer at once.
                        if std::mem::take(&mut self.reclaim_pending) {
                            self.send_garp(now, out);
                        }
                    }
                    // keepalived vrrp_sync_can_goto_master: a sync group member asks its group
                    // and waits another Master_Down_Interval.
                    (State::Backup, Timer::MasterDown) if self.config.sync_group => {
                        self.held = true;
                        let at = self.master_down_at(now, self.master_down_us());
                        self.arm(Timer::MasterDown, at, out);
                        out.push(Action::WantMaster {
                            reason: self.takeover_reason,
                        });
                    }
                    // RFC 5798 6.4.2: Master_Down_Timer fires => become master.
                    (State::Backup, Timer::MasterDown) => {
                        self.become_master(now, self.takeover_reason, out)
                    }
                    _ => out.push(Action::Ignored {
                        reason: IgnoreReason::StaleTimer { timer },
                    }),
                }
            }
            _ => out.push(Action::Ignored {
                reason: IgnoreReason::StaleTimer { timer },
            }),
        }
    }

    /// halab split-brain heal: someone else announced one of our VIPs (ARP gets through where
    /// VRRP may not). A master re-claims it, at most once per advert interval, unless it took
    /// over from a master it followed: that one is the likelier winner and its claim stands,
    /// so two halabd masters never answer each other's claims. This is how a winner learns
    /// of a split brain whose loser will step down silently (keepalived does).
    fn vip_claimed(&mut self, now: Timestamp, address: IpAddr, out: &mut Vec<Action>) {
        let reason = if !self.config.improvements.split_brain_heal {
            IgnoreReason::HealOff
        } else if !self.config.vips.iter().any(|vip| vip.address == address) {
            IgnoreReason::NotOurVip { address }
        } else if self.state != State::Master {
            IgnoreReason::NotHolding { state: self.state }
        } else if self.defer_claims {
            IgnoreReason::Deferred
        } else {
            let interval = self.advert_interval_us();
            if self
                .last_garp
                .is_none_or(|last| now.micros_since(last) >= interval)
            {
                self.send_garp(now, out);
            } else {
                self.reclaim_pending = true;
            }
            return;
        };
        out.push(Action::Ignored { reason });
    }

    fn tracking_changed(&mut self, now: Timestamp, tracking: TrackStatus, out: &mut Vec<Action>) {
        self.tracking = tracking;
        let old = self.priority;
        let new = effective_priority(self.config.priority, tracking.weight);
        if new != old {
            out.push(Action::PriorityChanged { from: old, to: new });
            let old_skew = self.skew_us();
            self.priority = new;
            self.priority_effects(now, old, old_skew, out);
        }
        self.reevaluate(now, out);
    }

    /// What a new effective priority changes right away.
    fn priority_effects(&mut self, now: Timestamp, old: u8, old_skew: u64, out: &mut Vec<Action>) {
        // Going to FAULT anyway: reevaluate() does the rest.
        if self.faulty() {
            return;
        }
        match (self.state, self.timer) {
            // keepalived vrrp_set_effective_priority: a backup moves its deadline by the change
            // in Skew_Time (which depends on priority).
            (State::Backup, Some((Timer::MasterDown, due))) => {
                let new_skew = self.skew_us();
                let at = if new_skew >= old_skew {
                    due.plus_micros(new_skew - old_skew)
                } else {
                    Timestamp::from_micros(due.as_micros().saturating_sub(old_skew - new_skew))
                };
                self.arm(Timer::MasterDown, at.max(now), out);
            }
            // halab fast hand-off: tell the backups now rather than at the next advert.
            (State::Master, _) if self.config.improvements.fast_handoff && self.priority < old => {
                self.send_advert(now, out);
            }
            _ => {}
        }
    }
}
