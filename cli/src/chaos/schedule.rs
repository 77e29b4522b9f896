//! A chaos schedule: episodes of faults drawn from a seed. The same lab and seed always give
//! the same episodes, in the same order, however long the run lasts (episodes are drawn one
//! at a time from one generator, so `--duration` and `--faults` runs share their prefix).
//!
//! An episode injects one fault, or two that overlap (the second injected while the first is
//! in force), holds them, then repairs them in reverse order. Two overlapping faults never
//! leave the client without a working path (that would be an outage the lab cannot avoid, not
//! a finding): at most one of them impairs a load balancer.

use halab_sim::rng::Rng;
use serde::{Deserialize, Serialize};

use crate::lab::Lab;
use crate::lab::model::Role;
use crate::lab::raw::Provider;

/// What a fault does (docs/chaos.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// SIGKILL of an LB's VRRP daemon (its VIP stays on the interface).
    Crash,
    /// SIGTERM of an LB's VRRP daemon (priority 0 from a master).
    Stop,
    /// SIGSTOP of an LB's VRRP daemon (a hung host, as its peers see it).
    Freeze,
    /// SIGKILL of haproxy on an LB whose VRRP instances track it.
    TrackedKill,
    /// An LB's cable pulled on the lab switch.
    CableCut,
    /// One LB cut off from the others (both ways, all traffic or VRRP only).
    Partition,
    /// A share of incoming VRRP packets dropped on every LB.
    VrrpLoss,
    /// nginx stopped on a web node.
    BackendDown,
    /// The VRRP daemon or haproxy of an LB reloaded (SIGHUP, haproxy's soft reload).
    Reload,
}

impl FaultKind {
    pub const ALL: [FaultKind; 9] = [
        FaultKind::Crash,
        FaultKind::Stop,
        FaultKind::Freeze,
        FaultKind::TrackedKill,
        FaultKind::CableCut,
        FaultKind::Partition,
        FaultKind::VrrpLoss,
        FaultKind::BackendDown,
        FaultKind::Reload,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Stop => "stop",
            FaultKind::Freeze => "freeze",
            FaultKind::TrackedKill => "tracked_kill",
            FaultKind::CableCut => "cable_cut",
            FaultKind::Partition => "partition",
            FaultKind::VrrpLoss => "vrrp_loss",
            FaultKind::BackendDown => "backend_down",
            FaultKind::Reload => "reload",
        }
    }

    /// Impairs one LB (its VRRP daemon, haproxy or cable).
    fn on_lb(self) -> bool {
        matches!(
            self,
            FaultKind::Crash
                | FaultKind::Stop
                | FaultKind::Freeze
                | FaultKind::TrackedKill
                | FaultKind::CableCut
        )
    }

    /// Changes what the LBs hear of each other (repaired by one `heal`).
    fn on_network(self) -> bool {
        matches!(self, FaultKind::Partition | FaultKind::VrrpLoss)
    }
}

/// One fault and its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub kind: FaultKind,
    /// The LB or web node it hits (a partition: the LB cut off). None: every LB (loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Loss: the share of VRRP packets dropped.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub percent: u8,
    /// Partition: only VRRP is dropped (HTTP between the LBs still flows).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vrrp_only: bool,
    /// Reload: haproxy rather than the VRRP daemon.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub haproxy: bool,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

impl Fault {
    /// "crash of the VRRP daemon on lb1", for people.
    pub fn describe(&self) -> String {
        let on = self.node.as_deref().unwrap_or("every LB");
        match self.kind {
            FaultKind::Crash => format!("crash of vrrp on {on}"),
            FaultKind::Stop => format!("graceful stop of vrrp on {on}"),
            FaultKind::Freeze => format!("freeze of vrrp on {on}"),
            FaultKind::TrackedKill => format!("kill of tracked haproxy on {on}"),
            FaultKind::CableCut => format!("cable cut of {on}"),
            FaultKind::Partition => format!(
                "partition of {on}{}",
                if self.vrrp_only { " (VRRP only)" } else { "" }
            ),
            FaultKind::VrrpLoss => format!("{}% VRRP loss on {on}", self.percent),
            FaultKind::BackendDown => format!("nginx down on {on}"),
            FaultKind::Reload => format!(
                "reload of {} on {on}",
                if self.haproxy { "haproxy" } else { "vrrp" }
            ),
        }
    }
}

/// Faults injected together, held, then repaired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    /// One fault, or two that overlap.
    pub faults: Vec<Fault>,
    /// Between the first fault and the second, ms.
    #[serde(default)]
    pub overlap_ms: u64,
    /// How long the faults stay in force once injected (after the client is served again), ms.
    pub hold_ms: u64,
}

impl Episode {
    /// The label of its fault kinds: `crash`, or `crash+backend_down` for an overlap.
    pub fn kind_label(&self) -> String {
        self.faults
            .iter()
            .map(|f| f.kind.name())
            .collect::<Vec<_>>()
            .join("+")
    }

    pub fn describe(&self) -> String {
        let faults = self
            .faults
            .iter()
            .map(Fault::describe)
            .collect::<Vec<_>>()
            .join(", overlapping ");
        format!("{faults} for {:.1}s", self.hold_ms as f64 / 1000.0)
    }
}

/// What the lab offers to faults.
#[derive(Debug, Clone)]
struct Targets {
    lbs: Vec<String>,
    webs: Vec<String>,
    /// Some VRRP instance tracks a script (a tracked-service kill means something).
    tracked: bool,
    kinds: Vec<FaultKind>,
}

impl Targets {
    fn of(lab: &Lab) -> Targets {
        let lbs: Vec<String> = lab.lbs().map(|n| n.name.clone()).collect();
        let webs: Vec<String> = lab
            .nodes
            .iter()
            .filter(|n| n.role == Role::Web && n.web.is_some())
            .map(|n| n.name.clone())
            .collect();
        let tracked = lab.vrrp.iter().any(|v| !v.track_scripts.is_empty());
        let kinds = FaultKind::ALL
            .into_iter()
            .filter(|k| match k {
                FaultKind::TrackedKill => tracked && !lbs.is_empty(),
                // A cut-off LB needs another to talk to.
                FaultKind::Partition | FaultKind::VrrpLoss => lbs.len() > 1,
                FaultKind::BackendDown => webs.len() > 1,
                // Only the netns provider owns the switch: over ssh halab reaches the host
                // through the very link a cut would pull (the ssh Fleet refuses).
                FaultKind::CableCut => !lbs.is_empty() && lab.provider == Provider::Netns,
                _ => !lbs.is_empty(),
            })
            .collect();
        Targets {
            lbs,
            webs,
            tracked,
            kinds,
        }
    }
}

/// Draws episodes from a seed.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: Rng,
    targets: Targets,
}

/// The shortest and longest hold, ms.
pub const HOLD_MS: (u64, u64) = (2_000, 10_000);

impl Generator {
    pub fn new(lab: &Lab, seed: u64) -> Generator {
        Generator {
            // The seed is mixed so that chaos seed N and simulator seed N differ.
            rng: Rng::new(seed ^ 0xc4a0_5000_0000_0000),
            targets: Targets::of(lab),
        }
    }

    /// Whether the lab has anything to break (an LB at least).
    pub fn is_empty(&self) -> bool {
        self.targets.kinds.is_empty()
    }

    fn fault(&mut self, kind: FaultKind, avoid: &[String]) -> Fault {
        let pick = |rng: &mut Rng, from: &[String]| -> Option<String> {
            let free: Vec<&String> = from.iter().filter(|n| !avoid.contains(n)).collect();
            let from: Vec<&String> = if free.is_empty() {
                from.iter().collect()
            } else {
                free
            };
            if from.is_empty() {
                return None;
            }
            let i = rng.range(0, from.len() as u64 - 1);
            from.get(usize::try_from(i).unwrap_or(0))
                .map(|s| (*s).clone())
        };
        let lbs = self.targets.lbs.clone();
        let webs = self.targets.webs.clone();
        let mut f = Fault {
            kind,
            node: None,
            percent: 0,
            vrrp_only: false,
            haproxy: false,
        };
        match kind {
            FaultKind::BackendDown => f.node = pick(&mut self.rng, &webs),
            FaultKind::VrrpLoss => f.percent = self.rng.pick(&[10, 20, 30, 40]),
            FaultKind::Partition => {
                f.node = pick(&mut self.rng, &lbs);
                f.vrrp_only = self.rng.percent(50);
            }
            FaultKind::Reload => {
                f.node = pick(&mut self.rng, &lbs);
                f.haproxy = self.rng.percent(40);
            }
            _ => f.node = pick(&mut self.rng, &lbs),
        }
        f
    }

    /// The next episode: one fault (70%) or two that overlap.
    pub fn next_episode(&mut self) -> Episode {
        let kinds = self.targets.kinds.clone();
        let first_kind = self.rng.pick(&kinds);
        let first = self.fault(first_kind, &[]);
        let hold_ms = self.rng.range(HOLD_MS.0, HOLD_MS.1) / 100 * 100;
        let mut faults = vec![first];
        let mut overlap_ms = 0;
        if self.rng.percent(30) {
            let compatible: Vec<FaultKind> = kinds
                .iter()
                .copied()
                .filter(|k| compatible(faults[0].kind, *k))
                .collect();
            if !compatible.is_empty() {
                let k = self.rng.pick(&compatible);
                let avoid: Vec<String> = faults.iter().filter_map(|f| f.node.clone()).collect();
                let second = self.fault(k, &avoid);
                if second.node.is_none() || second.node != faults[0].node {
                    overlap_ms = self.rng.range(500, 3_000) / 100 * 100;
                    faults.push(second);
                }
            }
        }
        Episode {
            faults,
            overlap_ms,
            hold_ms,
        }
    }

    /// `n` episodes.
    pub fn take(&mut self, n: usize) -> Vec<Episode> {
        (0..n).map(|_| self.next_episode()).collect()
    }

    /// Some VRRP instance tracks a script.
    pub fn tracked(&self) -> bool {
        self.targets.tracked
    }
}

/// Two faults may overlap when the client keeps a working path through them: at most one
/// impairs an LB, network faults do not stack (one `heal` repairs both), and a reload or a
/// backend down goes with anything.
fn compatible(a: FaultKind, b: FaultKind) -> bool {
    if a.on_lb() && b.on_lb() {
        return false;
    }
    if a.on_network() && b.on_network() {
        return false;
    }
    !(a == FaultKind::BackendDown && b == FaultKind::BackendDown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed000() -> Lab {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000/lab.yaml");
        crate::lab::load(&file).unwrap_or_else(|e| panic!("{e}"))
    }

    // Input: seed000 and seed 7, twice; and seed 8. Output: the same 30 episodes for the same
    // seed, different ones for another.
    #[test]
    fn a_seed_gives_one_schedule() {
        let lab = seed000();
        let a = Generator::new(&lab, 7).take(30);
        let b = Generator::new(&lab, 7).take(30);
        let c = Generator::new(&lab, 8).take(30);
        assert_eq!(a, b);
        assert_ne!(a, c);
        // A longer run starts with the shorter one.
        assert_eq!(Generator::new(&lab, 7).take(10), a[..10].to_vec());
    }

    // Input: 400 episodes of seed000. Output: every fault kind drawn, overlaps among them,
    // and no overlap that impairs both LBs or stacks two network faults.
    #[test]
    fn every_kind_is_drawn_and_overlaps_keep_a_path() {
        let lab = seed000();
        let eps = Generator::new(&lab, 1).take(400);
        for k in FaultKind::ALL {
            assert!(
                eps.iter().any(|e| e.faults.iter().any(|f| f.kind == k)),
                "{k:?} never drawn"
            );
        }
        let overlaps: Vec<&Episode> = eps.iter().filter(|e| e.faults.len() == 2).collect();
        assert!(overlaps.len() > 60, "{} overlaps", overlaps.len());
        for e in overlaps {
            let (a, b) = (&e.faults[0], &e.faults[1]);
            assert!(compatible(a.kind, b.kind), "{e:?}");
            assert!(a.node.is_none() || a.node != b.node, "{e:?}");
            assert!(
                e.overlap_ms > 0 && e.overlap_ms < e.hold_ms + 3_000,
                "{e:?}"
            );
        }
        assert!(
            eps.iter()
                .all(|e| (HOLD_MS.0..=HOLD_MS.1).contains(&e.hold_ms))
        );
    }

    // Input: seed000 without its track script. Output: no tracked-service kill is drawn (the
    // lab has nothing that tracks haproxy).
    #[test]
    fn no_tracked_kill_without_tracking() {
        let mut lab = seed000();
        for v in lab.vrrp.iter_mut() {
            v.track_scripts.clear();
        }
        let eps = Generator::new(&lab, 3).take(200);
        assert!(
            eps.iter()
                .all(|e| e.faults.iter().all(|f| f.kind != FaultKind::TrackedKill))
        );
    }

    // Input: seed000 on the ssh provider, 300 episodes. Output: no cable cut (the ssh Fleet
    // cannot pull a cable), every other kind drawn.
    #[test]
    fn no_cable_cut_over_ssh() {
        let mut lab = seed000();
        lab.provider = Provider::Ssh;
        let eps = Generator::new(&lab, 1).take(300);
        for k in FaultKind::ALL {
            let drawn = eps.iter().any(|e| e.faults.iter().any(|f| f.kind == k));
            assert_eq!(drawn, k != FaultKind::CableCut, "{k:?}");
        }
    }
}
