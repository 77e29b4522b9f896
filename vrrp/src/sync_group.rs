//! keepalived's `vrrp_sync_group` policy (2.2.7, `vrrp_sync.c`): what one member's actions
//! mean for the others. The driver calls [`moves`] with the actions a member's core returned
//! and feeds each resulting [`Input::SyncTo`] to its member, without looking at the group
//! again for those (transitions caused by `SyncTo` cannot move the group).

use crate::io::{Action, Input, Reason, State};

/// What the policy needs to know about one member of the group, before the actions are
/// carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// The member's current state.
    pub state: State,
    /// Its Master_Down_Timer expired and it waits for the group ([`crate::Instance::wants_master`]).
    pub wants_master: bool,
}

/// The group's answer to one member's actions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moves {
    /// `(member index, input)` in the order to feed them (the mover's own first).
    pub inputs: Vec<(usize, Input)>,
    /// Members that do not want MASTER yet, holding back a member that does (to log).
    pub held_back_by: Vec<usize>,
}

/// The moves for the group `members` after member `mover` returned `actions`. Indices are
/// positions in `members`; members that are not running are left out by the caller.
pub fn moves(mover: usize, members: &[Member], actions: &[Action]) -> Moves {
    let others = || (0..members.len()).filter(move |&i| i != mover);
    // The other members not in `state` (`only`: just those in that one), forced to `state`.
    let force = |state: State, only: Option<State>| {
        others()
            .filter(move |&i| {
                members[i].state != state && only.is_none_or(|o| members[i].state == o)
            })
            .map(move |i| (i, Input::SyncTo { state }))
    };
    let mut out = Moves::default();
    for action in actions {
        match action {
            // vrrp_sync_can_goto_master: only when every other member wants MASTER too
            // ("prefer backup state to avoid thrashing"); this one goes first.
            Action::WantMaster { .. } => {
                let held: Vec<usize> = others().filter(|&i| !members[i].wants_master).collect();
                if held.is_empty() {
                    out.inputs.push((
                        mover,
                        Input::SyncTo {
                            state: State::Master,
                        },
                    ));
                    out.inputs.extend(force(State::Master, None));
                } else {
                    out.held_back_by.extend(held);
                }
            }
            // vrrp_sync_master (TSM BACKUP/FAULT -> MASTER): the others follow.
            Action::StateChanged {
                to: State::Master,
                reason,
                ..
            } if *reason != Reason::SyncGroup => out.inputs.extend(force(State::Master, None)),
            // vrrp_sync_backup (TSM MASTER -> BACKUP): a better advert on one network takes
            // the whole group to BACKUP.
            Action::StateChanged {
                from: State::Master,
                to: State::Backup,
                reason,
            } if *reason != Reason::SyncGroup => {
                out.inputs.extend(force(State::Backup, Some(State::Master)));
            }
            _ => {}
        }
    }
    out
}
