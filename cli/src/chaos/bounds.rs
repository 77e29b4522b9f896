//! The time the lab's timers allow the client to go unserved, per fault kind: while the fault
//! is in force (from its injection) and after its repair (from the repair).
//!
//! From the lab: Master_Down_Interval (3 x advert + skew, RFC 5798 6.1), the skew time alone
//! (a graceful stop sends priority 0), track-script detection (interval x fall + timeout),
//! haproxy's health checks (`inter` x (fall|rise + 1) + 3 s). Plus [`MARGIN_MS`] for the
//! probe's own deadline (500 ms), the gratuitous ARP and a loaded machine.
//!
//! One exception is not a timer: when two keepalived masters meet again (a partition or VRRP
//! loss healed), the loser steps down silently and the client keeps its ARP entry for the
//! loser until the kernel gives up on it: [`KEEPALIVED_ARP_MS`], as the seed labs'
//! split-brain scenarios bound it (docs/scenarios.md). halabd's heal brings the client back
//! within an advert interval.

use std::time::Duration;

use super::schedule::{Episode, FaultKind};
use crate::lab::Lab;
use crate::scenario::asserts;
use crate::scenario::bound::Bound;

/// The probe's 500 ms deadline, a gratuitous ARP, a loaded machine.
pub const MARGIN_MS: u64 = 2_000;

/// A keepalived client left on a silent loser: reachable_time (15-45 s) + delay_first_probe
/// (5 s) + 3 unicast probes, measured 24-56 s (docs/scenarios.md): 65 s.
pub const KEEPALIVED_ARP_MS: u64 = 65_000;

/// The lab's VRRP and tracking timers, in ms.
#[derive(Debug, Clone, Copy)]
pub struct Timers {
    pub master_down: u64,
    pub skew: u64,
    pub advert: u64,
    pub script: u64,
    pub health: u64,
}

impl Timers {
    pub fn of(lab: &Lab) -> Timers {
        let master_down = lab
            .vrrp
            .iter()
            .map(|v| v.master_down_ms())
            .max()
            .unwrap_or(4_000);
        let advert = lab
            .vrrp
            .iter()
            .map(|v| u64::from(v.advert_int_cs) * 10)
            .max()
            .unwrap_or(1_000);
        let skew = lab
            .vrrp
            .iter()
            .map(|v| {
                v.master_down_ms()
                    .saturating_sub(3 * u64::from(v.advert_int_cs) * 10)
            })
            .max()
            .unwrap_or(1_000);
        let script = lab
            .scripts
            .iter()
            .map(|s| {
                ((s.interval * f64::from(s.fall.max(s.rise)) + s.timeout.unwrap_or(s.interval))
                    * 1000.0) as u64
            })
            .max()
            .unwrap_or(0);
        let health = u64::try_from(asserts::health_deadline(lab).as_millis()).unwrap_or(11_000);
        Timers {
            master_down,
            skew,
            advert,
            script,
            health,
        }
    }

    /// While the fault is in force, from its injection.
    pub fn during(&self, kind: FaultKind) -> Bound {
        let ms = |v: u64| Duration::from_millis(v + MARGIN_MS);
        match kind {
            FaultKind::Stop => Bound::all(ms(self.skew)),
            FaultKind::Crash
            | FaultKind::Freeze
            | FaultKind::CableCut
            | FaultKind::Partition
            | FaultKind::Reload => Bound::all(ms(self.master_down)),
            FaultKind::TrackedKill => Bound::all(ms(self.script + self.master_down)),
            // Loss can make the backup a master for a moment: with keepalived its silent
            // step-down can leave the client on it (see the module doc).
            FaultKind::VrrpLoss => Bound {
                keepalived: Duration::from_millis(KEEPALIVED_ARP_MS),
                halabd: ms(self.master_down),
            },
            FaultKind::BackendDown => Bound::all(Duration::from_millis(self.health)),
        }
    }

    /// After the repair, from the repair.
    pub fn after(&self, kind: FaultKind) -> Bound {
        let ms = |v: u64| Duration::from_millis(v + MARGIN_MS);
        match kind {
            FaultKind::Crash
            | FaultKind::Stop
            | FaultKind::Freeze
            | FaultKind::CableCut
            | FaultKind::Reload => Bound::all(ms(self.master_down)),
            FaultKind::TrackedKill => Bound::all(ms(self.script + self.master_down)),
            FaultKind::Partition | FaultKind::VrrpLoss => Bound {
                keepalived: Duration::from_millis(KEEPALIVED_ARP_MS),
                halabd: ms(self.advert),
            },
            FaultKind::BackendDown => Bound::all(Duration::from_millis(self.health)),
        }
    }

    /// How long after a heal the client's ARP entry may still point at the loser.
    pub fn arp_grace(&self) -> Bound {
        Bound {
            keepalived: Duration::from_millis(KEEPALIVED_ARP_MS),
            halabd: Duration::from_millis(1_000),
        }
    }
}

/// The larger of two bounds, engine by engine.
pub fn max(a: Bound, b: Bound) -> Bound {
    Bound {
        keepalived: a.keepalived.max(b.keepalived),
        halabd: a.halabd.max(b.halabd),
    }
}

/// An episode's bounds: (during, after), the largest of its faults'.
pub fn of_episode(t: &Timers, e: &Episode) -> (Bound, Bound) {
    let zero = Bound::all(Duration::ZERO);
    e.faults.iter().fold((zero, zero), |(d, a), f| {
        (max(d, t.during(f.kind)), max(a, t.after(f.kind)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: seed000 (advert 1 s, priorities 101/100 + weight 2, script interval 2 s, default
    // health checks). Output: the bounds its timers give: a crash 3.6 s + margin, a graceful
    // stop the skew (0.6 s) + margin, a tracked kill 2 x 2 s + 3.6 s + margin.
    #[test]
    fn seed000_bounds_come_from_its_timers() {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000/lab.yaml");
        let lab = crate::lab::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let t = Timers::of(&lab);
        assert_eq!(t.advert, 1_000);
        assert!((3_600..=3_700).contains(&t.master_down), "{t:?}");
        assert!((600..=700).contains(&t.skew), "{t:?}");
        assert_eq!(
            t.during(FaultKind::Crash).halabd,
            Duration::from_millis(t.master_down + MARGIN_MS)
        );
        assert_eq!(
            t.during(FaultKind::Stop).keepalived,
            Duration::from_millis(t.skew + MARGIN_MS)
        );
        assert_eq!(
            t.during(FaultKind::TrackedKill).keepalived,
            Duration::from_millis(t.script + t.master_down + MARGIN_MS)
        );
        assert_eq!(t.script, 4_000);
        let heal = t.after(FaultKind::Partition);
        assert_eq!(heal.keepalived, Duration::from_millis(KEEPALIVED_ARP_MS));
        assert_eq!(heal.halabd, Duration::from_millis(3_000));
    }
}
