//! RFC 5798 6.4.2: the Backup state.

mod common;

use common::*;
use halab_vrrp::{Action, DiscardReason, IgnoreReason, Input, Reason, State, Timer, Version};

#[test]
fn master_down_timer_makes_master() {
    // Input: Master_Down_Timer fires. Output: advert, Adver_Timer, VIPs, gratuitous ARP,
    // Master.
    let mut instance = backup(config(100));
    let actions = instance.handle(
        at_us(3_609_375),
        Input::TimerFired {
            timer: Timer::MasterDown,
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
                at: at_us(4_609_375)
            },
            Action::AddVips { vips: vec![vip()] },
            Action::SendGratuitousArp { vips: vec![vip()] },
            Action::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: Reason::MasterDown
            },
        ]
    );
}

#[test]
fn higher_priority_advert_resets_master_down_timer() {
    // Input: advert priority 150 at 1 s. Output: Master_Down_Timer = 1 s + 3 s + skew.
    let mut instance = backup(config(100));
    let actions = instance.handle(at_ms(1_000), received(HIGHER, advert_v2(150)));
    assert_eq!(
        actions,
        vec![Action::ArmTimer {
            timer: Timer::MasterDown,
            at: at_us(4_609_375)
        }]
    );
    assert_eq!(instance.known_master(), Some(HIGHER.into()));
}

#[test]
fn equal_priority_advert_resets_master_down_timer() {
    // Input: advert with our priority, from a lower address. Output: timer reset (">= local").
    let mut instance = backup(config(100));
    let actions = instance.handle(at_ms(2_000), received(LOWER, advert_v2(100)));
    assert_eq!(armed(&actions, Timer::MasterDown), Some(at_us(5_609_375)));
}

#[test]
fn priority_zero_sets_timer_to_skew_time() {
    // Input: advert priority 0 at 2 s, then the timer. Output: Master_Down_Timer = 2 s + skew,
    // then Master because the master resigned.
    let mut instance = backup(config(100));
    instance.handle(at_ms(1_000), received(HIGHER, advert_v2(150)));
    let actions = instance.handle(at_ms(2_000), received(HIGHER, advert_v2(0)));
    assert_eq!(
        actions,
        vec![Action::ArmTimer {
            timer: Timer::MasterDown,
            at: at_us(2_609_375)
        }]
    );
    let actions = instance.handle(
        at_us(2_609_375),
        Input::TimerFired {
            timer: Timer::MasterDown,
        },
    );
    assert_eq!(
        transition(&actions),
        Some((State::Backup, State::Master, Reason::MasterResigned))
    );
}

#[test]
fn lower_priority_advert_is_discarded_when_preempting() {
    // Input: advert priority 50 (RFC behaviour). Output: discarded, timer untouched; Master
    // when the original timer runs out.
    let mut instance = backup(config(100).rfc_strict());
    let actions = instance.handle(at_ms(1_000), received(HIGHER, advert_v2(50)));
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
    assert_eq!(
        instance.armed_timer(),
        Some((Timer::MasterDown, at_us(3_609_375)))
    );
    let actions = instance.handle(
        at_us(3_609_375),
        Input::TimerFired {
            timer: Timer::MasterDown,
        },
    );
    assert_eq!(
        transition(&actions),
        Some((State::Backup, State::Master, Reason::MasterDown))
    );
}

#[test]
fn lower_priority_advert_is_accepted_without_preempt() {
    // Input: nopreempt, advert priority 50. Output: timer reset (Preempt_Mode False).
    let mut config = config(100);
    config.preempt = false;
    let mut instance = backup(config);
    let actions = instance.handle(at_ms(1_000), received(HIGHER, advert_v2(50)));
    assert_eq!(
        actions,
        vec![Action::ArmTimer {
            timer: Timer::MasterDown,
            at: at_us(4_609_375)
        }]
    );
}

#[test]
fn shutdown_cancels_master_down_timer() {
    // Input: Shutdown in Backup. Output: Master_Down_Timer cancelled, Initialize.
    let mut instance = backup(config(100));
    let actions = instance.handle(at_ms(1), Input::Shutdown);
    assert_eq!(
        actions,
        vec![
            Action::CancelTimer {
                timer: Timer::MasterDown
            },
            Action::StateChanged {
                from: State::Backup,
                to: State::Initialize,
                reason: Reason::Shutdown
            },
        ]
    );
}

#[test]
fn v3_backup_learns_master_adver_interval() {
    // Input: VRRPv3 advert priority 150 with 50 cs. Output: Master_Adver_Interval = 50 cs,
    // Master_Down_Interval = 3 * 0.5 s + (156 * 50 cs) / 256 = 1.5 s + 304687 us.
    let mut config = config(100);
    config.version = Version::V3;
    let mut instance = backup(config);
    let actions = instance.handle(at_ms(1_000), received(HIGHER, advert_v3(150, 50)));
    assert_eq!(
        actions,
        vec![Action::ArmTimer {
            timer: Timer::MasterDown,
            at: at_us(1_000_000 + 1_804_687)
        }]
    );
    assert_eq!(instance.master_adver_int_cs(), 50);
    // Skew_Time after priority 0 uses the learned interval too.
    let actions = instance.handle(at_ms(1_500), received(HIGHER, advert_v3(0, 50)));
    assert_eq!(
        armed(&actions, Timer::MasterDown),
        Some(at_us(1_500_000 + 304_687))
    );
}

#[test]
fn v3_master_forgets_learned_interval() {
    // Input: learned 50 cs, then Master_Down_Timer. Output: adverts every 100 cs, our own.
    let mut config = config(100);
    config.version = Version::V3;
    let mut instance = backup(config);
    instance.handle(at_ms(1_000), received(HIGHER, advert_v3(150, 50)));
    let actions = instance.handle(
        at_us(2_804_687),
        Input::TimerFired {
            timer: Timer::MasterDown,
        },
    );
    assert_eq!(armed(&actions, Timer::Advert), Some(at_us(3_804_687)));
    assert_eq!(sent(&actions), vec![100]);
    assert_eq!(instance.master_adver_int_cs(), 100);
}

#[test]
fn preempt_delay_holds_back_preemption() {
    // Input: preempt_delay 2 s, lower-priority adverts every second from 1 s. Output: accepted
    // while the delay (started at 1 s) runs, discarded from 3 s; with the RFC behaviour, Master
    // once the timer set at 2 s runs out.
    let mut config = config(150).rfc_strict();
    config.preempt_delay_ms = 2_000;
    let mut instance = backup(config);
    for second in 1..=2u64 {
        let actions = instance.handle(at_ms(second * 1_000), received(LOWER, advert_v2(100)));
        assert_eq!(
            armed(&actions, Timer::MasterDown),
            Some(at_us(second * 1_000_000 + 3_414_062)),
            "{second}"
        );
    }
    let actions = instance.handle(at_ms(3_000), received(LOWER, advert_v2(100)));
    assert!(matches!(
        discarded(&actions),
        Some(DiscardReason::LowerPriority { .. })
    ));
    assert_eq!(
        instance.armed_timer(),
        Some((Timer::MasterDown, at_us(5_414_062)))
    );
    let actions = instance.handle(
        at_us(5_414_062),
        Input::TimerFired {
            timer: Timer::MasterDown,
        },
    );
    assert_eq!(
        transition(&actions),
        Some((State::Backup, State::Master, Reason::MasterDown))
    );
}

#[test]
fn better_advert_stops_preempt_delay() {
    // Input: delay started by a lower advert, then an advert as good as ours, then lower
    // adverts. Output: the delay starts again from the next lower advert.
    let mut config = config(150).rfc_strict();
    config.preempt_delay_ms = 2_000;
    let mut instance = backup(config);
    instance.handle(at_ms(1_000), received(LOWER, advert_v2(100)));
    instance.handle(at_ms(2_000), received(LOWER, advert_v2(200)));
    // 3.5 s would be past the first delay (1 s + 2 s), but the delay restarted at 3 s.
    instance.handle(at_ms(3_000), received(LOWER, advert_v2(100)));
    let actions = instance.handle(at_ms(4_500), received(LOWER, advert_v2(100)));
    assert_eq!(discarded(&actions), None);
    let actions = instance.handle(at_ms(5_500), received(LOWER, advert_v2(100)));
    assert!(discarded(&actions).is_some());
}

#[test]
fn stale_and_early_timers() {
    // Input: an Adver_Timer fire in Backup; a Master_Down_Timer fire 1 ms early.
    // Output: ignored; the same deadline re-armed.
    let mut instance = backup(config(100));
    assert_eq!(
        instance.handle(
            at_ms(100),
            Input::TimerFired {
                timer: Timer::Advert
            }
        ),
        vec![Action::Ignored {
            reason: IgnoreReason::StaleTimer {
                timer: Timer::Advert
            }
        }]
    );
    let actions = instance.handle(
        at_us(3_608_375),
        Input::TimerFired {
            timer: Timer::MasterDown,
        },
    );
    assert_eq!(
        actions,
        vec![Action::ArmTimer {
            timer: Timer::MasterDown,
            at: at_us(3_609_375)
        }]
    );
    assert_eq!(instance.state(), State::Backup);
}

#[test]
fn fault_ignores_adverts() {
    // Input: InterfaceDown, then an advert. Output: Fault, advert ignored.
    let mut instance = backup(config(100));
    let actions = instance.handle(at_ms(1), Input::InterfaceDown);
    assert_eq!(
        actions,
        vec![
            Action::CancelTimer {
                timer: Timer::MasterDown
            },
            Action::StateChanged {
                from: State::Backup,
                to: State::Fault,
                reason: Reason::InterfaceDown
            },
        ]
    );
    let actions = instance.handle(at_ms(2), received(HIGHER, advert_v2(150)));
    assert_eq!(
        actions,
        vec![Action::Ignored {
            reason: IgnoreReason::NotListening {
                state: State::Fault
            }
        }]
    );
}
