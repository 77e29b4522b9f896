//! Runs one scenario against a running lab and returns its [`ScenarioResult`], emitting
//! [`Event`]s as it goes. Steps run in order; after a failed step the rest are skipped.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::asserts;
use super::ctx::Ctx;
use super::faults;
use super::file::{Scenario, Step, SvcAction, SvcRef};
use super::result::{Event, FaultMark, Outcome, ScenarioResult, StepResult, Violation};
use super::sampler::Samplers;
use super::starvation;
use crate::lab::Lab;
use crate::lab::model::Engine;
use std::sync::Arc;

use crate::fleet::Fleet;
use crate::observe;
use crate::services::{self, Service, Stop};

/// How long the client's ARP entry may point at a node that does not hold the VIP, or two
/// nodes may hold it, before the monitor calls it a violation (a GARP takes a few ms; a
/// loaded machine may delay the VRRP daemon a little).
pub const INVARIANT_GRACE_MS: u64 = 1500;

/// The service a scenario's name means on this node: `vrrp`, `keepalived` and `halabd` all
/// mean the node's VRRP engine, so scenarios run unchanged across the engine matrix.
pub fn resolve(lab: &Lab, node: &str, s: SvcRef) -> Service {
    match s {
        SvcRef::Nginx => Service::Nginx,
        SvcRef::Haproxy => Service::Haproxy,
        SvcRef::Vrrp | SvcRef::Keepalived | SvcRef::Halabd => {
            match lab.node(node).and_then(|n| n.engine) {
                Some(Engine::Halabd) => Service::Halabd,
                _ => Service::Keepalived,
            }
        }
    }
}

pub fn run(
    lab: &Lab,
    fleet: &Arc<dyn Fleet>,
    scenario: &Scenario,
    engine: &str,
    halabd: &str,
    on_event: &mut dyn FnMut(&Event),
) -> ScenarioResult {
    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    on_event(&Event::ScenarioStarted {
        lab: lab.name.clone(),
        scenario: scenario.name.clone(),
        engine: engine.to_string(),
        steps: scenario.steps.len(),
    });
    let t0 = Instant::now();
    // Every VIP the client reaches through a frontend is probed, each on its own lane.
    let targets: Vec<std::net::SocketAddr> = observe::client_vips(lab)
        .into_iter()
        .filter_map(|v| observe::http_target(lab, v))
        .collect();
    let samplers = Samplers::start(lab, fleet.clone(), t0, &targets);
    let canary = starvation::Canary::start(t0);
    let cx = Ctx {
        lab,
        fleet,
        t0,
        samplers: &samplers,
        halabd,
    };
    let mut steps = Vec::new();
    let mut faults = Vec::new();
    // Windows in which two holders / a stale ARP entry are expected: (start, end) ms.
    let mut allowed: Vec<(u64, u64)> = Vec::new();
    let mut last_action_ms = 0u64;
    let mut failed = false;
    for (index, step) in scenario.steps.iter().enumerate() {
        let description = describe(step);
        on_event(&Event::StepStarted {
            index,
            description: description.clone(),
        });
        let start_ms = cx.now_ms();
        let (outcome, outage) = if failed {
            (Outcome::Skipped, None)
        } else if step.is_assertion() {
            asserts::check(&cx, step, last_action_ms)
        } else {
            last_action_ms = start_ms;
            let r = act(&cx, step, &mut allowed);
            if let Some(fault) = is_fault(step) {
                faults.push(FaultMark {
                    t_ms: start_ms,
                    description: mark(step, &description),
                    fault,
                });
            }
            match r {
                Ok(detail) => (Outcome::Passed { detail }, None),
                Err(e) => (
                    Outcome::Failed {
                        expected: format!("{description} to succeed"),
                        seen: e,
                        last_samples: vec![],
                    },
                    None,
                ),
            }
        };
        failed |= !outcome.passed() && outcome != Outcome::Skipped;
        let r = StepResult {
            index,
            kind: kind(step).to_string(),
            description,
            assertion: step.is_assertion(),
            start_ms,
            end_ms: cx.now_ms(),
            outcome,
            outage,
        };
        on_event(&Event::StepFinished(r.clone()));
        steps.push(r);
    }
    let end_ms = cx.now_ms();
    let (samples, vip_timeline) = samplers.stop();
    let stalls = canary.stop();
    for w in allowed.iter_mut() {
        w.1 = w.1.min(end_ms);
    }
    let violations = violations(&vip_timeline, &allowed);
    let passed = !failed && violations.is_empty();
    let duration_ms = end_ms;
    on_event(&Event::ScenarioFinished {
        passed,
        duration_ms,
    });
    let mut r = ScenarioResult {
        lab: lab.name.clone(),
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        engine: engine.to_string(),
        started_unix_ms,
        duration_ms,
        passed,
        steps,
        samples,
        vip_timeline,
        faults,
        violations,
        error: None,
        stalls: Vec::new(),
        starved: None,
        rerun_after: None,
    };
    r.starved = starvation::verdict(&r, &stalls);
    r.stalls = stalls;
    r
}

fn kind(step: &Step) -> &'static str {
    match step {
        Step::Service { action, .. } => match action {
            SvcAction::Start => "start",
            SvcAction::Stop => "stop",
            SvcAction::Kill => "kill",
            SvcAction::Restart => "restart",
            SvcAction::Reload => "reload",
            SvcAction::Freeze => "freeze",
            SvcAction::Thaw => "thaw",
        },
        Step::Link { up: true, .. } => "link_up",
        Step::Link { up: false, .. } => "link_down",
        Step::Partition { .. } => "partition",
        Step::Heal { .. } => "heal",
        Step::Loss { .. } => "loss",
        Step::Wait(_) => "wait",
        Step::Vip { .. } => "vip",
        Step::Distribution { .. } => "distribution",
        Step::Http { .. } => "http",
        Step::Stats { .. } => "stats",
        Step::State { .. } => "state",
        Step::Outage { .. } => "outage",
    }
}

/// Some(true) for a fault, Some(false) for a repair, None for neither.
fn is_fault(step: &Step) -> Option<bool> {
    match step {
        Step::Service { action, .. } => Some(matches!(
            action,
            SvcAction::Stop | SvcAction::Kill | SvcAction::Freeze
        )),
        Step::Link { up, .. } => Some(!up),
        Step::Partition { .. } | Step::Loss { .. } => Some(true),
        Step::Heal { .. } => Some(false),
        _ => None,
    }
}

/// A timeline mark says what was done: "haproxy on lb1 killed", "haproxy on lb1 started".
fn mark(step: &Step, description: &str) -> String {
    match step {
        Step::Service { action, .. } => {
            let done = match action {
                SvcAction::Start => "started",
                SvcAction::Stop => "stopped",
                SvcAction::Kill => "killed",
                SvcAction::Restart => "restarted",
                SvcAction::Reload => "reloaded",
                SvcAction::Freeze => "frozen",
                SvcAction::Thaw => "thawed",
            };
            format!("{description} {done}")
        }
        _ => description.to_string(),
    }
}

pub fn describe(step: &Step) -> String {
    let svcs = |s: &[SvcRef]| {
        s.iter()
            .map(|x| format!("{x:?}").to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let within = |w: &Option<Duration>| {
        w.map(|d| format!(" within {:.1}s", d.as_secs_f64()))
            .unwrap_or_default()
    };
    match step {
        // Reporters print the kind first: "stop: vrrp, haproxy on lb1".
        Step::Service { node, services, .. } => format!("{} on {node}", svcs(services)),
        Step::Link {
            up,
            node,
            interface,
        } => format!(
            "cable of {node}{} {}",
            interface
                .as_ref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default(),
            if *up { "plugged back" } else { "cut" }
        ),
        Step::Partition {
            a,
            b,
            direction,
            vrrp_only,
        } => format!(
            "partition {} | {} ({direction:?}{})",
            a.join(","),
            b.join(","),
            if *vrrp_only { ", VRRP only" } else { "" }
        ),
        Step::Heal { .. } => "heal partitions and loss".to_string(),
        Step::Loss { nodes, percent } => format!(
            "drop {percent}% of VRRP packets on {}",
            if nodes.is_empty() {
                "every LB".to_string()
            } else {
                nodes.join(",")
            }
        ),
        Step::Wait(d) => format!("wait {:.1}s", d.as_secs_f64()),
        Step::Vip {
            holders,
            vip,
            within: w,
            throughout,
        } => {
            let on = match holders.len() {
                0 => "no node".to_string(),
                1 => holders[0].clone(),
                _ => format!("{} at once (split brain)", holders.join(" and ")),
            };
            if *throughout {
                return format!(
                    "VIP {}on {on} throughout (never moved)",
                    vip.map(|v| format!("{v} ")).unwrap_or_default()
                );
            }
            // Without `vip:`, a named holder means every VIP of its instances.
            let which = match (vip, holders.len()) {
                (Some(v), _) => format!("{v} "),
                (None, 1) => "(every one of its instances') ".to_string(),
                (None, _) => String::new(),
            };
            format!("VIP {which}on {on}{}", within(w))
        }
        Step::Distribution {
            requests,
            backends,
            absent,
            order,
            path,
            status,
            request_headers,
            ..
        } => {
            let mut s = format!("{requests} requests");
            if path != "/" || !request_headers.is_empty() {
                s.push_str(&format!(" for {path}{}", sent(request_headers)));
            }
            if let Some(st) = status {
                s.push_str(&format!(" (status {st})"));
            }
            s.push_str(&format!(
                " spread over {}",
                backends
                    .as_ref()
                    .map_or("any backends".to_string(), |b| b.join(", "))
            ));
            if !absent.is_empty() {
                s.push_str(&format!(", never {}", absent.join(", ")));
            }
            match order {
                super::file::Order::RoundRobin => s.push_str(", round robin"),
                super::file::Order::Sticky => s.push_str(", all from one backend"),
                super::file::Order::Any => {}
            }
            s
        }
        Step::Http {
            path,
            status,
            contains,
            header,
            request_headers,
            ..
        } => {
            let mut s = format!("GET {path}{} -> {status}", sent(request_headers));
            if let Some(c) = contains {
                s.push_str(&format!(" containing {c:?}"));
            }
            for (k, v) in header {
                s.push_str(&format!(", {k}: {v}"));
            }
            s
        }
        Step::Stats {
            node,
            backend,
            server,
            up,
            within: w,
        } => format!(
            "stats on {node}: {backend}/{server} {}{}",
            if *up { "UP" } else { "DOWN" },
            within(w)
        ),
        Step::State {
            node,
            instance,
            state,
            within: w,
        } => format!(
            "{node} {} {state}{}",
            instance.as_deref().unwrap_or("VRRP"),
            within(w)
        ),
        Step::Outage {
            max_failed,
            max_gap,
            down,
            vip,
        } => {
            let mut parts = Vec::new();
            if let Some(v) = vip {
                parts.push(format!("via {v}"));
            }
            if let Some(f) = max_failed {
                parts.push(format!("at most {f} failed requests"));
            }
            if let Some(g) = max_gap {
                parts.push(format!("longest gap at most {g}"));
            }
            if *down {
                parts.push("service down".into());
            }
            if parts.is_empty() {
                "measured".to_string()
            } else {
                parts.join(", ")
            }
        }
    }
}

/// ` with Cookie: SERVERID=A` for the request headers a step sends.
fn sent(headers: &[(String, String)]) -> String {
    if headers.is_empty() {
        return String::new();
    }
    format!(
        " with {}",
        headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Performs an action step. `allowed` gets the windows in which the invariant monitor must
/// accept two VIP holders (a partition, a frozen or cut-off master).
fn act(cx: &Ctx<'_>, step: &Step, allowed: &mut Vec<(u64, u64)>) -> Result<Option<String>, String> {
    let settle = crate::apply::settle_timeout(cx.lab).as_millis();
    let settle = u64::try_from(settle).unwrap_or(10_000);
    let open_window = |allowed: &mut Vec<(u64, u64)>| {
        if allowed.last().is_none_or(|w| w.1 != u64::MAX) {
            allowed.push((cx.now_ms(), u64::MAX));
        }
    };
    let close_window = |allowed: &mut Vec<(u64, u64)>, extra: u64| {
        if let Some(w) = allowed.last_mut().filter(|w| w.1 == u64::MAX) {
            w.1 = cx.now_ms() + settle + extra;
        }
    };
    match step {
        Step::Service {
            action,
            node,
            services,
        } => {
            let m = cx.machine(node)?;
            let mut done = Vec::new();
            for s in services {
                let svc = resolve(cx.lab, node, *s);
                let vrrp = matches!(svc, Service::Keepalived | Service::Halabd);
                match action {
                    SvcAction::Start => {
                        services::start(m.as_ref(), svc, cx.halabd).map_err(|e| e.to_string())?;
                    }
                    SvcAction::Stop => {
                        services::stop(m.as_ref(), svc, Stop::Graceful)
                            .map_err(|e| e.to_string())?;
                    }
                    SvcAction::Kill => {
                        services::stop(m.as_ref(), svc, Stop::Kill).map_err(|e| e.to_string())?;
                        if vrrp {
                            // A crashed VRRP daemon leaves its VIP on the interface: two holders
                            // until the node's addresses are cleaned, which is the point.
                            open_window(allowed);
                        }
                    }
                    SvcAction::Restart => {
                        services::stop(m.as_ref(), svc, Stop::Graceful)
                            .map_err(|e| e.to_string())?;
                        services::start(m.as_ref(), svc, cx.halabd).map_err(|e| e.to_string())?;
                    }
                    SvcAction::Reload => {
                        services::reload(m.as_ref(), svc, cx.halabd).map_err(|e| e.to_string())?
                    }
                    SvcAction::Freeze => {
                        if !services::freeze(m.as_ref(), svc, true).map_err(|e| e.to_string())? {
                            return Err(format!("{} does not run on {node}", svc.name()));
                        }
                        if vrrp {
                            open_window(allowed);
                        }
                    }
                    SvcAction::Thaw => {
                        services::freeze(m.as_ref(), svc, false).map_err(|e| e.to_string())?;
                        if vrrp {
                            close_window(allowed, 0);
                        }
                    }
                }
                done.push(svc.name());
            }
            if matches!(action, SvcAction::Start | SvcAction::Restart)
                && services.iter().any(|s| {
                    matches!(
                        resolve(cx.lab, node, *s),
                        Service::Keepalived | Service::Halabd
                    )
                })
            {
                close_window(allowed, 0);
            }
            Ok(Some(done.join(", ")))
        }
        Step::Link {
            up,
            node,
            interface,
        } => {
            faults::link(cx.fleet.as_ref(), cx.lab, node, interface.as_deref(), *up)?;
            if *up {
                close_window(allowed, 0);
            } else {
                open_window(allowed);
            }
            Ok(None)
        }
        Step::Partition {
            a,
            b,
            direction,
            vrrp_only,
        } => {
            open_window(allowed);
            faults::partition(cx.fleet.as_ref(), cx.lab, a, b, *direction, *vrrp_only)
                .map(|()| None)
        }
        Step::Heal { arp_grace } => {
            faults::heal(cx.fleet.as_ref(), cx.lab)?;
            close_window(
                allowed,
                arp_grace.map_or(0, |b| {
                    u64::try_from(b.for_lab(cx.lab).as_millis()).unwrap_or(0)
                }),
            );
            Ok(None)
        }
        Step::Loss { nodes, percent } => {
            // Lost adverts make a backup a master for a moment: two holders are expected
            // until `heal`, as with a partition.
            open_window(allowed);
            let nodes: Vec<String> = if nodes.is_empty() {
                cx.lab.lbs().map(|n| n.name.clone()).collect()
            } else {
                nodes.clone()
            };
            faults::vrrp_loss(cx.fleet.as_ref(), &nodes, *percent).map(|()| None)
        }
        Step::Wait(d) => {
            std::thread::sleep(*d);
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// Intervals in which two nodes held a VIP, or the client's ARP entry pointed at a node
/// that did not hold it while another did, for longer than the grace, outside allowed windows.
fn violations(timeline: &[super::result::VipSample], allowed: &[(u64, u64)]) -> Vec<Violation> {
    let mut by_vip: BTreeMap<IpAddr, Vec<&super::result::VipSample>> = BTreeMap::new();
    for s in timeline {
        by_vip.entry(s.vip).or_default().push(s);
    }
    let mut out = Vec::new();
    for (vip, samples) in by_vip {
        // (first bad sample, last bad sample, label) of the interval being seen.
        let mut open: Option<(u64, u64, String)> = None;
        for s in &samples {
            let bad = if s.holders.len() > 1 {
                Some(format!(
                    "VIP {vip} held by {} at once",
                    s.holders.join(" and ")
                ))
            } else if let (Some(arp), Some(h)) = (&s.client_arp, s.holders.first()) {
                (!s.holders.contains(arp)).then(|| {
                    let kind = if vip.is_ipv6() { "NDP" } else { "ARP" };
                    format!("client's {kind} entry for {vip} points at {arp}, but {h} holds it")
                })
            } else {
                None
            };
            let excused = allowed.iter().any(|w| s.t_ms >= w.0 && s.t_ms <= w.1);
            let split = s.holders.len() > 1;
            match (bad.filter(|_| !excused), &mut open) {
                (Some(what), None) => open = Some((s.t_ms, s.t_ms, what)),
                // One bad interval, named by its worst sample: a client pointed at the
                // newcomer a moment before the monitor saw it hold the VIP is a split brain.
                (Some(what), Some((_, last, label))) => {
                    *last = s.t_ms;
                    if split && !label.ends_with(" at once") {
                        *label = what;
                    }
                }
                (None, Some((start, last, what))) => {
                    // Only what was seen counts against the grace: from the first bad sample
                    // to the last. A monitor round over ssh on a loaded machine can take a
                    // second or two and read the holders and the client's ARP entry at
                    // different moments: one such round between good ones proves no
                    // interval, and the gap to the next round is not an observation.
                    if *last - *start > INVARIANT_GRACE_MS {
                        out.push(Violation {
                            start_ms: *start,
                            end_ms: s.t_ms,
                            what: what.clone(),
                        });
                    }
                    open = None;
                }
                (None, None) => {}
            }
        }
        if let Some((start, last, what)) = open
            && last - start > INVARIANT_GRACE_MS
        {
            out.push(Violation {
                start_ms: start,
                end_ms: last,
                what,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: a kill and a start of haproxy on lb1. Output: marks that say which was done.
    #[test]
    fn fault_and_repair_marks_say_what_was_done() {
        let step = |action| Step::Service {
            action,
            node: "lb1".into(),
            services: vec![SvcRef::Haproxy],
        };
        let kill = step(SvcAction::Kill);
        let start = step(SvcAction::Start);
        assert_eq!(mark(&kill, &describe(&kill)), "haproxy on lb1 killed");
        assert_eq!(mark(&start, &describe(&start)), "haproxy on lb1 started");
    }

    // Input: the client's ARP entry moves to lb2 a sample before the monitor sees lb2 hold
    // the VIP beside lb1, then both hold it for 2 s. Output: one violation, named as what it
    // is: a split brain.
    #[test]
    fn an_interval_is_named_by_its_split_brain() {
        let vip = IpAddr::V4(std::net::Ipv4Addr::new(10, 10, 0, 10));
        let sample = |t_ms, holders: &[&str], arp: &str| super::super::result::VipSample {
            t_ms,
            vip,
            holders: holders.iter().map(|h| (*h).to_string()).collect(),
            client_arp: Some(arp.to_string()),
        };
        let mut timeline = vec![sample(0, &["lb1"], "lb1"), sample(50, &["lb1"], "lb2")];
        timeline.extend((2..=42).map(|k| sample(50 * k, &["lb1", "lb2"], "lb2")));
        timeline.push(sample(2200, &["lb1"], "lb1"));
        let v = violations(&timeline, &[]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!((v[0].start_ms, v[0].end_ms), (50, 2200));
        assert!(v[0].what.ends_with(" at once"), "{v:?}");
    }

    // Input: monitor rounds 2.3 s apart (ssh on a loaded machine): one round read lb2 as the
    // holder and the client's ARP entry already at lb1 (read later in the round), the next
    // round is consistent; then a real one: lb2 holds the VIP while the client points at lb1
    // in every round for 2.4 s. Output: no violation for the lone round, one for the real one.
    #[test]
    fn a_lone_inconsistent_round_is_no_violation_but_a_seen_interval_is() {
        let vip = IpAddr::V4(std::net::Ipv4Addr::new(10, 10, 0, 10));
        let sample = |t_ms, holder: &str, arp: &str| super::super::result::VipSample {
            t_ms,
            vip,
            holders: vec![holder.to_string()],
            client_arp: Some(arp.to_string()),
        };
        let lone = vec![
            sample(0, "lb1", "lb1"),
            sample(2300, "lb2", "lb1"),
            sample(4600, "lb1", "lb1"),
        ];
        assert_eq!(violations(&lone, &[]), vec![]);
        let seen: Vec<_> = (0..=3)
            .map(|k| sample(800 * k, "lb2", "lb1"))
            .chain([sample(3200, "lb2", "lb2")])
            .collect();
        let v = violations(&seen, &[]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!((v[0].start_ms, v[0].end_ms), (0, 3200));
    }
}
