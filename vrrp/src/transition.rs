//! The state changes of RFC 5798 6.4, and keepalived's FAULT state, as `Instance` methods.

use std::net::IpAddr;

use crate::instance::Instance;
use crate::io::{Action, IgnoreReason, Reason, State, Timer};
use crate::packet::{Advert, Version};
use crate::time::Timestamp;

impl Instance {
    /// Down interface or failed weight-0 tracker.
    pub(crate) fn faulty(&self) -> bool {
        !self.interface_up || self.tracking.fault
    }

    /// Moves in or out of FAULT (or out of INIT) after the interface or tracking changed.
    pub(crate) fn reevaluate(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if !self.started {
            return;
        }
        let reason = if self.interface_up {
            Reason::TrackingFault
        } else {
            Reason::InterfaceDown
        };
        match self.state {
            State::Backup | State::Master if self.faulty() => self.enter_fault(reason, out),
            State::Initialize if self.faulty() => self.enter_fault(reason, out),
            // keepalived: a weight-0 script that has not run yet holds the instance in INIT.
            State::Initialize if !self.tracking.pending => {
                self.initialize(now, Reason::Startup, out)
            }
            State::Fault if !self.faulty() && !self.tracking.pending => {
                self.initialize(now, Reason::Recovered, out)
            }
            _ => {}
        }
    }

    /// RFC 5798 6.4.1 (keepalived `vrrp_init_state`, and `vrrp_state_leave_fault` after a fault).
    pub(crate) fn initialize(&mut self, now: Timestamp, reason: Reason, out: &mut Vec<Action>) {
        self.master = None;
        self.preempt_at = None;
        self.held = false;
        self.master_adver_int_cs = u32::from(self.config.advert_interval_cs);
        let owner =
            self.config.priority == 255 && self.config.initial_state == crate::InitialState::Master;
        // RFC 5798 6.4.1: priority 255 => Master. keepalived 2.2.7 also wants `state MASTER`,
        // and makes the owner wait out vrrp_startup_delay too: it enters BACKUP with a
        // Master_Down_Timer of 1 µs (`vrrp_init_state`), which then counts from the delay's end.
        let delayed = self.startup_delay_until.is_some_and(|until| until > now);
        if owner && !self.config.sync_group && !delayed {
            return self.become_master(now, reason, out);
        }
        // RFC 5798 6.4.1: else Master_Adver_Interval = Advertisement_Interval,
        // Master_Down_Timer = Master_Down_Interval, transition to Backup. keepalived
        // vrrp_init_state: an owner held back by its sync group times out after one interval
        // plus Skew_Time instead.
        let from = self.state;
        self.state = State::Backup;
        self.takeover_reason = Reason::MasterDown;
        let wait = if owner && !self.config.sync_group {
            self.takeover_reason = reason;
            1
        } else if owner {
            self.advert_interval_us() + self.skew_us()
        } else {
            self.master_down_us()
        };
        let at = self.master_down_at(now, wait);
        self.arm(Timer::MasterDown, at, out);
        out.push(Action::StateChanged {
            from,
            to: State::Backup,
            reason,
        });
    }

    /// RFC 5798 6.4.2 "If the Master_Down_Timer fires" (and 6.4.1 for the owner).
    pub(crate) fn become_master(&mut self, now: Timestamp, reason: Reason, out: &mut Vec<Action>) {
        let from = self.state;
        self.cancel(out);
        self.state = State::Master;
        // halab split-brain heal: took over from a master we followed (its adverts stopped,
        // it resigned, or the sync group moved us): that master may still hold the VIPs
        // behind a cut, and wins when the cut heals. A preempting backup is the better one.
        self.defer_claims = self.master.is_some() && reason != Reason::Preempted;
        self.reclaim_pending = false;
        self.master = None;
        self.preempt_at = None;
        self.held = false;
        self.master_adver_int_cs = u32::from(self.config.advert_interval_cs);
        // RFC 5798 6.4.2: Send an ADVERTISEMENT, then (keepalived order) add the addresses,
        // broadcast a gratuitous ARP for each, set the Adver_Timer.
        self.send_advert(now, out);
        out.push(Action::AddVips {
            vips: self.config.vips.clone(),
        });
        self.send_garp(now, out);
        out.push(Action::StateChanged {
            from,
            to: State::Master,
            reason,
        });
    }

    /// RFC 5798 6.4.3: a better advert => Backup.
    pub(crate) fn step_down(
        &mut self,
        now: Timestamp,
        src: IpAddr,
        ttl: u8,
        advert: &Advert,
        out: &mut Vec<Action>,
    ) {
        // RFC 5798 6.4.3: Master_Adver_Interval from the advert (VRRPv3), then Skew_Time and
        // Master_Down_Interval recomputed from it when the timer is set.
        if self.config.version == Version::V3 {
            self.master_adver_int_cs = advert.interval_cs();
        }
        let reason = Reason::HigherPriority {
            src,
            priority: advert.priority(),
        };
        self.leave_master(now, Some(src), reason, out);
        // halab split-brain heal: clients that followed us go to the winner now, whether or
        // not it ever hears our last advert (the two directions of a cut heal apart, and
        // VRRP loss may eat that advert): each VIP is announced at whoever holds it, which is
        // the winner unless the advert was stale (the simulator found a three-way heal where
        // the advert's sender had stepped down already). Only for a winner on our link: TTL
        // 255 means no router in between (RFC 5798 5.1.1.3).
        if self.config.improvements.split_brain_heal && ttl == crate::ip::VRRP_TTL {
            self.announce_at_holders(out);
        }
    }

    /// keepalived `vrrp_sync_master` / `vrrp_sync_backup`: the group moves this member.
    pub(crate) fn sync_to(&mut self, now: Timestamp, to: State, out: &mut Vec<Action>) {
        match (self.state, to) {
            (from, to) if from == to => out.push(Action::Ignored {
                reason: IgnoreReason::AlreadyInState { state: from },
            }),
            // keepalived vrrp_state_goto_master: the same as a takeover. A member that wanted
            // MASTER keeps its own reason (its timer expired); the others follow the group.
            (State::Backup, State::Master) => {
                let reason = if self.held {
                    self.takeover_reason
                } else {
                    Reason::SyncGroup
                };
                self.become_master(now, reason, out);
            }
            (State::Master, State::Backup) => {
                self.leave_master(now, None, Reason::SyncGroup, out);
                // halab split-brain heal: nobody on this network told us who won; clients
                // that followed us go to whoever holds the VIP now, if anyone does.
                if self.config.improvements.split_brain_heal {
                    self.announce_at_holders(out);
                }
            }
            (from, to) => out.push(Action::Ignored {
                reason: IgnoreReason::NoSync { from, to },
            }),
        }
    }

    /// Master => Backup, for a better advert (`master` is its sender) or because the sync
    /// group steps down (keepalived `vrrp_state_leave_master(isync, false)` with `wantstate`
    /// BACKUP: nobody on this network told us who is master).
    fn leave_master(
        &mut self,
        now: Timestamp,
        master: Option<IpAddr>,
        reason: Reason,
        out: &mut Vec<Action>,
    ) {
        // RFC 5798 6.4.3: Cancel Adver_Timer.
        self.cancel(out);
        // halab split-brain heal: one last advert at our priority, so the winner learns there
        // was contention (a lower-priority master) and re-claims the VIPs with gratuitous ARPs
        // (clients may still point at us). Not priority 0: keepalived answers a lower priority
        // with gratuitous ARPs but priority 0 only with an advert, and other backups would arm
        // Skew_Time on a priority 0.
        if self.config.improvements.split_brain_heal {
            out.push(Action::SendAdvert {
                advert: self.template.with_priority(self.priority),
            });
        }
        // RFC 5798 6.4.2: a backup MUST NOT answer ARP for, or accept, the VIPs.
        out.push(Action::RemoveVips {
            vips: self.config.vips.clone(),
        });
        self.state = State::Backup;
        self.master = master;
        self.preempt_at = None;
        self.held = false;
        self.reclaim_pending = false;
        self.takeover_reason = Reason::MasterDown;
        // RFC 5798 6.4.3 / keepalived: Master_Down_Timer = 3 * Master_Adver_Interval + Skew_Time.
        let at = self.master_down_at(now, self.master_down_us());
        self.arm(Timer::MasterDown, at, out);
        out.push(Action::StateChanged {
            from: State::Master,
            to: State::Backup,
            reason,
        });
    }

    /// halab split-brain heal: a master that leaves by itself (shutdown, fault) may leave
    /// clients pointing at it while another router also holds the VIP behind a VRRP cut (it
    /// took them back with a re-claim, or the other deferred to it), and that router will not
    /// re-ARP: our priority 0 may never reach it. So each VIP is announced at whoever else
    /// still holds it; with nobody else holding it (the usual case) nothing is sent and the
    /// backup that takes over after Skew_Time announces itself.
    fn hand_clients_back(&self, out: &mut Vec<Action>) {
        if self.config.improvements.split_brain_heal {
            self.announce_at_holders(out);
        }
    }

    /// Each VIP announced at whoever else holds it (the driver asks; no answer, no frame).
    pub(crate) fn announce_at_holders(&self, out: &mut Vec<Action>) {
        for vip in &self.config.vips {
            out.push(Action::AnnounceVipsAt {
                vips: vec![*vip],
                holder: vip.address,
            });
        }
    }

    /// keepalived `down_instance`: FAULT is deaf and silent; a master resigns first.
    pub(crate) fn enter_fault(&mut self, reason: Reason, out: &mut Vec<Action>) {
        let from = self.state;
        self.cancel(out);
        if from == State::Master {
            // keepalived vrrp_state_leave_master(FAULT): send priority 0 so a backup takes over
            // after Skew_Time.
            out.push(Action::SendAdvert {
                advert: self.template.with_priority(0),
            });
            out.push(Action::RemoveVips {
                vips: self.config.vips.clone(),
            });
            self.hand_clients_back(out);
        }
        self.state = State::Fault;
        self.master = None;
        self.held = false;
        out.push(Action::StateChanged {
            from,
            to: State::Fault,
            reason,
        });
    }

    /// RFC 5798 6.4.2 / 6.4.3 "If a Shutdown event is received".
    pub(crate) fn shutdown(&mut self, out: &mut Vec<Action>) {
        if !self.started {
            return out.push(Action::Ignored {
                reason: IgnoreReason::NotStarted,
            });
        }
        self.started = false;
        let from = self.state;
        // RFC 5798 6.4.2: Cancel the Master_Down_Timer. 6.4.3: Cancel the Adver_Timer.
        self.cancel(out);
        if from == State::Master {
            // RFC 5798 6.4.3: Send an ADVERTISEMENT with Priority = 0.
            out.push(Action::SendAdvert {
                advert: self.template.with_priority(0),
            });
            out.push(Action::RemoveVips {
                vips: self.config.vips.clone(),
            });
            self.hand_clients_back(out);
        }
        self.state = State::Initialize;
        self.master = None;
        self.held = false;
        if from != State::Initialize {
            out.push(Action::StateChanged {
                from,
                to: State::Initialize,
                reason: Reason::Shutdown,
            });
        }
    }

    /// Sends our advert at the effective priority and resets the Adver_Timer.
    pub(crate) fn send_advert(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        out.push(Action::SendAdvert {
            advert: self.template.with_priority(self.priority),
        });
        let at = if self.config.improvements.aligned_adverts {
            let (step, offset) = self.advert_grid();
            now.next_on_grid(step, offset)
        } else {
            now.plus_micros(self.advert_interval_us())
        };
        self.arm(Timer::Advert, at, out);
    }

    pub(crate) fn send_garp(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        self.last_garp = Some(now);
        out.push(Action::SendGratuitousArp {
            vips: self.config.vips.clone(),
        });
    }

    /// halab split-brain heal: gratuitous ARPs on contention, at most once per interval, so a
    /// flood of stale adverts cannot turn into an ARP storm.
    pub(crate) fn contention_garp(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        let interval = self.advert_interval_us();
        if self
            .last_garp
            .is_none_or(|last| now.micros_since(last) >= interval)
        {
            self.send_garp(now, out);
        }
    }

    /// keepalived `vrrp_startup_delay`: remember when it ends; a backup already waiting moves
    /// its deadline as keepalived's next `vrrp_init_instance_sands` would.
    pub(crate) fn startup_delay(
        &mut self,
        now: Timestamp,
        until: Timestamp,
        out: &mut Vec<Action>,
    ) {
        if until <= now {
            return;
        }
        self.startup_delay_until = Some(until);
        if let (State::Backup, Some((Timer::MasterDown, due))) = (self.state, self.timer) {
            let at = until.plus_micros(due.micros_since(now));
            self.arm(Timer::MasterDown, at, out);
        }
    }

    /// When a Master_Down_Timer set at `now` to wait `wait_us` falls due: from now, or while
    /// keepalived's `vrrp_startup_delay` runs, from its end (keepalived 2.2.7
    /// `vrrp_init_instance_sands`: `sands = vrrp_delayed_start_time + ms_down_timer`). Not RFC
    /// 5798's: an option the operator sets, off by default.
    pub(crate) fn master_down_at(&mut self, now: Timestamp, wait_us: u64) -> Timestamp {
        match self.startup_delay_until {
            Some(until) if until > now => until.plus_micros(wait_us),
            Some(_) => {
                self.startup_delay_until = None;
                now.plus_micros(wait_us)
            }
            None => now.plus_micros(wait_us),
        }
    }

    /// Arms `timer` (the only one armed from now on).
    pub(crate) fn arm(&mut self, timer: Timer, at: Timestamp, out: &mut Vec<Action>) {
        if let Some((other, _)) = self.timer
            && other != timer
        {
            out.push(Action::CancelTimer { timer: other });
        }
        self.timer = Some((timer, at));
        out.push(Action::ArmTimer { timer, at });
    }

    /// Disarms whatever timer is armed.
    pub(crate) fn cancel(&mut self, out: &mut Vec<Action>) {
        if let Some((timer, _)) = self.timer.take() {
            out.push(Action::CancelTimer { timer });
        }
    }
}
