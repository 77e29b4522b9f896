//! keepalived's vrrp_script and track_interface semantics, and what the instance does with them.

mod common;

use common::*;
use halab_vrrp::track::{Script, ScriptState, effective_priority};
use halab_vrrp::{
    Action, Input, Reason, ScriptConfig, ScriptOutcome, State, Timer, TrackStatus, Tracker,
};

use ScriptOutcome::{Failure, Success, TimedOut};

fn script(rise: u32, fall: u32, weight: i32) -> ScriptConfig {
    ScriptConfig {
        rise,
        fall,
        weight,
        ..ScriptConfig::default()
    }
}

#[test]
fn script_starts_in_init_and_one_result_decides() {
    // Input: a fresh script (rise 3), one success. Output: Init, then OK at once (keepalived:
    // "one success is enough").
    let mut s = Script::new(script(3, 2, 10));
    assert_eq!(s.state(), ScriptState::Init);
    assert_eq!(s.record(Success), Some(ScriptState::Ok));
    // Input: a fresh script, one failure. Output: Failed at once.
    let mut s = Script::new(script(3, 2, 10));
    assert_eq!(s.record(Failure), Some(ScriptState::Failed));
}

#[test]
fn rise_and_fall_count_consecutive_results() {
    // Input: OK script with fall 2: failure, success, failure, failure. Output: stays OK until
    // the second consecutive failure. Then rise 3: three successes to be OK again.
    let mut s = Script::new(script(3, 2, 10));
    s.record(Success);
    assert_eq!(s.record(Failure), None);
    assert_eq!(s.record(Success), None);
    assert_eq!(s.record(Failure), None);
    assert_eq!(s.record(TimedOut), Some(ScriptState::Failed));
    assert_eq!(s.record(Success), None);
    assert_eq!(s.record(Success), None);
    assert_eq!(s.record(Failure), None, "a failure restarts the rise count");
    assert_eq!(s.record(Success), None);
    assert_eq!(s.record(Success), None);
    assert_eq!(s.record(Success), Some(ScriptState::Ok));
}

#[test]
fn init_fail_starts_failed() {
    // Input: init_fail, rise 2. Output: Failed; OK after two successes.
    let mut s = Script::new(ScriptConfig {
        init_fail: true,
        ..script(2, 1, -20)
    });
    assert_eq!(s.state(), ScriptState::Failed);
    assert_eq!(s.record(Success), None);
    assert_eq!(s.record(Success), Some(ScriptState::Ok));
}

#[test]
fn weights_follow_keepalived() {
    let mut tracker = Tracker::new();
    tracker.add_script("plus", script(1, 1, 10));
    tracker.add_script("minus", script(1, 1, -30));
    // Init: neither weight applies.
    assert_eq!(tracker.status(), TrackStatus::default());
    // Positive weight: added while OK.
    assert_eq!(
        tracker.script_result("plus", Success),
        Ok(Some(TrackStatus {
            weight: 10,
            ..TrackStatus::default()
        }))
    );
    // Negative weight: nothing while OK, subtracted while failed.
    assert_eq!(tracker.script_result("minus", Success), Ok(None));
    assert_eq!(
        tracker.script_result("minus", Failure),
        Ok(Some(TrackStatus {
            weight: -20,
            ..TrackStatus::default()
        }))
    );
    assert_eq!(
        tracker.script_result("plus", Failure),
        Ok(Some(TrackStatus {
            weight: -30,
            ..TrackStatus::default()
        }))
    );
    assert!(tracker.script_result("nope", Success).is_err());
}

#[test]
fn weight_zero_script_is_pending_then_fault() {
    let mut tracker = Tracker::new();
    tracker.add_script("chk", script(2, 2, 0));
    assert_eq!(
        tracker.status(),
        TrackStatus {
            weight: 0,
            fault: false,
            pending: true
        }
    );
    assert_eq!(
        tracker.script_result("chk", Success),
        Ok(Some(TrackStatus::default()))
    );
    assert_eq!(tracker.script_result("chk", Failure), Ok(None));
    assert_eq!(
        tracker.script_result("chk", Failure),
        Ok(Some(TrackStatus {
            weight: 0,
            fault: true,
            pending: false
        }))
    );
}

#[test]
fn tracked_interfaces() {
    let mut tracker = Tracker::new();
    tracker.add_interface("eth1", 0, true);
    tracker.add_interface("eth2", -50, true);
    tracker.add_interface("eth3", 5, true);
    assert_eq!(
        tracker.status(),
        TrackStatus {
            weight: 5,
            ..TrackStatus::default()
        }
    );
    assert_eq!(
        tracker.interface_changed("eth2", false),
        Ok(Some(TrackStatus {
            weight: -45,
            ..TrackStatus::default()
        }))
    );
    assert_eq!(
        tracker.interface_changed("eth1", false),
        Ok(Some(TrackStatus {
            weight: -45,
            fault: true,
            pending: false
        }))
    );
}

#[test]
fn effective_priority_is_clamped_and_owner_fixed() {
    assert_eq!(effective_priority(100, -20), 80);
    assert_eq!(effective_priority(100, -200), 1);
    assert_eq!(effective_priority(250, 50), 254);
    assert_eq!(effective_priority(255, -100), 255);
}

#[test]
fn priority_drop_on_master_is_advertised_at_once() {
    // Input: weight -20 on a priority-100 master. Output: PriorityChanged, an advert at 80 at
    // once (fast hand-off).
    let (mut instance, since) = master(config(100));
    let tracking = TrackStatus {
        weight: -20,
        ..TrackStatus::default()
    };
    let actions = instance.handle(since, Input::TrackingChanged { tracking });
    assert_eq!(
        actions,
        vec![
            Action::PriorityChanged { from: 100, to: 80 },
            Action::SendAdvert {
                advert: advert_v2(80)
            },
            Action::ArmTimer {
                timer: Timer::Advert,
                at: since.plus_micros(1_000_000)
            },
        ]
    );
    // Input: the same with RFC behaviour. Output: PriorityChanged only; the next advert says 80.
    let (mut instance, since) = master(config(100).rfc_strict());
    let actions = instance.handle(since, Input::TrackingChanged { tracking });
    assert_eq!(actions, vec![Action::PriorityChanged { from: 100, to: 80 }]);
    let actions = instance.handle(
        since.plus_micros(1_000_000),
        Input::TimerFired {
            timer: Timer::Advert,
        },
    );
    assert_eq!(sent(&actions), vec![80]);
}

#[test]
fn priority_change_moves_the_backup_deadline_by_the_skew() {
    // Input: weight +50 on a priority-100 backup. Output: deadline earlier by
    // skew(100) - skew(150) = 609375 - 414062 us.
    let mut instance = backup(config(100));
    let tracking = TrackStatus {
        weight: 50,
        ..TrackStatus::default()
    };
    let actions = instance.handle(at_ms(1), Input::TrackingChanged { tracking });
    assert_eq!(
        actions,
        vec![
            Action::PriorityChanged { from: 100, to: 150 },
            Action::ArmTimer {
                timer: Timer::MasterDown,
                at: at_us(3_414_062)
            },
        ]
    );
}

#[test]
fn weight_zero_failure_makes_fault_and_back() {
    // Input: tracking fault on a master. Output: priority 0 advert, VIPs removed, Fault.
    let (mut instance, since) = master(config(100));
    let fault = TrackStatus {
        weight: 0,
        fault: true,
        pending: false,
    };
    let actions = instance.handle(since, Input::TrackingChanged { tracking: fault });
    assert_eq!(sent(&actions), vec![0]);
    assert!(actions.contains(&Action::RemoveVips { vips: vec![vip()] }));
    assert_eq!(
        transition(&actions),
        Some((State::Master, State::Fault, Reason::TrackingFault))
    );
    // Input: recovery. Output: Backup with a fresh Master_Down_Timer.
    let now = since.plus_micros(5_000_000);
    let actions = instance.handle(
        now,
        Input::TrackingChanged {
            tracking: TrackStatus::default(),
        },
    );
    assert_eq!(
        actions,
        vec![
            Action::ArmTimer {
                timer: Timer::MasterDown,
                at: now.plus_micros(3_609_375)
            },
            Action::StateChanged {
                from: State::Fault,
                to: State::Backup,
                reason: Reason::Recovered
            },
        ]
    );
}

#[test]
fn pending_script_holds_the_instance_in_initialize() {
    // Input: a weight-0 script that has not run, Startup, then its first success.
    // Output: nothing (keepalived keeps the instance in INIT), then Backup.
    let mut instance = instance(config(100));
    let pending = TrackStatus {
        weight: 0,
        fault: false,
        pending: true,
    };
    assert!(
        instance
            .handle(at_ms(0), Input::TrackingChanged { tracking: pending })
            .is_empty()
    );
    assert!(instance.handle(at_ms(1), Input::Startup).is_empty());
    assert_eq!(instance.state(), State::Initialize);
    let actions = instance.handle(
        at_ms(500),
        Input::TrackingChanged {
            tracking: TrackStatus::default(),
        },
    );
    assert_eq!(
        transition(&actions),
        Some((State::Initialize, State::Backup, Reason::Startup))
    );
    // Input: a first failure instead. Output: Fault.
    let mut instance = common::instance(config(100));
    instance.handle(at_ms(0), Input::TrackingChanged { tracking: pending });
    instance.handle(at_ms(1), Input::Startup);
    let fault = TrackStatus {
        weight: 0,
        fault: true,
        pending: false,
    };
    let actions = instance.handle(at_ms(500), Input::TrackingChanged { tracking: fault });
    assert_eq!(
        transition(&actions),
        Some((State::Initialize, State::Fault, Reason::TrackingFault))
    );
}

#[test]
fn owner_priority_never_changes() {
    // Input: weight -100 on the address owner. Output: nothing.
    let mut config = config(255);
    config.initial_state = halab_vrrp::InitialState::Master;
    let mut instance = instance(config);
    instance.handle(at_ms(0), Input::Startup);
    let tracking = TrackStatus {
        weight: -100,
        ..TrackStatus::default()
    };
    assert!(
        instance
            .handle(at_ms(1), Input::TrackingChanged { tracking })
            .is_empty()
    );
    assert_eq!(instance.priority(), 255);
}
