//! keepalived's `vrrp_sync_group` (2.2.7, `vrrp_sync.c`): a member whose Master_Down_Timer
//! expires only wants MASTER (`vrrp_sync_can_goto_master`); the driver moves the whole group
//! with `Input::SyncTo` (`vrrp_sync_master`, `vrrp_sync_backup`).

mod common;

use common::*;
use halab_vrrp::sync_group;
use halab_vrrp::{
    Action, IgnoreReason, InitialState, Input, Instance, InstanceConfig, Reason, State, Timer,
    Timestamp,
};

fn member(priority: u8) -> InstanceConfig {
    let mut config = config(priority);
    config.sync_group = true;
    config
}

const MASTER_DOWN_100: u64 = 3_609_375;

fn fire(instance: &mut Instance, at: Timestamp) -> Vec<Action> {
    instance.handle(
        at,
        Input::TimerFired {
            timer: Timer::MasterDown,
        },
    )
}

fn sync_to(state: State) -> Input {
    Input::SyncTo { state }
}

/// A group member whose Master_Down_Timer fired: Backup, wanting MASTER.
fn held(config: InstanceConfig) -> (Instance, Timestamp) {
    let mut instance = backup(config);
    let (_, due) = instance.armed_timer().expect("master down armed");
    fire(&mut instance, due);
    assert!(instance.wants_master());
    (instance, due)
}

/// A group member made master by its group.
fn group_master(config: InstanceConfig) -> (Instance, Timestamp) {
    let (mut instance, due) = held(config);
    instance.handle(due, sync_to(State::Master));
    assert_eq!(instance.state(), State::Master);
    (instance, due)
}

#[test]
fn an_expired_master_down_timer_only_wants_master() {
    // Input: a sync group member's Master_Down_Timer fires. Output: still Backup, the timer
    // re-armed for Master_Down_Interval, `WantMaster` for the driver (keepalived
    // vrrp_sync_can_goto_master); no advert, no VIP.
    let mut instance = backup(member(100));
    let due = at_us(MASTER_DOWN_100);
    assert!(!instance.wants_master());
    let actions = fire(&mut instance, due);
    assert_eq!(
        actions,
        vec![
            Action::ArmTimer {
                timer: Timer::MasterDown,
                at: due.plus_micros(MASTER_DOWN_100)
            },
            Action::WantMaster {
                reason: Reason::MasterDown
            },
        ]
    );
    assert_eq!(instance.state(), State::Backup);
    assert!(instance.wants_master());
    // Still nobody: it asks again one Master_Down_Interval later.
    let again = fire(&mut instance, due.plus_micros(MASTER_DOWN_100));
    assert_eq!(
        again.last(),
        Some(&Action::WantMaster {
            reason: Reason::MasterDown
        })
    );
}

#[test]
fn forced_master_does_what_a_takeover_does() {
    // Input: SyncTo MASTER to a member that wants it. Output: the re-armed Master_Down_Timer
    // cancelled, then exactly the actions of a standalone instance whose timer fires (advert, Adver_Timer, VIPs, ARPs,
    // state change with the member's own reason).
    let (mut instance, due) = held(member(100));
    let forced = instance.handle(due, sync_to(State::Master));

    let mut alone = backup(config(100));
    let natural = fire(&mut alone, due);
    // The member first cancels the Master_Down_Timer it re-armed while waiting.
    assert_eq!(forced.get(1..), Some(natural.as_slice()));
    assert_eq!(
        forced,
        vec![
            Action::CancelTimer {
                timer: Timer::MasterDown
            },
            Action::SendAdvert {
                advert: advert_v2(100)
            },
            Action::ArmTimer {
                timer: Timer::Advert,
                at: due.plus_micros(1_000_000)
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
    assert!(instance.wants_master());
}

#[test]
fn a_member_that_did_not_ask_follows_with_reason_sync_group() {
    // Input: SyncTo MASTER to a backup whose timer has not fired. Output: a takeover whose
    // reason is the group.
    let mut instance = backup(member(100));
    let actions = instance.handle(at_ms(500), sync_to(State::Master));
    assert_eq!(
        transition(&actions),
        Some((State::Backup, State::Master, Reason::SyncGroup))
    );
    assert_eq!(sent(&actions), [100]);
    assert_eq!(garps(&actions), 1);
    assert_eq!(
        armed(&actions, Timer::Advert),
        Some(at_ms(500).plus_micros(1_000_000))
    );
}

#[test]
fn forced_backup_does_what_stepping_down_does() {
    // Input: SyncTo BACKUP to a master (keepalived defaults plus halab's split-brain heal).
    // Output: Adver_Timer cancelled, one last advert at our priority, VIPs removed,
    // Master_Down_Timer armed for Master_Down_Interval, Backup because of the group; no
    // priority 0 (vrrp_state_leave_master(isync, false)); the VIP announced at whoever holds
    // it on this network (nobody told us who won here).
    let (mut instance, since) = group_master(member(100));
    let now = since.plus_micros(300_000);
    let actions = instance.handle(now, sync_to(State::Backup));
    assert_eq!(
        actions,
        vec![
            Action::CancelTimer {
                timer: Timer::Advert
            },
            Action::SendAdvert {
                advert: advert_v2(100)
            },
            Action::RemoveVips { vips: vec![vip()] },
            Action::ArmTimer {
                timer: Timer::MasterDown,
                at: now.plus_micros(MASTER_DOWN_100)
            },
            Action::StateChanged {
                from: State::Master,
                to: State::Backup,
                reason: Reason::SyncGroup
            },
            Action::AnnounceVipsAt {
                vips: vec![vip()],
                holder: VIP.into()
            },
        ]
    );
    assert_eq!(instance.state(), State::Backup);
    assert!(!instance.wants_master());
    assert_eq!(instance.known_master(), None);
}

#[test]
fn forced_backup_matches_keepalived_without_halab_improvements() {
    // Input: SyncTo BACKUP to a master with keepalived's defaults only. Output: the actions of
    // a higher-priority advert making it step down (RFC 5798 6.4.3), reason aside.
    let mut config = member(100);
    config.improvements = halab_vrrp::Improvements::none();
    let (mut instance, since) = group_master(config.clone());
    let forced = instance.handle(since, sync_to(State::Backup));

    config.sync_group = false;
    let (mut alone, alone_since) = master(config);
    assert_eq!(alone_since, at_us(MASTER_DOWN_100));
    let mut natural = alone.handle(since, received(HIGHER, advert_v2(150)));
    for action in &mut natural {
        if let Action::StateChanged { reason, .. } = action {
            *reason = Reason::SyncGroup;
        }
    }
    assert_eq!(forced, natural);
    assert!(sent(&forced).is_empty(), "no priority 0, no last advert");
}

#[test]
fn forcing_the_current_state_changes_nothing() {
    // Input: SyncTo BACKUP to a backup, SyncTo MASTER to a master. Output: Ignored, and the
    // armed timer, state and wish are unchanged.
    let (mut instance, due) = held(member(100));
    let timer = instance.armed_timer();
    assert_eq!(
        instance.handle(due, sync_to(State::Backup)),
        vec![Action::Ignored {
            reason: IgnoreReason::AlreadyInState {
                state: State::Backup
            }
        }]
    );
    assert_eq!(instance.armed_timer(), timer);
    // keepalived vrrp_sync_backup skips members already in BACKUP: the wish stays.
    assert!(instance.wants_master());

    let (mut instance, since) = group_master(member(100));
    let timer = instance.armed_timer();
    assert_eq!(
        instance.handle(since, sync_to(State::Master)),
        vec![Action::Ignored {
            reason: IgnoreReason::AlreadyInState {
                state: State::Master
            }
        }]
    );
    assert_eq!(instance.armed_timer(), timer);
    assert_eq!(instance.state(), State::Master);
}

#[test]
fn fault_and_initialize_are_not_synced() {
    // Input: SyncTo to a stopped instance, to one in FAULT, and SyncTo FAULT. Output: Ignored
    // (FAULT is shared through tracking, not through SyncTo).
    let mut stopped = instance(member(100));
    assert_eq!(
        stopped.handle(Timestamp::ZERO, sync_to(State::Master)),
        vec![Action::Ignored {
            reason: IgnoreReason::NoSync {
                from: State::Initialize,
                to: State::Master
            }
        }]
    );
    let mut faulty = backup(member(100));
    faulty.handle(at_ms(1), Input::InterfaceDown);
    assert_eq!(faulty.state(), State::Fault);
    assert_eq!(
        faulty.handle(at_ms(2), sync_to(State::Master)),
        vec![Action::Ignored {
            reason: IgnoreReason::NoSync {
                from: State::Fault,
                to: State::Master
            }
        }]
    );
    let mut running = backup(member(100));
    assert_eq!(
        running.handle(at_ms(2), sync_to(State::Fault)),
        vec![Action::Ignored {
            reason: IgnoreReason::NoSync {
                from: State::Backup,
                to: State::Fault
            }
        }]
    );
    assert_eq!(running.state(), State::Backup);
}

#[test]
fn an_accepted_advert_makes_a_held_member_want_backup_again() {
    // Input: a held member receives an advert it accepts (from a better master). Output: it
    // no longer wants MASTER (keepalived vrrp_state_backup sets wantstate BACKUP).
    let (mut instance, due) = held(member(100));
    instance.handle(due.plus_micros(1), received(HIGHER, advert_v2(150)));
    assert!(!instance.wants_master());
    assert_eq!(instance.known_master(), Some(HIGHER.into()));
}

#[test]
fn a_discarded_lower_priority_advert_keeps_the_wish() {
    // Input: a held, preempting member receives a lower-priority advert. Output: discarded,
    // and it still wants MASTER (keepalived only resets wantstate on an accepted advert).
    let (mut instance, due) = held(member(100));
    let actions = instance.handle(due.plus_micros(1), received(LOWER, advert_v2(50)));
    assert!(discarded(&actions).is_some());
    assert!(instance.wants_master());
}

#[test]
fn priority_zero_then_skew_time_wants_master_as_resigned() {
    // Input: the master resigns (priority 0); Skew_Time later the timer fires; the group
    // agrees. Output: WantMaster for MasterResigned, then a takeover with that reason.
    let mut instance = backup(member(100));
    instance.handle(at_ms(100), received(HIGHER, advert_v2(150)));
    let zero = instance.handle(at_ms(200), received(HIGHER, advert_v2(0)));
    let due = armed(&zero, Timer::MasterDown).expect("skew armed");
    assert_eq!(due, at_ms(200).plus_micros(609_375));
    let actions = fire(&mut instance, due);
    assert_eq!(
        actions.last(),
        Some(&Action::WantMaster {
            reason: Reason::MasterResigned
        })
    );
    assert_eq!(instance.state(), State::Backup);
    let actions = instance.handle(due, sync_to(State::Master));
    assert_eq!(
        transition(&actions),
        Some((State::Backup, State::Master, Reason::MasterResigned))
    );
}

#[test]
fn an_owner_in_a_group_starts_as_backup_and_asks_after_one_interval() {
    // Input: priority 255, `state MASTER`, in a sync group; Startup. Output: Backup with
    // Master_Down_Timer at one interval plus Skew_Time (keepalived vrrp_init_state), then
    // WantMaster; without the group it would be master at once.
    let mut config = member(255);
    config.initial_state = InitialState::Master;
    let mut instance = instance(config);
    let actions = instance.handle(Timestamp::ZERO, Input::Startup);
    assert_eq!(
        transition(&actions),
        Some((State::Initialize, State::Backup, Reason::Startup))
    );
    let due = armed(&actions, Timer::MasterDown).expect("armed");
    assert_eq!(due, at_us(1_000_000 + 3_906));
    assert_eq!(
        fire(&mut instance, due).last(),
        Some(&Action::WantMaster {
            reason: Reason::MasterDown
        })
    );
}

#[test]
fn sync_inputs_and_actions_are_json() {
    // Input: the new input and action as JSON lines. Output: keepalived-free, stable names.
    let input: Input =
        serde_json::from_str(r#"{"type":"sync_to","state":"master"}"#).expect("sync_to parses");
    assert_eq!(input, sync_to(State::Master));
    let action = Action::WantMaster {
        reason: Reason::MasterDown,
    };
    assert_eq!(
        serde_json::to_string(&action).expect("json"),
        r#"{"type":"want_master","reason":"master_down"}"#
    );
    let changed = Action::StateChanged {
        from: State::Master,
        to: State::Backup,
        reason: Reason::SyncGroup,
    };
    let text = serde_json::to_string(&changed).expect("json");
    assert!(text.contains(r#""reason":"sync_group""#), "{text}");
    // A configuration recorded before sync groups existed still loads.
    let old: InstanceConfig = serde_json::from_str(
        r#"{"vrid":10,"vips":["192.168.0.130/24"],"primary_address":"192.168.0.11"}"#,
    )
    .expect("old config");
    assert!(!old.sync_group);
}

// ---- the group policy (`sync_group::moves`): what one member's actions do to the others ----

fn m(state: State, wants_master: bool) -> sync_group::Member {
    sync_group::Member {
        state,
        wants_master,
    }
}

const WANT: Action = Action::WantMaster {
    reason: Reason::MasterDown,
};

#[test]
fn want_master_moves_the_group_once_everyone_wants_it() {
    // Input: member 1 reports WantMaster; the others are Backup and want MASTER too.
    // Output: member 1 goes first, then every other member is forced to MASTER.
    let members = [
        m(State::Backup, true),
        m(State::Backup, true),
        m(State::Backup, true),
    ];
    let moves = sync_group::moves(1, &members, &[WANT]);
    assert_eq!(
        moves.inputs,
        vec![
            (1, sync_to(State::Master)),
            (0, sync_to(State::Master)),
            (2, sync_to(State::Master)),
        ]
    );
    assert!(moves.held_back_by.is_empty());
}

#[test]
fn want_master_waits_for_a_member_that_still_hears_its_master() {
    // Input: member 0 reports WantMaster; member 2 still hears a master. Output: nobody
    // moves (keepalived prefers backup "to avoid thrashing"); member 2 is named as the reason.
    let members = [
        m(State::Backup, true),
        m(State::Backup, true),
        m(State::Backup, false),
    ];
    let moves = sync_group::moves(0, &members, &[WANT]);
    assert!(moves.inputs.is_empty());
    assert_eq!(moves.held_back_by, vec![2]);
}

#[test]
fn a_member_alone_in_its_group_takes_over_when_it_wants() {
    // Input: the only running member reports WantMaster. Output: it goes to MASTER.
    let moves = sync_group::moves(0, &[m(State::Backup, true)], &[WANT]);
    assert_eq!(moves.inputs, vec![(0, sync_to(State::Master))]);
}

#[test]
fn a_member_becoming_master_by_itself_brings_the_others() {
    // Input: member 0 changed to MASTER on its own (an owner, a preempting backup). Output:
    // every other member not yet MASTER is forced there; one already MASTER is left alone.
    let members = [
        m(State::Master, false),
        m(State::Backup, false),
        m(State::Master, false),
        m(State::Fault, false),
    ];
    let actions = [Action::StateChanged {
        from: State::Backup,
        to: State::Master,
        reason: Reason::Preempted,
    }];
    let moves = sync_group::moves(0, &members, &actions);
    assert_eq!(
        moves.inputs,
        vec![(1, sync_to(State::Master)), (3, sync_to(State::Master))]
    );
}

#[test]
fn a_master_stepping_down_takes_only_the_masters_to_backup() {
    // Input: member 2 stepped down from MASTER (a better advert). Output: the other MASTERs
    // go to BACKUP; a member in FAULT stays there (vrrp_sync_backup).
    let members = [
        m(State::Master, false),
        m(State::Fault, false),
        m(State::Backup, false),
    ];
    let actions = [Action::StateChanged {
        from: State::Master,
        to: State::Backup,
        reason: Reason::HigherPriority {
            src: std::net::Ipv4Addr::new(192, 168, 0, 12).into(),
            priority: 200,
        },
    }];
    let moves = sync_group::moves(2, &members, &actions);
    assert_eq!(moves.inputs, vec![(0, sync_to(State::Backup))]);
}

#[test]
fn transitions_the_group_caused_do_not_move_it_again() {
    // Input: a member's StateChanged with reason SyncGroup, either way. Output: no moves.
    let members = [m(State::Master, false), m(State::Backup, false)];
    for (from, to) in [
        (State::Backup, State::Master),
        (State::Master, State::Backup),
    ] {
        let actions = [Action::StateChanged {
            from,
            to,
            reason: Reason::SyncGroup,
        }];
        assert_eq!(
            sync_group::moves(0, &members, &actions),
            sync_group::Moves::default()
        );
    }
}
