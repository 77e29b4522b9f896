//! keepalived's `vrrp_startup_delay` (keepalived 2.2.7 `vrrp_init_instance_sands`): while it
//! runs, a backup's Master_Down_Timer counts from the delay's end; adverts are still heard.

mod common;

use common::*;
use halab_vrrp::{InitialState, Input, Reason, State, Timer, Timestamp};

fn delayed(config: halab_vrrp::InstanceConfig, until_ms: u64) -> halab_vrrp::Instance {
    let mut instance = instance(config);
    let actions = instance.handle(
        Timestamp::ZERO,
        Input::StartupDelay {
            until: at_ms(until_ms),
        },
    );
    assert!(actions.is_empty(), "{actions:?}");
    instance
}

#[test]
fn backup_waits_delay_plus_master_down_interval() {
    // Input: StartupDelay until 5 s, Startup at 0, priority 100. Output: Backup with
    // Master_Down_Timer at 5 s + 3 s + (256-100)/256 s, not at 3.609375 s.
    let mut instance = delayed(config(100), 5_000);
    let actions = instance.handle(Timestamp::ZERO, Input::Startup);
    assert_eq!(armed(&actions, Timer::MasterDown), Some(at_us(8_609_375)));
    assert_eq!(instance.state(), State::Backup);
    // Fired at the old deadline (a stale timer), nothing happens.
    let actions = instance.handle(
        at_us(3_609_375),
        Input::TimerFired {
            timer: Timer::MasterDown,
        },
    );
    assert_eq!(armed(&actions, Timer::MasterDown), Some(at_us(8_609_375)));
    assert_eq!(instance.state(), State::Backup);
    // After the delay and Master_Down_Interval with no master: takes over.
    let actions = instance.handle(
        at_us(8_609_375),
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
fn adverts_heard_during_the_delay_count_from_its_end() {
    // Input: advert priority 150 at 1 s, inside a delay until 5 s. Output: accepted (the
    // master is known) and Master_Down_Timer = 5 s + 3.609375 s (keepalived re-computes the
    // sands from vrrp_delayed_start_time after every advert read).
    let mut instance = delayed(config(100), 5_000);
    instance.handle(Timestamp::ZERO, Input::Startup);
    let actions = instance.handle(at_ms(1_000), received(HIGHER, advert_v2(150)));
    assert_eq!(armed(&actions, Timer::MasterDown), Some(at_us(8_609_375)));
    assert_eq!(instance.known_master(), Some(HIGHER.into()));
    // Priority 0 during the delay: Skew_Time from the delay's end.
    let actions = instance.handle(at_ms(2_000), received(HIGHER, advert_v2(0)));
    assert_eq!(armed(&actions, Timer::MasterDown), Some(at_us(5_609_375)));
}

#[test]
fn after_the_delay_timers_count_from_now() {
    // Input: advert at 6 s, after a delay that ended at 5 s. Output: 6 s + 3.609375 s.
    let mut instance = delayed(config(100), 5_000);
    instance.handle(Timestamp::ZERO, Input::Startup);
    let actions = instance.handle(at_ms(6_000), received(HIGHER, advert_v2(150)));
    assert_eq!(armed(&actions, Timer::MasterDown), Some(at_us(9_609_375)));
}

#[test]
fn owner_waits_for_the_delay_too() {
    // Input: priority 255, state MASTER, delay until 2 s. Output: Backup (keepalived's
    // Master_Down_Timer of 1 µs from the delay's end), then Master at 2 s, reason Startup.
    let mut config = config(255);
    config.initial_state = InitialState::Master;
    let mut instance = delayed(config, 2_000);
    let actions = instance.handle(Timestamp::ZERO, Input::Startup);
    assert_eq!(
        transition(&actions),
        Some((State::Initialize, State::Backup, Reason::Startup))
    );
    assert_eq!(armed(&actions, Timer::MasterDown), Some(at_us(2_000_001)));
    let actions = instance.handle(
        at_us(2_000_001),
        Input::TimerFired {
            timer: Timer::MasterDown,
        },
    );
    assert_eq!(
        transition(&actions),
        Some((State::Backup, State::Master, Reason::Startup))
    );
}

#[test]
fn delay_given_to_a_waiting_backup_moves_its_deadline() {
    // Input: Startup at 0, then StartupDelay until 5 s at 1 s. Output: the remaining 2.609375 s
    // of Master_Down_Timer count from 5 s.
    let mut instance = backup(config(100));
    let actions = instance.handle(
        at_ms(1_000),
        Input::StartupDelay {
            until: at_ms(5_000),
        },
    );
    assert_eq!(armed(&actions, Timer::MasterDown), Some(at_us(7_609_375)));
}

#[test]
fn a_delay_in_the_past_changes_nothing() {
    // Input: StartupDelay until 1 s given at 2 s. Output: nothing; Startup as usual.
    let mut instance = instance(config(100));
    let actions = instance.handle(
        at_ms(2_000),
        Input::StartupDelay {
            until: at_ms(1_000),
        },
    );
    assert!(actions.is_empty());
    let actions = instance.handle(at_ms(2_000), Input::Startup);
    assert_eq!(armed(&actions, Timer::MasterDown), Some(at_us(5_609_375)));
}
