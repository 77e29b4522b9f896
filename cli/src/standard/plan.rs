//! The standard suite's scenarios, derived from the lab: per VRRP instance, per tracked
//! service, per backend, and both LBs down. Each comes with its [`Expectation`]: what the
//! lab's configuration says will happen, in the operator's words. Bounds come from the
//! lab's own timers ([`super::expect`]) plus [`MARGIN_MS`] for a loaded machine.

use std::net::IpAddr;
use std::time::Duration;

use super::expect::{self, Effective, Timers};
use crate::lab::model::{Lab, ProxyKind, VrrpInstance};
use crate::scenario::bound::Bound;
use crate::scenario::file::{Direction, Order, Scenario, Step, SvcAction, SvcRef};

/// Added to every bound computed from the timers: process start-up, a loaded machine.
pub const MARGIN_MS: u64 = 2000;

/// What the configuration says a fault does to the VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The VIP moves to this node.
    Moves { to: String },
    /// The VIP stays where it is.
    Stays,
    /// The VIP stays, and the track script restarts the dead service.
    Restarted,
    /// Nobody holds it: the service is down until the LBs return.
    Down,
    /// Every member holds it (split brain).
    Everywhere,
    /// No VIP moves: the fault is behind haproxy (a backend).
    Rotation,
}

#[derive(Debug, Clone)]
pub struct Expectation {
    /// The fault, as an operator says it: "haproxy dies on lb1".
    pub fault: String,
    pub vip: IpAddr,
    /// The node holding the VIP before the fault.
    pub holder: String,
    pub outcome: Outcome,
    /// Why, from the configuration: "(track script chk interval 2, fall 2, weight 2 ...)".
    pub why: String,
    /// The time the configuration gives the outcome, in ms (before the margin).
    pub expected_ms: u64,
    /// A flaw the expectation reveals (a weight too small to move the VIP).
    pub finding: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Planned {
    pub scenario: Scenario,
    pub expectation: Expectation,
}

/// Everything the suite would run on `lab`, and what it could not derive (with why).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub planned: Vec<Planned>,
    pub skipped: Vec<String>,
}

/// The standard suite of `lab`.
pub fn plan(lab: &Lab) -> Plan {
    let mut p = Plan::default();
    let probed = crate::observe::client_vips(lab);
    for inst in &lab.vrrp {
        instance(lab, inst, &probed, &mut p);
    }
    backends(lab, &mut p);
    both_down(lab, &probed, &mut p);
    p
}

fn ms(d: u64) -> Duration {
    Duration::from_millis(d)
}

fn svc(action: SvcAction, node: &str, s: SvcRef) -> Step {
    Step::Service {
        action,
        node: node.to_string(),
        services: vec![s],
    }
}

fn holder(nodes: &[&str], vip: IpAddr, within: u64, throughout: bool) -> Step {
    Step::Vip {
        holders: nodes.iter().map(|s| (*s).to_string()).collect(),
        vip: Some(vip),
        within: Some(ms(within)),
        throughout,
    }
}

fn outage(vip: Option<IpAddr>, max_gap_ms: Option<u64>) -> Step {
    Step::Outage {
        max_failed: None,
        max_gap: max_gap_ms.map(|g| Bound::all(ms(g))),
        down: false,
        vip,
    }
}

fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The scenarios of one VRRP instance (its first VIP measured).
fn instance(lab: &Lab, inst: &VrrpInstance, probed: &[IpAddr], p: &mut Plan) {
    let Some(vip) = inst.vips.first().map(|v| v.address) else {
        return;
    };
    let ranked = expect::ranked(lab, inst);
    let (Some(m), Some(b)) = (ranked.first(), ranked.get(1)) else {
        p.skipped.push(format!(
            "{}: one member only, nothing to fail over to",
            inst.name
        ));
        return;
    };
    // The VIP is measured where the client reaches it through haproxy.
    let measured = probed.contains(&vip).then_some(vip);
    let t = expect::timers(inst, b.base);
    let name = |kind: &str| format!("{}-{kind}", inst.name);
    let back = |steps: &mut Vec<Step>, within: u64| {
        // Back where it was: preemption returns it to the master; nopreempt leaves it.
        let to = if inst.preempt { &m.node } else { &b.node };
        steps.push(holder(&[to], vip, within, false));
        steps.push(outage(measured, Some(t.master_down_ms + MARGIN_MS)));
    };
    let interface = inst.member(&m.node).map(|x| x.interface.clone());
    let all_members: Vec<&str> = inst.members.iter().map(|x| x.node.as_str()).collect();
    let others: Vec<String> = all_members
        .iter()
        .filter(|n| **n != m.node)
        .map(|n| (*n).to_string())
        .collect();
    let skew_why = format!(
        "priority-0 advert, then {}'s skew time ({}/256 x {} s)",
        b.node,
        256 - u32::from(b.base),
        inst.advert_int_secs()
    );
    let down_why = format!(
        "{} waits 3 x advert_int {} s + skew: {}",
        b.node,
        inst.advert_int_secs(),
        secs(t.master_down_ms)
    );

    // 1. Graceful stop: keepalived sends priority 0, the backup takes over after its skew.
    let mut steps = vec![
        holder(&[&m.node], vip, t.master_down_ms + MARGIN_MS, false),
        svc(SvcAction::Stop, &m.node, SvcRef::Vrrp),
        holder(&[&b.node], vip, t.skew_ms + MARGIN_MS, false),
        outage(measured, Some(t.skew_ms + MARGIN_MS)),
        svc(SvcAction::Start, &m.node, SvcRef::Vrrp),
    ];
    back(&mut steps, 2 * t.master_down_ms + MARGIN_MS);
    push(
        p,
        name("master-stop"),
        steps,
        Expectation {
            fault: format!("the VRRP daemon stops gracefully on {}", m.node),
            vip,
            holder: m.node.clone(),
            outcome: Outcome::Moves { to: b.node.clone() },
            why: skew_why,
            expected_ms: t.skew_ms,
            finding: None,
        },
    );

    // 2. Crash: no last advert; the backup waits Master_Down_Interval. The dead master's VIP
    // stays on its interface: two holders until it restarts.
    let mut steps = vec![
        holder(&[&m.node], vip, t.master_down_ms + MARGIN_MS, false),
        svc(SvcAction::Kill, &m.node, SvcRef::Vrrp),
        holder(
            &[m.node.as_str(), b.node.as_str()],
            vip,
            t.master_down_ms + MARGIN_MS,
            false,
        ),
        outage(measured, Some(t.master_down_ms + MARGIN_MS)),
        svc(SvcAction::Start, &m.node, SvcRef::Vrrp),
    ];
    back(&mut steps, 2 * t.master_down_ms + MARGIN_MS);
    push(
        p,
        name("master-crash"),
        steps,
        Expectation {
            fault: format!("the VRRP daemon crashes on {} (SIGKILL)", m.node),
            vip,
            holder: m.node.clone(),
            outcome: Outcome::Moves { to: b.node.clone() },
            why: format!(
                "{down_why}; the crashed daemon leaves the VIP on {}'s interface",
                m.node
            ),
            expected_ms: t.master_down_ms,
            finding: None,
        },
    );

    // 3. Cable cut: the master goes FAULT (its interface is down), the backup hears nothing.
    let mut steps = vec![
        holder(&[&m.node], vip, t.master_down_ms + MARGIN_MS, false),
        Step::Link {
            up: false,
            node: m.node.clone(),
            interface: interface.clone(),
        },
        Step::Vip {
            holders: vec![b.node.clone()],
            vip: Some(vip),
            within: Some(ms(t.master_down_ms + MARGIN_MS)),
            throughout: false,
        },
        outage(measured, Some(t.master_down_ms + MARGIN_MS)),
        Step::Link {
            up: true,
            node: m.node.clone(),
            interface,
        },
    ];
    back(&mut steps, 2 * t.master_down_ms + MARGIN_MS);
    push(
        p,
        name("cable-cut"),
        steps,
        Expectation {
            fault: format!("{}'s cable is cut", m.node),
            vip,
            holder: m.node.clone(),
            outcome: Outcome::Moves { to: b.node.clone() },
            why: down_why.clone(),
            expected_ms: t.master_down_ms,
            finding: None,
        },
    );

    // 4. Frozen daemon (SIGSTOP): silent like a crash, the VIP stays on the frozen node too.
    let mut steps = vec![
        holder(&[&m.node], vip, t.master_down_ms + MARGIN_MS, false),
        svc(SvcAction::Freeze, &m.node, SvcRef::Vrrp),
        holder(
            &[m.node.as_str(), b.node.as_str()],
            vip,
            t.master_down_ms + MARGIN_MS,
            false,
        ),
        outage(measured, Some(t.master_down_ms + MARGIN_MS)),
        svc(SvcAction::Thaw, &m.node, SvcRef::Vrrp),
    ];
    back(&mut steps, 2 * t.master_down_ms + MARGIN_MS);
    push(
        p,
        name("master-frozen"),
        steps,
        Expectation {
            fault: format!("the VRRP daemon on {} freezes (SIGSTOP)", m.node),
            vip,
            holder: m.node.clone(),
            outcome: Outcome::Moves { to: b.node.clone() },
            why: down_why.clone(),
            expected_ms: t.master_down_ms,
            finding: None,
        },
    );

    // 5. Each tracked service killed, as the track scripts say.
    for s in inst.track_scripts.iter().filter_map(|n| lab.script(n)) {
        tracked(lab, inst, s, &ranked, t, vip, measured, p);
    }

    // 6. Split brain and heal: the LBs stop hearing each other, then hear each other again.
    let steps = vec![
        holder(&[&m.node], vip, t.master_down_ms + MARGIN_MS, false),
        Step::Partition {
            a: vec![m.node.clone()],
            b: others,
            direction: Direction::Both,
            vrrp_only: false,
        },
        holder(&all_members, vip, t.master_down_ms + MARGIN_MS, false),
        outage(measured, Some(MARGIN_MS)),
        Step::Heal {
            arp_grace: Some(Bound {
                keepalived: ms(65_000),
                halabd: ms(1_000),
            }),
        },
        holder(&[&m.node], vip, t.master_down_ms + MARGIN_MS, false),
        Step::Outage {
            max_failed: None,
            max_gap: Some(Bound {
                keepalived: ms(65_000),
                halabd: ms(1_500),
            }),
            down: false,
            vip: measured,
        },
    ];
    push(
        p,
        name("split-brain"),
        steps,
        Expectation {
            fault: format!(
                "the LBs of {} stop hearing each other, then heal",
                inst.name
            ),
            vip,
            holder: m.node.clone(),
            outcome: Outcome::Everywhere,
            why: format!(
                "each becomes MASTER after {}; on heal {} wins (priority {}); with keepalived the client may keep the loser's ARP entry up to 65 s",
                secs(t.master_down_ms),
                m.node,
                m.priority
            ),
            expected_ms: t.master_down_ms,
            finding: None,
        },
    );
}

/// haproxy's or nginx's death on the master, as one of its track scripts sees it.
#[expect(clippy::too_many_arguments)]
fn tracked(
    lab: &Lab,
    inst: &VrrpInstance,
    s: &crate::lab::model::TrackScript,
    ranked: &[Effective],
    t: Timers,
    vip: IpAddr,
    measured: Option<IpAddr>,
    p: &mut Plan,
) {
    let (m, b) = (&ranked[0], &ranked[1]);
    let Some(service) = expect::watched_service(lab, s) else {
        p.skipped.push(format!(
            "{}: cannot tell which service track script `{}` watches (`{}`): no tracked-service scenario",
            inst.name, s.name, s.script
        ));
        return;
    };
    let Some(member) = inst.member(&m.node) else {
        return;
    };
    let failed = expect::effective(lab, inst, member, &[s.name.as_str()]);
    let moves = expect::wins(b, &failed);
    let detect = expect::detect_ms(s);
    let svc_ref = if service == "haproxy" {
        SvcRef::Haproxy
    } else {
        SvcRef::Nginx
    };
    let timers = format!(
        "track script {} interval {}, fall {}, weight {}",
        s.name,
        s.interval,
        s.fall.max(1),
        s.weight
    );
    let never = expect::never_succeeds(lab, s);
    let (why, expected_ms, finding, outcome) = if let Some(never) = never {
        let why = format!(
            "{timers}: the script fails on every LB all the time, so {} stays at {} and {} at {}",
            m.node, m.priority, b.node, b.priority
        );
        (
            why.clone(),
            detect + t.master_down_ms,
            Some(format!(
                "{service} dies on {} but the VIP stays there: clients get no answer until {service} is back. Track script {} can never succeed: {never} Both LBs always run with its weight {} applied ({why}), so {service}'s death changes nothing; probe an address haproxy listens on (the VIP, or bind *:{})",
                m.node,
                s.name,
                s.weight,
                probe_port(lab, s).unwrap_or(80)
            )),
            Outcome::Stays,
        )
    } else if failed.fault {
        (
            format!(
                "{timers}: weight 0 puts {} in FAULT after {}, {} takes over after its skew time",
                m.node,
                secs(detect),
                b.node
            ),
            detect + t.skew_ms,
            None,
            Outcome::Moves { to: b.node.clone() },
        )
    } else if moves {
        (
            format!(
                "{timers}: {} drops from {} to {}, below {}'s {}; {} takes over after 3 x advert_int + skew",
                m.node, m.priority, failed.priority, b.node, b.priority, b.node
            ),
            detect + t.master_down_ms,
            None,
            Outcome::Moves { to: b.node.clone() },
        )
    } else if expect::restarts(lab, s, service) {
        // The script brings the service back itself: the VIP never needs to move.
        (
            format!(
                "{timers}: the script restarts {service}; {} only drops from {} to {}, not below {}'s {}",
                m.node, m.priority, failed.priority, b.node, b.priority
            ),
            detect,
            None,
            Outcome::Restarted,
        )
    } else {
        let why = format!(
            "{timers}: {} only drops from {} to {}, not below {}'s {}",
            m.node, m.priority, failed.priority, b.node, b.priority
        );
        (
            why.clone(),
            detect + t.master_down_ms,
            Some(format!(
                "{service} dies on {} but the VIP stays there: clients get no answer until {service} is back ({why}); make the weight larger than the priority gap ({} - {}) or use weight 0",
                m.node, m.priority, b.priority
            )),
            Outcome::Stays,
        )
    };
    let finding = finding.or_else(|| stops_daemon(lab, s, service, m, b, &outcome, inst));
    let mut steps = vec![
        holder(&[&m.node], vip, t.master_down_ms + MARGIN_MS, false),
        svc(SvcAction::Kill, &m.node, svc_ref),
    ];
    if matches!(outcome, Outcome::Moves { .. }) {
        steps.push(holder(&[&b.node], vip, expected_ms + MARGIN_MS, false));
        steps.push(outage(measured, Some(expected_ms + MARGIN_MS)));
    } else if outcome == Outcome::Restarted {
        // Back within a script run (plus the script's own timeout), on the same node.
        let script_ms = s.timeout.map_or(0, |t| (t * 1000.0).ceil() as u64);
        steps.push(holder(&[&m.node], vip, 0, false));
        steps.push(outage(measured, Some(expected_ms + script_ms + MARGIN_MS)));
    } else {
        steps.push(Step::Wait(ms(expected_ms + MARGIN_MS)));
        steps.push(holder(&[&m.node], vip, 0, true));
        // Measured, not bounded: the outage lasts as long as the service is dead.
        if measured.is_some() {
            steps.push(Step::Outage {
                max_failed: None,
                max_gap: None,
                down: true,
                vip: measured,
            });
        }
    }
    steps.push(svc(SvcAction::Start, &m.node, svc_ref));
    let to = if inst.preempt || !moves {
        &m.node
    } else {
        &b.node
    };
    steps.push(holder(
        &[to],
        vip,
        detect + 2 * t.master_down_ms + MARGIN_MS,
        false,
    ));
    steps.push(outage(
        measured,
        Some(detect + t.master_down_ms + MARGIN_MS),
    ));
    push(
        p,
        format!("{}-{service}-dies", inst.name),
        steps,
        Expectation {
            fault: format!("{service} dies on {}", m.node),
            vip,
            holder: m.node.clone(),
            outcome,
            why,
            expected_ms,
            finding,
        },
    );
}

fn probe_port(lab: &Lab, s: &crate::lab::model::TrackScript) -> Option<u16> {
    let t = format!("{} ", s.script);
    let i = t.find("/dev/tcp/")?;
    let port = t[i..].split('/').nth(4)?;
    let digits: String = port.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .ok()
        .or_else(|| lab.haproxy.proxies.first()?.binds.first().map(|b| b.port))
}

/// A track script that stops the VRRP daemon when its service is gone (seed 001's
/// `systemctl stop keepalived`): the VIP moves, but the LB leaves the pair until someone
/// starts keepalived again.
fn stops_daemon(
    lab: &Lab,
    s: &crate::lab::model::TrackScript,
    service: &str,
    m: &Effective,
    b: &Effective,
    outcome: &Outcome,
    inst: &VrrpInstance,
) -> Option<String> {
    if !matches!(outcome, Outcome::Moves { .. }) {
        return None;
    }
    let line = expect::stops_vrrp(lab, s)?;
    let lab_note = if line.contains("systemctl") {
        " In this lab `systemctl` cannot reach the node's keepalived (a netns node has no systemd), so the script's failing exit status moved the VIP instead, as measured."
    } else {
        ""
    };
    let back = if inst.preempt {
        format!("so {} does not take the VIP back", m.node)
    } else {
        "the pair runs without its backup".to_string()
    };
    Some(format!(
        "track script {} stops keepalived when {service} is gone (`{line}`): the VIP moves to {}, but keepalived does not come back with {service} on {}, {back}, and if {service} then dies on {} too, its script stops keepalived there and nobody holds the VIP.{lab_note} Let the script only fail (weight, or weight 0 for FAULT) and keepalived returns the VIP by itself",
        s.name, b.node, m.node, b.node
    ))
}

/// Per server of the default backend behind the probed frontend: down, out of rotation, back.
fn backends(lab: &Lab, p: &mut Plan) {
    let Some(front) = lab
        .haproxy
        .proxies
        .iter()
        .find(|x| x.kind != ProxyKind::Backend && x.stats.is_none())
    else {
        return;
    };
    let backend = match &front.default_backend {
        Some(b) => lab.haproxy.proxy(b),
        None => Some(front),
    };
    let Some(backend) = backend else { return };
    let Some(vip) = crate::observe::client_vips(lab).first().copied() else {
        return;
    };
    let in_rotation: Vec<String> = backend
        .servers
        .iter()
        .filter(|s| !s.backup)
        .filter_map(|s| s.node.clone())
        .collect();
    for s in &backend.servers {
        let Some(node) = &s.node else { continue };
        if s.backup {
            continue;
        }
        let opts = backend.server_defaults.clone().unwrap_or_default();
        let inter = s
            .inter
            .as_deref()
            .or(opts.inter.as_deref())
            .and_then(haproxy_ms)
            .unwrap_or(2000);
        let fall = u64::from(s.fall.or(opts.fall).unwrap_or(3));
        let rise = u64::from(s.rise.or(opts.rise).unwrap_or(2));
        let fault = format!(
            "nginx stops on {node} (server {} of backend {})",
            s.name, backend.name
        );
        if !s.check {
            p.skipped.push(format!(
                "{fault}: haproxy does not check it (no `check`), so it keeps sending it requests that fail: add `check` to the server line"
            ));
            continue;
        }
        let others: Vec<String> = in_rotation.iter().filter(|n| *n != node).cloned().collect();
        let n = u32::try_from(in_rotation.len().max(1) * 3).unwrap_or(9);
        let steps = vec![
            svc(SvcAction::Stop, node, SvcRef::Nginx),
            Step::Distribution {
                requests: n,
                backends: Some(others),
                absent: vec![node.clone()],
                order: Order::Any,
                tolerance: None,
                path: "/".into(),
                status: None,
                request_headers: vec![],
                vip: Some(vip),
                within: Some(ms(inter * fall + MARGIN_MS)),
            },
            svc(SvcAction::Start, node, SvcRef::Nginx),
            Step::Distribution {
                requests: n,
                backends: Some(in_rotation.clone()),
                absent: vec![],
                order: Order::Any,
                tolerance: None,
                path: "/".into(),
                status: None,
                request_headers: vec![],
                vip: Some(vip),
                within: Some(ms(inter * rise + MARGIN_MS)),
            },
        ];
        push(
            p,
            format!("backend-{node}-down"),
            steps,
            Expectation {
                fault,
                vip,
                holder: String::new(),
                outcome: Outcome::Rotation,
                why: format!(
                    "checks every {} ms: out after fall {fall} ({}), back after rise {rise} ({})",
                    inter,
                    secs(inter * fall),
                    secs(inter * rise)
                ),
                expected_ms: inter * fall,
                finding: None,
            },
        );
    }
}

/// haproxy's `inter`: a bare number is milliseconds.
fn haproxy_ms(s: &str) -> Option<u64> {
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().ok();
    }
    crate::scenario::file::parse_duration(s).map(|d| u64::try_from(d.as_millis()).unwrap_or(0))
}

/// Every LB's VRRP daemon and haproxy stop, then start: the service is down, then back.
fn both_down(lab: &Lab, probed: &[IpAddr], p: &mut Plan) {
    let Some(inst) = lab.vrrp.first() else { return };
    let Some(vip) = inst.vips.first().map(|v| v.address) else {
        return;
    };
    let ranked = expect::ranked(lab, inst);
    let Some(m) = ranked.first() else { return };
    let b = ranked.get(1).map_or(m.base, |x| x.base);
    let t = expect::timers(inst, b);
    let lbs: Vec<&str> = inst.members.iter().map(|x| x.node.as_str()).collect();
    let mut steps = vec![holder(&[&m.node], vip, t.master_down_ms + MARGIN_MS, false)];
    for n in &lbs {
        steps.push(Step::Service {
            action: SvcAction::Stop,
            node: (*n).to_string(),
            services: vec![SvcRef::Vrrp, SvcRef::Haproxy],
        });
    }
    steps.push(holder(&[], vip, t.master_down_ms + MARGIN_MS, false));
    if probed.contains(&vip) {
        steps.push(Step::Outage {
            max_failed: None,
            max_gap: None,
            down: true,
            vip: Some(vip),
        });
    }
    for n in &lbs {
        steps.push(Step::Service {
            action: SvcAction::Start,
            node: (*n).to_string(),
            services: vec![SvcRef::Haproxy, SvcRef::Vrrp],
        });
    }
    steps.push(holder(&[&m.node], vip, t.master_down_ms + MARGIN_MS, false));
    steps.push(outage(
        probed.contains(&vip).then_some(vip),
        Some(t.master_down_ms + MARGIN_MS),
    ));
    push(
        p,
        "both-lbs-down".to_string(),
        steps,
        Expectation {
            fault: format!("every LB ({}) goes down, then comes back", lbs.join(", ")),
            vip,
            holder: m.node.clone(),
            outcome: Outcome::Down,
            why: format!(
                "nobody holds the VIP; on return each starts as BACKUP and waits {} before {} (priority {}) takes it",
                secs(t.master_down_ms),
                m.node,
                m.priority
            ),
            expected_ms: t.master_down_ms,
            finding: None,
        },
    );
}

fn push(p: &mut Plan, name: String, steps: Vec<Step>, e: Expectation) {
    p.planned.push(Planned {
        scenario: Scenario {
            name,
            description: Some(format!("{}: expected {}", e.fault, describe(&e))),
            steps,
        },
        expectation: e,
    });
}

/// The expectation in words: "VIP moves to lb2 within 3.6 s (...)".
pub fn describe(e: &Expectation) -> String {
    let t = secs(e.expected_ms);
    match &e.outcome {
        Outcome::Moves { to } => format!("VIP {} moves to {to} after ~{t} ({})", e.vip, e.why),
        Outcome::Stays => format!("VIP {} stays on {} ({})", e.vip, e.holder, e.why),
        Outcome::Restarted => format!(
            "VIP {} stays on {}, service back within ~{t} ({})",
            e.vip, e.holder, e.why
        ),
        Outcome::Down => format!("service down ({})", e.why),
        Outcome::Everywhere => format!("every LB holds VIP {} after ~{t} ({})", e.vip, e.why),
        Outcome::Rotation => format!("out of rotation within ~{t}, then back ({})", e.why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(name: &str) -> Lab {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../labs")
            .join(name)
            .join("lab.yaml");
        crate::lab::load(&file).unwrap_or_else(|e| panic!("{e}"))
    }

    fn names(p: &Plan) -> Vec<&str> {
        p.planned.iter().map(|x| x.scenario.name.as_str()).collect()
    }

    // Input: labs/seed000 (one instance, track script `killall -0 haproxy` weight 2, 101/100,
    // three checked servers). Output: every kind of scenario, haproxy's death moves the VIP
    // (103 -> 101 < 102) after interval + Master_Down_Interval, no finding.
    #[test]
    fn seed000_gets_every_scenario_and_haproxy_death_moves_the_vip() {
        let p = plan(&lab("seed000"));
        assert_eq!(
            names(&p),
            [
                "VI_1-master-stop",
                "VI_1-master-crash",
                "VI_1-cable-cut",
                "VI_1-master-frozen",
                "VI_1-haproxy-dies",
                "VI_1-split-brain",
                "backend-nginx1-down",
                "backend-nginx2-down",
                "backend-nginx3-down",
                "both-lbs-down"
            ]
        );
        let e = &p.planned[4].expectation;
        assert_eq!(
            e.outcome,
            Outcome::Moves {
                to: "loadbalance2".into()
            }
        );
        // interval 2 s x fall 1 + 3 x 1 s + skew (156/256 s, rounded up to the ms).
        assert_eq!(e.expected_ms, 2000 + 3000 + 610);
        assert!(p.planned.iter().all(|x| x.expectation.finding.is_none()));
        assert_eq!(p.planned[0].expectation.expected_ms, 610);
    }

    // Input: labs/seed002, whose chk_http_port has weight 2 on a priority gap of 4, but whose
    // checkHaproxy.sh restarts haproxy. Output: the VIP stays on the master and the service
    // comes back by the script's hand: no finding.
    #[test]
    fn seed002_script_restarts_haproxy_so_the_vip_stays() {
        let p = plan(&lab("seed002"));
        let dies = p
            .planned
            .iter()
            .find(|x| x.scenario.name == "VI_1-haproxy-dies")
            .expect("a haproxy-dies scenario");
        assert_eq!(dies.expectation.outcome, Outcome::Restarted);
        assert!(dies.expectation.finding.is_none());
        assert!(
            dies.expectation.why.contains("the script restarts haproxy"),
            "{}",
            dies.expectation.why
        );
    }
}
