//! A schedule: the routers of one simulated link and the faults thrown at them, drawn from a
//! seed. The same seed always gives the same schedule (and, through [`crate::world`], the same
//! trace).

use halab_vrrp::Version;
use serde::Serialize;

use crate::rng::Rng;

/// One router.
#[derive(Debug, Clone, Serialize)]
pub struct NodeSpec {
    /// Base priority of every instance on it (255: the address owner).
    pub priority: u8,
    /// `nopreempt` when false.
    pub preempt: bool,
    /// Its clock's epoch, µs ahead of the simulation's (skew).
    pub clock_offset_us: u64,
    /// Its clock's rate error, parts per million (drift).
    pub drift_ppm: i32,
    /// When it starts, µs.
    pub start_us: u64,
    /// keepalived 2.2.7's behaviour (`Improvements::none()`) instead of halabd's.
    pub keepalived: bool,
    /// keepalived's `preempt_delay`, ms (0: none; the core drops it with `nopreempt` or
    /// `state MASTER`, as keepalived does).
    pub preempt_delay_ms: u64,
    /// keepalived's `state MASTER`: drawn for address owners (priority 255) only, which then
    /// become master at once (RFC 5798 6.4.1).
    pub state_master: bool,
}

/// Something that happens to the link or a router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Nodes with different numbers cannot hear each other (VRRP between them is dropped).
    Partition { groups: Vec<u8> },
    /// One connected link again.
    Heal,
    /// Each advert copy is lost with this probability.
    Loss { percent: u8 },
    /// Each advert is delivered twice with this probability.
    Duplicate { percent: u8 },
    /// Extra random delay per copy, up to this many µs: reordering.
    Jitter { us: u64 },
    /// The process dies (SIGKILL): silent at once, timers gone.
    Crash { node: usize },
    /// A graceful stop: `Shutdown` to every instance (priority 0 from a master), then silent.
    Stop { node: usize },
    /// A crashed or stopped node starts again (fresh instances, `Startup`).
    Restart { node: usize },
    /// Tracking changes on every instance of the node.
    Track {
        node: usize,
        weight: i32,
        fault: bool,
    },
}

/// How adverts travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transport {
    /// To 224.0.0.18 with TTL 255, which receivers check (RFC 5798 5.1.1.3, 7.1).
    Multicast,
    /// keepalived's `unicast_peer`: one copy to each other router, with its own VRRPv3
    /// checksum; the TTL is not checked. `check_src`: keepalived's `check_unicast_src`, only
    /// peers' adverts are accepted.
    Unicast { check_src: bool },
}

/// Everything about one simulated run.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub seed: u64,
    pub nodes: Vec<NodeSpec>,
    /// One virtual router per VRID, on every node.
    pub vrids: Vec<u8>,
    /// All the instances of a node form one sync group.
    pub sync_group: bool,
    pub version: Version,
    pub interval_cs: u16,
    pub transport: Transport,
    /// One-way delay of every advert, µs.
    pub delay_us: u64,
    /// `(time µs, fault)`, in time order, all before `faults_end_us`.
    pub faults: Vec<(u64, Fault)>,
    /// When the faults stop: everything is repaired (healed, no loss, restarted, no FAULT).
    pub faults_end_us: u64,
    /// False only to check the checker: the faults are never repaired.
    pub repair: bool,
}

impl Schedule {
    /// The schedule of `seed`.
    pub fn generate(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let n = usize::try_from(rng.range(2, 4)).unwrap_or(2);
        let (version, interval_cs) = if rng.percent(50) {
            (Version::V2, 100)
        } else {
            (Version::V3, rng.pick(&[20, 50, 100]))
        };
        let vrids = if rng.percent(35) {
            vec![10, 20]
        } else {
            vec![10]
        };
        let sync_group = vrids.len() > 1 && rng.percent(60);
        let mut nodes: Vec<NodeSpec> = (0..n)
            .map(|_| NodeSpec {
                // Ties happen (the address breaks them).
                priority: u8::try_from(rng.range(1, 254)).unwrap_or(100),
                preempt: !rng.percent(15),
                clock_offset_us: rng.range(0, 3_600_000_000),
                drift_ppm: i32::try_from(rng.range(0, 1_000)).unwrap_or(0) - 500,
                start_us: rng.range(0, 2_000_000),
                keepalived: rng.percent(25),
                preempt_delay_ms: 0,
                state_master: false,
            })
            .collect();
        let delay_us = rng.range(50, 5_000);
        let start = 5_000_000;
        let faults_end_us = start + rng.range(0, 40_000_000);
        let count = rng.range(0, 10);
        let mut faults: Vec<(u64, Fault)> = (0..count)
            .map(|_| {
                let at = rng.range(start, faults_end_us);
                let node = usize::try_from(rng.range(0, n as u64 - 1)).unwrap_or(0);
                let fault = match rng.range(0, 9) {
                    0 | 1 => Fault::Partition {
                        groups: (0..n)
                            .map(|_| u8::try_from(rng.range(0, 1)).unwrap_or(0))
                            .collect(),
                    },
                    2 => Fault::Heal,
                    3 => Fault::Loss {
                        percent: rng.pick(&[5, 20, 50, 100]),
                    },
                    4 => Fault::Duplicate {
                        percent: rng.pick(&[10, 50]),
                    },
                    5 => Fault::Jitter {
                        us: rng.pick(&[1_000, 50_000, 400_000]),
                    },
                    6 => Fault::Crash { node },
                    7 => Fault::Stop { node },
                    8 => Fault::Restart { node },
                    _ => Fault::Track {
                        node,
                        weight: i32::try_from(rng.range(0, 200)).unwrap_or(0) - 100,
                        fault: rng.percent(15),
                    },
                };
                (at, fault)
            })
            .collect();
        faults.sort_by_key(|(at, _)| *at);
        let transport = draw_extras(seed, &mut nodes);
        Self {
            seed,
            nodes,
            vrids,
            sync_group,
            version,
            interval_cs,
            transport,
            delay_us,
            faults,
            faults_end_us,
            repair: true,
        }
    }
}

/// What later versions of the simulator added to a schedule: address owners, preempt delays,
/// unicast peers. Drawn from a stream of their own, so every seed keeps the routers, link and
/// faults it had before (and its old trace, when it draws none of them).
fn draw_extras(seed: u64, nodes: &mut [NodeSpec]) -> Transport {
    let mut rng = Rng::new(seed ^ 0xa11d_0e5a_ee7a_0255);
    // One address owner on 20% of the links (two would be a misconfiguration, RFC 5798 1).
    if rng.percent(20) {
        let owner = usize::try_from(rng.range(0, nodes.len() as u64 - 1)).unwrap_or(0);
        nodes[owner].priority = 255;
        nodes[owner].state_master = rng.percent(75);
    }
    for node in nodes.iter_mut() {
        if rng.percent(20) {
            node.preempt_delay_ms = rng.pick(&[1_000, 4_000, 10_000]);
        }
    }
    if rng.percent(25) {
        Transport::Unicast {
            check_src: rng.percent(50),
        }
    } else {
        Transport::Multicast
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_schedule() {
        let a = serde_json::to_string(&Schedule::generate(42)).expect("json");
        let b = serde_json::to_string(&Schedule::generate(42)).expect("json");
        assert_eq!(a, b);
        assert!((0..50).any(|s| !Schedule::generate(s).faults.is_empty()));
    }

    #[test]
    fn some_schedules_have_owners_and_preempt_delays() {
        let schedules: Vec<Schedule> = (0..100).map(Schedule::generate).collect();
        let nodes = || schedules.iter().flat_map(|s| &s.nodes);
        assert!(nodes().any(|n| n.priority == 255 && n.state_master));
        assert!(nodes().any(|n| n.priority == 255 && !n.state_master));
        assert!(nodes().any(|n| n.preempt_delay_ms > 0));
        assert!(nodes().all(|n| !n.state_master || n.priority == 255));
        assert!(
            schedules
                .iter()
                .any(|s| s.transport == Transport::Unicast { check_src: true })
        );
        // At most one owner per link.
        assert!(
            schedules
                .iter()
                .all(|s| s.nodes.iter().filter(|n| n.priority == 255).count() <= 1)
        );
    }
}
