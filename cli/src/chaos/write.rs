//! Episodes as a scenario file (docs/scenarios.md): what `halab chaos` runs, and what it
//! writes for `halab test` to replay. Each episode injects its faults, checks the client is
//! served within the bound the lab's timers give, holds, repairs in reverse order, and
//! checks the lab is whole again: the client served, each preempting instance's VIP back on
//! its top-priority LB, every health-checked server UP on every LB.

use std::fmt::Write as _;
use std::time::Duration;

use super::bounds::{self, Timers};
use super::schedule::{Episode, Fault, FaultKind};
use crate::lab::Lab;
use crate::scenario::asserts;
use crate::scenario::bound::Bound;
use crate::{apply, observe};

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

fn bound(b: Bound) -> String {
    if b.keepalived == b.halabd {
        ms(b.halabd)
    } else {
        format!(
            "{{ keepalived: {}, halabd: {} }}",
            ms(b.keepalived),
            ms(b.halabd)
        )
    }
}

fn node(f: &Fault) -> &str {
    f.node.as_deref().unwrap_or("")
}

fn inject(lab: &Lab, f: &Fault) -> String {
    let n = node(f);
    match f.kind {
        FaultKind::Crash => format!("kill: {{ node: {n}, services: [vrrp] }}"),
        FaultKind::Stop => format!("stop: {{ node: {n}, services: [vrrp] }}"),
        FaultKind::Freeze => format!("freeze: {{ node: {n}, services: [vrrp] }}"),
        FaultKind::TrackedKill => format!("kill: {{ node: {n}, service: haproxy }}"),
        FaultKind::CableCut => format!("link_down: {{ node: {n} }}"),
        FaultKind::Partition => {
            let others: Vec<&str> = lab
                .lbs()
                .map(|l| l.name.as_str())
                .filter(|l| *l != n)
                .collect();
            format!(
                "partition: {{ a: [{n}], b: [{}]{} }}",
                others.join(", "),
                if f.vrrp_only { ", vrrp_only: true" } else { "" }
            )
        }
        FaultKind::VrrpLoss => format!("loss: {{ percent: {} }}", f.percent),
        FaultKind::BackendDown => format!("stop: {{ node: {n}, service: nginx }}"),
        FaultKind::Reload => format!(
            "reload: {{ node: {n}, service: {} }}",
            if f.haproxy { "haproxy" } else { "vrrp" }
        ),
    }
}

fn repair(f: &Fault, t: &Timers) -> Option<String> {
    let n = node(f);
    Some(match f.kind {
        FaultKind::Crash | FaultKind::Stop => format!("start: {{ node: {n}, services: [vrrp] }}"),
        FaultKind::Freeze => format!("thaw: {{ node: {n}, services: [vrrp] }}"),
        FaultKind::TrackedKill => format!("start: {{ node: {n}, service: haproxy }}"),
        FaultKind::CableCut => format!("link_up: {{ node: {n} }}"),
        FaultKind::Partition | FaultKind::VrrpLoss => {
            format!("heal: {{ arp_grace: {} }}", bound(t.arp_grace()))
        }
        FaultKind::BackendDown => format!("start: {{ node: {n}, service: nginx }}"),
        FaultKind::Reload => return None,
    })
}

/// The checks that the lab is whole again (after every episode): each preempting instance's
/// VIP on its top LB, every health-checked server UP on every LB, and the client answered
/// through each VIP it reaches within the time `halab up` allows a lab to settle: what the
/// restore between episodes waits for, so a client left on a stale ARP entry after a heal
/// fails the episode (and its replay under `halab test`), not only the restore after it.
pub fn whole_again(lab: &Lab) -> Vec<String> {
    let mut out = Vec::new();
    for v in lab.vrrp.iter().filter(|v| v.preempt) {
        let top = v
            .members
            .iter()
            .filter(|m| lab.node(&m.node).is_some_and(|n| n.engine.is_some()))
            .max_by_key(|m| (m.priority, m.address));
        let (Some(top), Some(vip)) = (top, v.vips.first()) else {
            continue;
        };
        let within = asserts::vip_deadline(lab)
            + Duration::from_secs_f64(v.preempt_delay.unwrap_or(0.0).max(0.0));
        out.push(format!(
            "vip: {{ vip: {}, holder: {}, within: {} }}",
            vip.address,
            top.node,
            ms(within)
        ));
    }
    for lb in lab.lbs() {
        for p in &lab.haproxy.proxies {
            for s in p.servers.iter().filter(|s| s.check && s.node.is_some()) {
                out.push(format!(
                    "stats: {{ node: {}, backend: {}, server: {}, status: UP }}",
                    lb.name, p.name, s.name
                ));
            }
        }
    }
    for vip in observe::client_vips(lab) {
        if observe::http_target(lab, vip).is_some() {
            out.push(format!(
                "http: {{ vip: {vip}, within: {} }}",
                ms(apply::settle_timeout(lab))
            ));
        }
    }
    out
}

/// What a step of an episode does to its faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Injects fault `i` of the episode.
    Inject(usize),
    /// Repairs these faults (a `heal` repairs every network fault).
    Repair(Vec<usize>),
    /// A wait or a check.
    Other,
}

/// One episode's steps, each a YAML flow mapping (without the `- `), with its role.
pub fn plan(lab: &Lab, e: &Episode) -> Vec<(String, Role)> {
    let t = Timers::of(lab);
    let (during, after) = bounds::of_episode(&t, e);
    let mut steps = Vec::new();
    for (i, f) in e.faults.iter().enumerate() {
        // A shrunk overlap may start both faults at once.
        if i > 0 && e.overlap_ms > 0 {
            steps.push((format!("wait: {}ms", e.overlap_ms), Role::Other));
        }
        steps.push((inject(lab, f), Role::Inject(i)));
    }
    steps.push((
        format!("outage: {{ max_gap: {} }}", bound(during)),
        Role::Other,
    ));
    steps.push((format!("wait: {}ms", e.hold_ms), Role::Other));
    let heals: Vec<usize> = (0..e.faults.len())
        .filter(|&i| matches!(e.faults[i].kind, FaultKind::Partition | FaultKind::VrrpLoss))
        .collect();
    // A `heal` repairs every network fault at once: one is enough.
    let mut seen_heal = false;
    for i in (0..e.faults.len()).rev() {
        let Some(r) = repair(&e.faults[i], &t) else {
            continue;
        };
        if r.starts_with("heal:") {
            if seen_heal {
                continue;
            }
            seen_heal = true;
            steps.push((r, Role::Repair(heals.clone())));
        } else {
            steps.push((r, Role::Repair(vec![i])));
        }
    }
    steps.push((
        format!("outage: {{ max_gap: {} }}", bound(after)),
        Role::Other,
    ));
    steps.extend(whole_again(lab).into_iter().map(|s| (s, Role::Other)));
    steps
}

/// One episode's steps, each a YAML flow mapping (without the `- `).
pub fn episode_steps(lab: &Lab, e: &Episode) -> Vec<String> {
    plan(lab, e).into_iter().map(|(s, _)| s).collect()
}

/// The bound of each `outage` step the episodes write, in order, for the lab's engines (ms).
pub fn outage_bounds_ms(lab: &Lab, episodes: &[Episode]) -> Vec<u64> {
    let t = Timers::of(lab);
    let ms = |b: Bound| u64::try_from(b.for_lab(lab).as_millis()).unwrap_or(u64::MAX);
    episodes
        .iter()
        .flat_map(|e| {
            let (during, after) = bounds::of_episode(&t, e);
            [ms(during), ms(after)]
        })
        .collect()
}

/// A scenario file of these episodes, numbered as the run numbered them (`numbers`), with a
/// header (comment lines) that says where it comes from.
pub fn scenario_text(lab: &Lab, header: &str, episodes: &[Episode], numbers: &[usize]) -> String {
    let mut s = String::new();
    for l in header.lines() {
        let _ = writeln!(s, "# {l}");
    }
    let kinds: Vec<String> = episodes.iter().map(Episode::kind_label).collect();
    let _ = writeln!(
        s,
        "description: \"chaos: {}\"",
        if kinds.is_empty() {
            "nothing".to_string()
        } else {
            kinds.join(", ")
        }
    );
    let _ = writeln!(s, "steps:");
    for (k, e) in episodes.iter().enumerate() {
        let n = numbers.get(k).copied().unwrap_or(k);
        let _ = writeln!(s, "  # fault {n}: {}", e.describe());
        for step in episode_steps(lab, e) {
            let _ = writeln!(s, "  - {step}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::schedule::Generator;
    use super::*;

    fn seed000() -> Lab {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000/lab.yaml");
        crate::lab::load(&file).unwrap_or_else(|e| panic!("{e}"))
    }

    // Input: 300 episodes of seed000, written as one scenario. Output: a file `halab test`
    // accepts (it validates against the lab), whose steps are the episodes' in order.
    #[test]
    fn every_episode_writes_a_valid_scenario() {
        let lab = seed000();
        let eps = Generator::new(&lab, 11).take(300);
        let numbers: Vec<usize> = (0..eps.len()).collect();
        let text = scenario_text(&lab, "replay: halab chaos", &eps, &numbers);
        let s = crate::scenario::file::parse(std::path::Path::new("chaos.yaml"), &text, &lab)
            .unwrap_or_else(|d| panic!("{}", d.render(std::path::Path::new("chaos.yaml"), &text)));
        let per: usize = eps.iter().map(|e| episode_steps(&lab, e).len()).sum();
        assert_eq!(s.steps.len(), per);
        assert!(text.starts_with("# replay: halab chaos\n"), "{text}");
    }

    // Input: a crash of loadbalance1 in seed000. Output: kill, the bound during the fault,
    // the hold, the restart, the bound after it, the VIP back on loadbalance1 (101 > 100),
    // nginx1-3 UP on both LBs, and the client answered through the VIP.
    #[test]
    fn a_crash_episode_reads_as_an_operator_would_write_it() {
        let lab = seed000();
        let e = Episode {
            faults: vec![Fault {
                kind: FaultKind::Crash,
                node: Some("loadbalance1".into()),
                percent: 0,
                vrrp_only: false,
                haproxy: false,
            }],
            overlap_ms: 0,
            hold_ms: 4_000,
        };
        let steps = episode_steps(&lab, &e);
        let t = Timers::of(&lab);
        assert_eq!(steps[0], "kill: { node: loadbalance1, services: [vrrp] }");
        assert_eq!(
            steps[1],
            format!(
                "outage: {{ max_gap: {}ms }}",
                t.master_down + bounds::MARGIN_MS
            )
        );
        assert_eq!(steps[2], "wait: 4000ms");
        assert_eq!(steps[3], "start: { node: loadbalance1, services: [vrrp] }");
        assert!(steps[5].starts_with("vip: { vip: 192.168.0.130, holder: loadbalance1"));
        assert_eq!(
            steps.last().map(String::as_str),
            Some(
                format!(
                    "http: {{ vip: 192.168.0.130, within: {}ms }}",
                    crate::apply::settle_timeout(&lab).as_millis()
                )
                .as_str()
            )
        );
        assert_eq!(steps.len(), 6 + 6 + 1, "{steps:#?}");
    }
}
