//! Who RFC 5798 allows as master: once the link has settled, and right after a master resigns
//! (priority 0). Pure functions of the running instances, so the rules are tested alone.

use halab_vrrp::State;

use crate::schedule::NodeSpec;

/// Preempt_Mode as configured, with keepalived 2.2.7's adjustments (`vrrp_complete_instance`)
/// worked out here rather than read back from the core: the address owner and `state MASTER`
/// always preempt.
pub const fn preempts(spec: &NodeSpec) -> bool {
    spec.preempt || spec.priority == 255 || spec.state_master
}

/// keepalived's `preempt_delay` in force, µs: none with `state MASTER` or without preemption.
pub const fn preempt_delay_us(spec: &NodeSpec) -> u64 {
    if preempts(spec) && !spec.state_master {
        spec.preempt_delay_ms * 1_000
    } else {
        0
    }
}

/// RFC 5798 6.4.1: the address owner becomes master at once on startup; keepalived 2.2.7 also
/// wants `state MASTER`, and holds a sync group member in BACKUP for an interval.
pub const fn owner_at_once(spec: &NodeSpec, sync_group: bool) -> bool {
    spec.priority == 255 && spec.state_master && !sync_group
}

/// What the checker needs of one instance of a running node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub node: usize,
    pub state: State,
    /// Effective priority.
    pub priority: u8,
    /// Preempt_Mode in force ([`preempts`]).
    pub preempt: bool,
}

/// In the election at all: not stopped (INIT) and not in FAULT.
const fn eligible(c: &Candidate) -> bool {
    matches!(c.state, State::Master | State::Backup)
}

/// The nodes that may be master once settled: any whose priority is at least that of every
/// preempting candidate. A preempting backup discards a lower master's adverts and takes over
/// (RFC 5798 6.4.2), a master steps down for a better advert whatever its own mode (6.4.3),
/// but a `nopreempt` backup accepts any master (6.4.2, Preempt_Mode False). With everyone
/// preempting: the highest priority, a tie any of them (a backup accepts its own priority).
pub fn settled(candidates: &[Candidate]) -> Vec<usize> {
    let floor = candidates
        .iter()
        .filter(|c| eligible(c) && c.preempt)
        .map(|c| c.priority)
        .max()
        .unwrap_or(0);
    candidates
        .iter()
        .filter(|c| eligible(c) && c.priority >= floor)
        .map(|c| c.node)
        .collect()
}

/// The nodes that may take over when the master resigns: the best backups. RFC 5798 6.4.2: a
/// priority 0 sets every backup's Master_Down_Timer to Skew_Time, whatever its Preempt_Mode,
/// and the highest priority has the shortest skew; the others then hear a better advert.
pub fn successors(candidates: &[Candidate]) -> Vec<usize> {
    let best = candidates
        .iter()
        .filter(|c| eligible(c))
        .map(|c| c.priority)
        .max();
    candidates
        .iter()
        .filter(|c| eligible(c) && Some(c.priority) == best)
        .map(|c| c.node)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(node: usize, state: State, priority: u8, preempt: bool) -> Candidate {
        Candidate {
            node,
            state,
            priority,
            preempt,
        }
    }

    #[test]
    fn everyone_preempting_wants_the_highest() {
        // Input: 100, 200 (in FAULT), 150, 150. Output: either 150.
        let all = [
            c(0, State::Master, 100, true),
            c(1, State::Fault, 200, true),
            c(2, State::Backup, 150, true),
            c(3, State::Backup, 150, true),
        ];
        assert_eq!(settled(&all), vec![2, 3]);
        assert_eq!(successors(&all), vec![2, 3]);
    }

    #[test]
    fn nopreempt_lets_a_master_stay_above_every_preempting_node() {
        // Input: 50 preempting, 200 nopreempt, 100 preempting, 80 nopreempt. Output: settled,
        // 200 or 100 (not 80: the 100 would preempt it); on a resignation, only 200.
        let all = [
            c(0, State::Backup, 50, true),
            c(1, State::Backup, 200, false),
            c(2, State::Master, 100, true),
            c(3, State::Backup, 80, false),
        ];
        assert_eq!(settled(&all), vec![1, 2]);
        assert_eq!(successors(&all), vec![1]);
        // Nobody preempting: anyone.
        let none: Vec<Candidate> = all
            .iter()
            .map(|x| Candidate {
                preempt: false,
                ..*x
            })
            .collect();
        assert_eq!(settled(&none), vec![0, 1, 2, 3]);
    }
}
