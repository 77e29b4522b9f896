//! RFC 5798 6.4.3: the Master state.

mod common;

use common::*;
use halab_vrrp::{Action, DiscardReason, Input, Reason, State, Timer, Version};

#[test]
fn adver_timer_sends_an_advert() {
    // Input: Adver_Timer fires. Output: advert at our priority, Adver_Timer reset.
    let (mut instance, since) = master(config(100));
    let due = since.plus_micros(1_000_000);
    let actions = instance.handle(
        due,
        Input::TimerFired {
            timer: Timer::Advert,
        },
    );
    assert_eq!(
        actions,
        vec![
            Action::SendAdvert {
                advert: advert_v2(100)
            },
            Action::ArmTimer {
                timer: Timer::Advert,
                at: due.plus_micros(1_000_000)
            },
        ]
    );
}

#[test]
fn higher_priority_advert_makes_backup() {
    // Input: advert priority 150 (RFC behaviour). Output: Adver_Timer cancelled, VIPs removed,
    // Master_Down_Timer armed, Backup.
    let (mut instance, since) = master(config(100).rfc_strict());
    let now = since.plus_micros(300_000);
    let actions = instance.handle(now, received(LOWER, advert_v2(150)));
    assert_eq!(
        actions,
        vec![
            Action::CancelTimer {
                timer: Timer::Advert
            },
            Action::RemoveVips { vips: vec![vip()] },
            Action::ArmTimer {
                timer: Timer::MasterDown,
                at: now.plus_micros(3_609_375)
            },
            Action::StateChanged {
                from: State::Master,
                to: State::Backup,
                reason: Reason::HigherPriority {
                    src: LOWER.into(),
                    priority: 150
                },
            },
        ]
    );
    assert_eq!(instance.known_master(), Some(LOWER.into()));
}

#[test]
fn equal_priority_from_higher_address_makes_backup() {
    // Input: advert with our priority from a higher primary address. Output: Backup (tie-break).
    let (mut instance, since) = master(config(100).rfc_strict());
    let actions = instance.handle(since, received(HIGHER, advert_v2(100)));
    assert_eq!(
        transition(&actions),
        Some((
            State::Master,
            State::Backup,
            Reason::HigherPriority {
                src: HIGHER.into(),
                priority: 100
            }
        ))
    );
}

#[test]
fn equal_priority_from_lower_address_is_discarded() {
    // Input: advert with our priority from a lower primary address (RFC behaviour).
    // Output: discarded, still Master.
    let (mut instance, since) = master(config(100).rfc_strict());
    let actions = instance.handle(since, received(LOWER, advert_v2(100)));
    assert_eq!(
        actions,
        vec![Action::Discarded {
            src: Some(LOWER.into()),
            reason: DiscardReason::LowerAddress { priority: 100 }
        }]
    );
    assert_eq!(instance.state(), State::Master);
}

#[test]
fn lower_priority_advert_is_discarded() {
    // Input: advert priority 50 (RFC behaviour). Output: discarded only.
    let (mut instance, since) = master(config(100).rfc_strict());
    let actions = instance.handle(since, received(HIGHER, advert_v2(50)));
    assert_eq!(
        actions,
        vec![Action::Discarded {
            src: Some(HIGHER.into()),
            reason: DiscardReason::LowerPriority {
                priority: 50,
                ours: 100
            }
        }]
    );
}

#[test]
fn lower_priority_advert_forces_election_like_keepalived() {
    // Input: advert priority 50, keepalived defaults (improvements off). Output: discarded,
    // then our advert and gratuitous ARPs ("forcing new election", garp_lower_prio_repeat).
    let mut config = config(100);
    config.improvements = halab_vrrp::Improvements::none();
    let (mut instance, since) = master(config);
    let now = since.plus_micros(10);
    let actions = instance.handle(now, received(HIGHER, advert_v2(50)));
    assert_eq!(
        actions,
        vec![
            Action::Discarded {
                src: Some(HIGHER.into()),
                reason: DiscardReason::LowerPriority {
                    priority: 50,
                    ours: 100
                }
            },
            Action::SendAdvert {
                advert: advert_v2(100)
            },
            Action::ArmTimer {
                timer: Timer::Advert,
                at: now.plus_micros(1_000_000)
            },
            Action::SendGratuitousArp { vips: vec![vip()] },
        ]
    );
}

#[test]
fn priority_zero_gets_an_advert_back() {
    // Input: advert priority 0 (RFC behaviour). Output: advert, Adver_Timer reset.
    let (mut instance, since) = master(config(100).rfc_strict());
    let now = since.plus_micros(400_000);
    let actions = instance.handle(now, received(HIGHER, advert_v2(0)));
    assert_eq!(
        actions,
        vec![
            Action::SendAdvert {
                advert: advert_v2(100)
            },
            Action::ArmTimer {
                timer: Timer::Advert,
                at: now.plus_micros(1_000_000)
            },
        ]
    );
}

#[test]
fn shutdown_sends_priority_zero() {
    // Input: Shutdown in Master. Output: Adver_Timer cancelled, priority 0 advert, VIPs
    // removed, (halab split-brain heal) the VIP announced at whoever else holds it, Initialize.
    let (mut instance, since) = master(config(100));
    let actions = instance.handle(since, Input::Shutdown);
    assert_eq!(
        actions,
        vec![
            Action::CancelTimer {
                timer: Timer::Advert
            },
            Action::SendAdvert {
                advert: advert_v2(0)
            },
            Action::RemoveVips { vips: vec![vip()] },
            Action::AnnounceVipsAt {
                vips: vec![vip()],
                holder: VIP.into()
            },
            Action::StateChanged {
                from: State::Master,
                to: State::Initialize,
                reason: Reason::Shutdown
            },
        ]
    );
}

#[test]
fn v3_master_steps_down_with_the_new_masters_interval() {
    // Input: VRRPv3 master hears priority 150 at 200 cs. Output: Backup with
    // Master_Down_Interval = 6 s + (156 * 200 cs) / 256.
    let mut config = config(100).rfc_strict();
    config.version = Version::V3;
    let (mut instance, since) = master(config);
    let actions = instance.handle(since, received(HIGHER, advert_v3(150, 200)));
    assert_eq!(
        armed(&actions, Timer::MasterDown),
        Some(since.plus_micros(6_000_000 + 1_218_750))
    );
    assert_eq!(instance.master_adver_int_cs(), 200);
}

#[test]
fn interface_down_makes_master_resign() {
    // Input: InterfaceDown in Master. Output: priority 0 advert, VIPs removed, Fault
    // (keepalived vrrp_state_leave_master with FAULT), and (halab split-brain heal) the VIP
    // announced at whoever else holds it.
    let (mut instance, since) = master(config(100));
    let actions = instance.handle(since, Input::InterfaceDown);
    assert_eq!(
        actions,
        vec![
            Action::CancelTimer {
                timer: Timer::Advert
            },
            Action::SendAdvert {
                advert: advert_v2(0)
            },
            Action::RemoveVips { vips: vec![vip()] },
            Action::AnnounceVipsAt {
                vips: vec![vip()],
                holder: VIP.into()
            },
            Action::StateChanged {
                from: State::Master,
                to: State::Fault,
                reason: Reason::InterfaceDown
            },
        ]
    );
}

#[test]
fn a_late_adver_timer_keeps_the_configured_rate() {
    // Input: Adver_Timer handled 1.1 ms late, 100 times in a row. Output: each next deadline
    // is the previous deadline plus the interval, so the 100th advert is due exactly 100
    // intervals after the first (no drift from the driver's lateness).
    let (mut instance, since) = master(config(100));
    let interval = 1_000_000;
    let mut due = since.plus_micros(interval);
    for _ in 0..100 {
        let actions = instance.handle(
            due.plus_micros(1_100),
            Input::TimerFired {
                timer: Timer::Advert,
            },
        );
        assert_eq!(sent(&actions), vec![100]);
        let next = armed(&actions, Timer::Advert).expect("re-armed");
        assert_eq!(next, due.plus_micros(interval));
        due = next;
    }
    assert_eq!(due, since.plus_micros(101 * interval));
}

#[test]
fn an_adver_timer_late_by_more_than_an_interval_skips_ahead() {
    // Input: Adver_Timer handled 2.5 intervals late (a frozen host). Output: one advert, the
    // next one interval from now: no burst of catch-up adverts.
    let (mut instance, since) = master(config(100));
    let due = since.plus_micros(1_000_000);
    let now = due.plus_micros(2_500_000);
    let actions = instance.handle(
        now,
        Input::TimerFired {
            timer: Timer::Advert,
        },
    );
    assert_eq!(sent(&actions), vec![100]);
    assert_eq!(
        armed(&actions, Timer::Advert),
        Some(now.plus_micros(1_000_000))
    );
}
