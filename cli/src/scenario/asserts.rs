//! Assertion steps: each polls what an operator would look at until it holds or its deadline
//! passes, then explains itself (expected, seen, the last samples).
//!
//! Deadlines default to what the lab's timers allow: VRRP's 3 x advert + skew (twice, for a
//! priority drop that must first be detected), track-script detection, haproxy health checks.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::ctx::Ctx;
use super::file::{Order, Step};
use super::result::{Outage, Outcome};
use crate::lab::Lab;
use crate::observe;

/// VIP moves: two master-down intervals (detect, then take over), script detection, margin.
pub fn vip_deadline(lab: &Lab) -> Duration {
    let down = lab
        .vrrp
        .iter()
        .map(|v| v.master_down_ms())
        .max()
        .unwrap_or(4000);
    let script = lab
        .scripts
        .iter()
        .map(|s| {
            ((s.interval * f64::from(s.fall.max(s.rise)) + s.timeout.unwrap_or(s.interval))
                * 1000.0) as u64
        })
        .max()
        .unwrap_or(0);
    Duration::from_millis(2 * down + script + 3000)
}

/// haproxy health checks: a server goes DOWN after `fall` failed checks `inter` apart, and
/// UP after `rise` good ones.
pub fn health_deadline(lab: &Lab) -> Duration {
    let ms = |s: &str| -> u64 {
        let d = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let n: u64 = d.parse().unwrap_or(2000);
        match &s[d.len()..] {
            "s" => n * 1000,
            "m" => n * 60_000,
            "us" => n / 1000,
            _ => n,
        }
    };
    let worst = lab
        .haproxy
        .proxies
        .iter()
        .flat_map(|p| p.servers.iter().map(move |s| (p, s)))
        .map(|(p, s)| {
            let d = p.server_defaults.as_ref();
            let inter = s
                .inter
                .as_deref()
                .or(d.and_then(|d| d.inter.as_deref()))
                .map_or(2000, ms);
            let fall = u64::from(s.fall.or(d.and_then(|d| d.fall)).unwrap_or(3));
            let rise = u64::from(s.rise.or(d.and_then(|d| d.rise)).unwrap_or(2));
            inter * (fall.max(rise) + 1)
        })
        .max()
        .unwrap_or(8000);
    Duration::from_millis(worst + 3000)
}

fn poll<T>(
    deadline: Duration,
    every: Duration,
    mut f: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let end = Instant::now() + deadline;
    loop {
        let r = f();
        if r.is_ok() || Instant::now() >= end {
            return r;
        }
        std::thread::sleep(every);
    }
}

fn fail(expected: impl Into<String>, seen: impl Into<String>, last: Vec<String>) -> Outcome {
    Outcome::Failed {
        expected: expected.into(),
        seen: seen.into(),
        last_samples: last,
    }
}

fn last_probe_samples(cx: &Ctx<'_>, n: usize) -> Vec<String> {
    let s = cx.samplers.samples();
    s.iter()
        .rev()
        .take(n)
        .rev()
        .map(|x| {
            format!(
                "{:>7}ms {}",
                x.t_ms,
                x.backend.clone().or(x.error.clone()).unwrap_or_default()
            )
        })
        .collect()
}

fn last_vip_samples(cx: &Ctx<'_>, n: usize) -> Vec<String> {
    let s = cx.samplers.vips();
    s.iter()
        .rev()
        .take(n)
        .rev()
        .map(|x| {
            format!(
                "{:>7}ms VIP {} held by [{}], client {} -> {}",
                x.t_ms,
                x.vip,
                x.holders.join(","),
                if x.vip.is_ipv6() { "NDP" } else { "ARP" },
                x.client_arp.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

pub fn check(cx: &Ctx<'_>, step: &Step, last_action_ms: u64) -> (Outcome, Option<Outage>) {
    match step {
        Step::Vip {
            holders,
            vip: Some(vip),
            throughout: true,
            ..
        } => (stayed(cx, holders, *vip), None),
        Step::Vip {
            holders,
            vip,
            within,
            ..
        } => (
            vip_step(
                cx,
                holders,
                *vip,
                within.unwrap_or_else(|| vip_deadline(cx.lab)),
            ),
            None,
        ),
        Step::Distribution { .. } => {
            cx.samplers.pause(cx.t0);
            let r = distribution(cx, step);
            cx.samplers.resume(cx.t0);
            (r, None)
        }
        Step::Http {
            path,
            status,
            contains,
            header,
            request_headers,
            vip,
            within,
        } => (
            http(
                cx,
                path,
                *status,
                contains.as_deref(),
                header,
                request_headers,
                *vip,
                within.unwrap_or(Duration::ZERO),
            ),
            None,
        ),
        Step::Stats {
            node,
            backend,
            server,
            up,
            within,
        } => (
            stats(
                cx,
                node,
                backend,
                server,
                *up,
                within.unwrap_or_else(|| health_deadline(cx.lab)),
            ),
            None,
        ),
        Step::State {
            node,
            instance,
            state,
            within,
        } => (
            vrrp_state(
                cx,
                node,
                instance.as_deref(),
                state,
                within.unwrap_or_else(|| vip_deadline(cx.lab)),
            ),
            None,
        ),
        Step::Outage {
            max_failed,
            max_gap,
            down,
            vip,
        } => {
            let max_gap = max_gap.map(|b| b.for_lab(cx.lab));
            outage_per_vip(cx, last_action_ms, *max_failed, max_gap, *down, *vip)
        }
        _ => (Outcome::Passed { detail: None }, None),
    }
}

/// The VIP was held by exactly `want` at every monitor sample since the scenario started.
fn stayed(cx: &Ctx<'_>, want: &[String], vip: IpAddr) -> Outcome {
    let mut want = want.to_vec();
    want.sort();
    let samples: Vec<_> = cx
        .samplers
        .vips()
        .into_iter()
        .filter(|s| s.vip == vip)
        .collect();
    let on = if want.is_empty() {
        "no node".to_string()
    } else {
        want.join(" and ")
    };
    let expected = format!("VIP {vip} on {on} at every sample since the start (never moved)");
    let moved = samples.iter().find(|s| {
        let mut h = s.holders.clone();
        h.sort();
        h != want
    });
    match (samples.len(), moved) {
        (0, _) => fail(expected, "no sample of this VIP yet".to_string(), vec![]),
        (n, None) => Outcome::Passed {
            detail: Some(format!(
                "{n} samples over {:.1}s",
                cx.now_ms() as f64 / 1000.0
            )),
        },
        (_, Some(s)) => fail(
            expected,
            format!("at {} ms held by [{}]", s.t_ms, s.holders.join(", ")),
            last_vip_samples(cx, 6),
        ),
    }
}

fn vip_step(cx: &Ctx<'_>, want: &[String], vip: Option<IpAddr>, deadline: Duration) -> Outcome {
    let mut want = want.to_vec();
    want.sort();
    let holder = want.first().map(String::as_str);
    let started = Instant::now();
    let r = poll(deadline, Duration::from_millis(20), || {
        let holders = observe::vip_holders(cx.lab, cx.fleet.as_ref());
        let relevant: Vec<(&IpAddr, &Vec<String>)> = holders
            .iter()
            .filter(|(v, _)| vip.is_none_or(|x| x == **v))
            .collect();
        // With a holder named: every VIP of the instances that node is in (or the one asked for).
        let check: Vec<(&IpAddr, &Vec<String>)> = match (holder, vip) {
            (Some(h), None) => relevant
                .into_iter()
                .filter(|(v, _)| {
                    cx.lab
                        .vrrp
                        .iter()
                        .any(|i| i.member(h).is_some() && i.vips.iter().any(|x| x.address == **v))
                })
                .collect(),
            _ => relevant,
        };
        let wrong: Vec<String> = check
            .iter()
            .filter(|(_, h)| {
                let mut h = (*h).clone();
                h.sort();
                h != want
            })
            .map(|(v, h)| format!("{v} held by [{}]", h.join(", ")))
            .collect();
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join("; "))
        }
    });
    match r {
        Ok(()) => Outcome::Passed {
            detail: Some(format!("after {:.2}s", started.elapsed().as_secs_f64())),
        },
        Err(seen) => {
            let on = if want.is_empty() {
                "no node".to_string()
            } else {
                want.join(" and ")
            };
            // A holder without `vip:` is about every VIP of the holder's instances: say so,
            // and how to name one (active/active labs hold each VIP on another LB).
            let which = match (vip, holder) {
                (Some(v), _) => format!("VIP {v}"),
                (None, Some(h)) => format!(
                    "every VIP of {h}'s instances ({}) (name one with `vip:`)",
                    instance_vips(cx, h).join(", ")
                ),
                (None, None) => "every VIP".to_string(),
            };
            fail(
                format!(
                    "{which} on {on} only, within {:.1}s",
                    deadline.as_secs_f64()
                ),
                seen,
                last_vip_samples(cx, 6),
            )
        }
    }
}

/// The VIPs of the instances `node` is a member of.
fn instance_vips(cx: &Ctx<'_>, node: &str) -> Vec<String> {
    cx.lab
        .vrrp
        .iter()
        .filter(|i| i.member(node).is_some())
        .flat_map(|i| i.vips.iter().map(|x| x.address.to_string()))
        .collect()
}

fn target(cx: &Ctx<'_>, vip: Option<IpAddr>) -> Result<SocketAddr, String> {
    let vip = vip
        .or_else(|| observe::client_vips(cx.lab).first().copied())
        .ok_or("the client reaches no VIP")?;
    observe::http_target(cx.lab, vip).ok_or_else(|| format!("no frontend serves {vip}"))
}

/// One GET from the client node, with extra request headers.
fn client_get(
    cx: &Ctx<'_>,
    t: SocketAddr,
    path: &str,
    headers: &[(String, String)],
) -> Result<crate::probe::Reply, String> {
    cx.fleet
        .client_get(t, path, Duration::from_secs(2), headers)
}

fn distribution(cx: &Ctx<'_>, step: &Step) -> Outcome {
    let Step::Distribution {
        requests,
        backends,
        absent,
        order,
        tolerance,
        path,
        status,
        request_headers,
        vip,
        within,
    } = step
    else {
        return Outcome::Skipped;
    };
    let t = match target(cx, *vip) {
        Ok(t) => t,
        Err(e) => return fail("a VIP to send requests to", e, vec![]),
    };
    let deadline = within.unwrap_or(Duration::ZERO);
    let mut last_seen = Vec::new();
    let r = poll(deadline, Duration::from_millis(200), || {
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..*requests {
            match client_get(cx, t, path, request_headers) {
                Ok(r) if status.map_or((200..400).contains(&r.status), |s| s == r.status) => {
                    seen.push(r.backend())
                }
                Ok(r) => seen.push(format!("HTTP {}", r.status)),
                Err(e) => seen.push(format!("error: {e}")),
            }
        }
        last_seen = seen.clone();
        judge(&seen, backends.as_deref(), absent, *order, *tolerance)
    });
    let summary = |seen: &[String]| {
        let mut c: BTreeMap<&str, usize> = BTreeMap::new();
        for s in seen {
            *c.entry(s).or_default() += 1;
        }
        c.iter()
            .map(|(k, v)| format!("{k} x{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match r {
        Ok(()) => Outcome::Passed {
            detail: Some(summary(&last_seen)),
        },
        Err(why) => fail(
            describe_want(backends.as_deref(), absent, *order),
            format!("{why}; answers: {}", summary(&last_seen)),
            last_seen.iter().map(|s| s.to_string()).collect(),
        ),
    }
}

fn describe_want(backends: Option<&[String]>, absent: &[String], order: Order) -> String {
    let mut s = backends.map_or("answers from the lab's backends".to_string(), |b| {
        format!("answers from exactly {}", b.join(", "))
    });
    if !absent.is_empty() {
        s.push_str(&format!(", never from {}", absent.join(", ")));
    }
    match order {
        Order::RoundRobin => s.push_str(", in a fixed rotation"),
        Order::Sticky => s.push_str(", all from one backend"),
        Order::Any => {}
    }
    s
}

/// Whether a batch of answers is what the step wants.
pub fn judge(
    seen: &[String],
    backends: Option<&[String]>,
    absent: &[String],
    order: Order,
    tolerance: Option<f64>,
) -> Result<(), String> {
    if let Some(bad) = seen
        .iter()
        .find(|s| s.starts_with("HTTP ") || s.starts_with("error: "))
    {
        return Err(format!("a request failed ({bad})"));
    }
    let set: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
    if let Some(a) = absent.iter().find(|a| set.contains(a.as_str())) {
        return Err(format!("{a} answered"));
    }
    if let Some(b) = backends {
        let want: BTreeSet<&str> = b.iter().map(String::as_str).collect();
        if want != set {
            return Err(format!(
                "answered: {}",
                set.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if order == Order::Sticky && set.len() > 1 {
        return Err(format!("{} backends answered, not one", set.len()));
    }
    if order == Order::RoundRobin {
        let k = set.len();
        if let Some(i) = (k..seen.len()).find(|&i| seen[i] != seen[i - k]) {
            return Err(format!(
                "not a rotation: answer {} was {}, {} answers before it was {}",
                i + 1,
                seen[i],
                k,
                seen[i - k]
            ));
        }
    }
    if let Some(tol) = tolerance {
        let even = seen.len() as f64 / set.len().max(1) as f64;
        for b in &set {
            let n = seen.iter().filter(|s| s == b).count() as f64;
            if (n - even).abs() > even * tol / 100.0 {
                return Err(format!(
                    "{b} answered {n} of {} times, more than {tol}% from an even {even:.1}",
                    seen.len()
                ));
            }
        }
    }
    Ok(())
}

/// A header value as a step wants it: exact, or a prefix when it ends in `*`.
fn header_matches(got: Option<&str>, want: &str) -> bool {
    match (got, want.strip_suffix('*')) {
        (Some(g), Some(prefix)) => g.starts_with(prefix),
        (Some(g), None) => g == want,
        (None, _) => false,
    }
}

#[allow(clippy::too_many_arguments)]
fn http(
    cx: &Ctx<'_>,
    path: &str,
    status: u16,
    contains: Option<&str>,
    header: &[(String, String)],
    request_headers: &[(String, String)],
    vip: Option<IpAddr>,
    deadline: Duration,
) -> Outcome {
    let t = match target(cx, vip) {
        Ok(t) => t,
        Err(e) => return fail("a VIP to send requests to", e, vec![]),
    };
    let r = poll(deadline, Duration::from_millis(100), || {
        let r = client_get(cx, t, path, request_headers)?;
        if r.status != status {
            return Err(format!("status {}", r.status));
        }
        if let Some(c) = contains
            && !r.body.contains(c)
        {
            return Err(format!(
                "body without {c:?}: {:?}",
                r.body.chars().take(200).collect::<String>()
            ));
        }
        for (k, v) in header {
            if !header_matches(r.header(k), v) {
                return Err(format!("header {k}: {:?}", r.header(k)));
            }
        }
        Ok(())
    });
    match r {
        Ok(()) => Outcome::Passed { detail: None },
        Err(seen) => fail(
            format!("GET http://{t}{path} -> {status}"),
            seen,
            last_probe_samples(cx, 5),
        ),
    }
}

/// haproxy's `show stat` over its admin socket.
pub fn server_status(
    cx: &Ctx<'_>,
    node: &str,
    backend: &str,
    server: &str,
) -> Result<String, String> {
    let text = cx.fleet.haproxy_stat(node)?;
    let mut lines = text.lines();
    let head: Vec<&str> = lines
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let col = head
        .iter()
        .position(|c| *c == "status")
        .ok_or("no status column")?;
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if f.first() == Some(&backend) && f.get(1) == Some(&server) {
            return Ok(f.get(col).unwrap_or(&"").to_string());
        }
    }
    Err(format!("{backend}/{server} not in haproxy's stats"))
}

fn stats(
    cx: &Ctx<'_>,
    node: &str,
    backend: &str,
    server: &str,
    up: bool,
    deadline: Duration,
) -> Outcome {
    let want = if up { "UP" } else { "DOWN" };
    let mut last = String::new();
    let r = poll(deadline, Duration::from_millis(100), || {
        let st = server_status(cx, node, backend, server)?;
        last = st.clone();
        // "UP 1/3" is still UP (going down), "DOWN 1/2" still DOWN (coming up), as the page colours them.
        if st.starts_with(want) {
            Ok(())
        } else {
            Err(format!("status {st}"))
        }
    });
    match r {
        Ok(()) => Outcome::Passed { detail: Some(last) },
        Err(seen) => fail(
            format!(
                "{backend}/{server} {want} on {node}'s haproxy within {:.1}s",
                deadline.as_secs_f64()
            ),
            seen,
            vec![],
        ),
    }
}

fn vrrp_state(
    cx: &Ctx<'_>,
    node: &str,
    instance: Option<&str>,
    state: &str,
    deadline: Duration,
) -> Outcome {
    let Some(n) = cx.lab.node(node) else {
        return fail(format!("node {node}"), "no such node", vec![]);
    };
    let Some(engine) = n.engine else {
        return fail(format!("{node} runs VRRP"), "not an LB", vec![]);
    };
    let r = poll(deadline, Duration::from_millis(100), || {
        let m = cx.machine(node)?;
        let states =
            crate::status::vrrp_states(cx.lab, m.as_ref(), engine, &cx.fleet.addresses(node));
        let mine: Vec<_> = states
            .iter()
            .filter(|s| instance.is_none_or(|i| s.instance == i))
            .collect();
        if !mine.is_empty() && mine.iter().all(|s| s.state == state) {
            Ok(())
        } else {
            Err(mine
                .iter()
                .map(|s| format!("{} {}", s.instance, s.state))
                .collect::<Vec<_>>()
                .join(", "))
        }
    });
    match r {
        Ok(()) => Outcome::Passed { detail: None },
        Err(seen) => fail(
            format!("{node} {} {state}", instance.unwrap_or("VRRP")),
            seen,
            last_vip_samples(cx, 4),
        ),
    }
}

/// Requests, failures and the longest gap between successes since `from_ms`, not counting
/// probe pauses (distribution steps).
pub fn measure(
    samples: &[super::result::Sample],
    pauses: &[(u64, u64)],
    from_ms: u64,
    to_ms: u64,
) -> Outage {
    let in_pause = |t: u64| pauses.iter().any(|p| t >= p.0 && t <= p.1);
    let win: Vec<_> = samples
        .iter()
        .filter(|s| s.t_ms >= from_ms && s.t_ms <= to_ms && !in_pause(s.t_ms))
        .collect();
    let failed = win.iter().filter(|s| s.backend.is_none()).count() as u64;
    let mut longest = 0u64;
    let mut last_ok = from_ms;
    for s in &win {
        if s.backend.is_some() {
            let paused: u64 = pauses
                .iter()
                .filter(|p| p.0 >= last_ok && p.1 <= s.t_ms)
                .map(|p| p.1 - p.0)
                .sum();
            longest = longest.max(
                (s.t_ms + u64::from(s.took_ms))
                    .saturating_sub(last_ok)
                    .saturating_sub(paused),
            );
            last_ok = s.t_ms + u64::from(s.took_ms);
        }
    }
    longest = longest.max(to_ms.saturating_sub(last_ok));
    Outage {
        window_ms: to_ms.saturating_sub(from_ms),
        requests: win.len() as u64,
        failed,
        longest_gap_ms: longest,
        vip: None,
    }
}

/// The probe sends every 10 ms; a newest sample older than this means a request is hanging.
const FRESH_MS: u64 = 150;

/// How long every request must have failed for `outage: {down: true}`.
const DOWN_SPAN_MS: u64 = 1500;

/// `outage` on the VIP it names, or on every probed VIP, each measured on its own: the first
/// VIP that fails the bound fails the step (named), else the worst one is reported.
fn outage_per_vip(
    cx: &Ctx<'_>,
    from_ms: u64,
    max_failed: Option<u64>,
    max_gap: Option<Duration>,
    down: bool,
    vip: Option<IpAddr>,
) -> (Outcome, Option<Outage>) {
    let vips: Vec<IpAddr> = match vip {
        Some(v) => vec![v],
        None => cx.samplers.probed_vips(),
    };
    if vips.len() <= 1 {
        // One VIP probed: named only where the step named it.
        let named = vip.is_some();
        return outage(
            cx,
            from_ms,
            max_failed,
            max_gap,
            down,
            vips.first().copied(),
            named,
        );
    }
    let mut details = Vec::new();
    let mut worst: Option<Outage> = None;
    for v in vips {
        let (r, o) = outage(cx, from_ms, max_failed, max_gap, down, Some(v), true);
        if !r.passed() {
            return (r, o);
        }
        if let Outcome::Passed { detail: Some(d) } = r {
            details.push(d);
        }
        if let Some(o) = o
            && worst
                .as_ref()
                .is_none_or(|w| o.longest_gap_ms > w.longest_gap_ms)
        {
            worst = Some(o);
        }
    }
    (
        Outcome::Passed {
            detail: Some(details.join("; ")),
        },
        worst,
    )
}

fn outage(
    cx: &Ctx<'_>,
    from_ms: u64,
    max_failed: Option<u64>,
    max_gap: Option<Duration>,
    down: bool,
    vip: Option<IpAddr>,
    name_vip: bool,
) -> (Outcome, Option<Outage>) {
    // This VIP's requests only (every VIP has its own probe).
    let samples = || -> Vec<super::result::Sample> {
        cx.samplers
            .samples()
            .into_iter()
            .filter(|s| vip.is_none() || s.vip == vip)
            .collect()
    };
    // Wait until the service is back (20 successes in a row) unless it is meant to be down:
    // as long as a VIP move takes, or as long as the step's own bound allows (a stale ARP
    // entry after a split brain heals takes longer than any VRRP timer), so the gap measured
    // is the real one and not the wait cut short.
    if !down {
        let by_bound = max_gap.map_or(0, |g| {
            (from_ms + u64::try_from(g.as_millis()).unwrap_or(0) + 3000).saturating_sub(cx.now_ms())
        });
        let wait = vip_deadline(cx.lab).max(Duration::from_millis(by_bound));
        // Back means 20 successes in a row, all sent after this step began (the steps before
        // it saw the VIP settle; what counts is what the client sees from then on).
        let since = cx.now_ms().max(from_ms);
        let _ = poll(wait, Duration::from_millis(50), || {
            let s = samples();
            let tail: Vec<_> = s.iter().rev().take(20).collect();
            // A sample is recorded when its request ends: a request still hanging (a SYN into
            // a stale ARP entry) is not in the tail yet, so the newest must also be fresh.
            let fresh = tail.first().is_some_and(|x| {
                cx.now_ms().saturating_sub(x.t_ms + u64::from(x.took_ms)) <= FRESH_MS
            });
            if fresh
                && tail.len() == 20
                && tail.iter().all(|x| x.backend.is_some() && x.t_ms >= since)
            {
                Ok(())
            } else {
                Err(String::new())
            }
        });
    }
    // Meant to be down: wait (as long as a VIP move may take) until the requests of the last
    // DOWN_SPAN_MS all failed. Requests that ended before the service went down do not count;
    // a failing request may take the probe's whole timeout, hence the span.
    let mut still_up = None;
    if down {
        let r = poll(vip_deadline(cx.lab), Duration::from_millis(50), || {
            let s = samples();
            let now = cx.now_ms();
            let last_ok = s
                .iter()
                .rev()
                .find(|x| x.backend.is_some())
                .map(|x| x.t_ms + u64::from(x.took_ms));
            let failed_since = s
                .iter()
                .filter(|x| x.backend.is_none() && last_ok.is_none_or(|t| x.t_ms >= t))
                .count();
            match last_ok {
                Some(t) if now.saturating_sub(t) < DOWN_SPAN_MS || failed_since < 2 => {
                    Err(format!("a request succeeded at {t} ms"))
                }
                None if failed_since < 2 => Err("no request failed yet".to_string()),
                _ => Ok(()),
            }
        });
        still_up = r.err();
    }
    let now = cx.now_ms();
    let mut o = measure(&samples(), &cx.samplers.pauses(), from_ms, now);
    o.vip = if name_vip { vip } else { None };
    let detail = format!(
        "{}{} of {} requests failed, longest gap {:.2}s",
        match (name_vip, vip) {
            (true, Some(v)) => format!("via {v}: "),
            _ => String::new(),
        },
        o.failed,
        o.requests,
        o.longest_gap_ms as f64 / 1000.0
    );
    let mut problems = Vec::new();
    if let Some(m) = max_failed
        && o.failed > m
    {
        problems.push(format!("{} failed > {m}", o.failed));
    }
    if let Some(g) = max_gap
        && Duration::from_millis(o.longest_gap_ms) > g
    {
        problems.push(format!(
            "gap {:.2}s > {:.2}s",
            o.longest_gap_ms as f64 / 1000.0,
            g.as_secs_f64()
        ));
    }
    if let Some(why) = still_up {
        problems.push(format!("the service is not down: {why}"));
    }
    if problems.is_empty() {
        (
            Outcome::Passed {
                detail: Some(detail),
            },
            Some(o),
        )
    } else {
        let mut want = Vec::new();
        if let Some(m) = max_failed {
            want.push(format!("at most {m} failed requests"));
        }
        if let Some(g) = max_gap {
            want.push(format!("a gap of at most {:.2}s", g.as_secs_f64()));
        }
        if down {
            want.push("the service down".to_string());
        }
        (
            fail(
                want.join(", "),
                format!("{detail} ({})", problems.join(", ")),
                last_probe_samples(cx, 8),
            ),
            Some(o),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::result::Sample;

    fn s(t: u64, ok: bool) -> Sample {
        Sample {
            t_ms: t,
            took_ms: 1,
            backend: ok.then(|| "web1".to_string()),
            error: (!ok).then(|| "refused".to_string()),
            vip: None,
        }
    }

    #[test]
    fn measure_counts_failures_and_the_longest_gap_without_pauses() {
        // Input: OK at 0..100, failures 110..500, OK from 510; a pause 600..900 with no samples.
        // Output: 40 failed, a gap of ~410 ms, the pause not counted as a gap.
        let mut v: Vec<Sample> = (0..=10).map(|i| s(i * 10, true)).collect();
        v.extend((11..=50).map(|i| s(i * 10, false)));
        v.extend((51..=60).map(|i| s(i * 10, true)));
        v.extend((90..=100).map(|i| s(i * 10, true)));
        let o = measure(&v, &[(605, 895)], 0, 1000);
        assert_eq!(o.failed, 40);
        assert_eq!(o.longest_gap_ms, 410);
    }

    #[test]
    fn judge_checks_sets_absence_rotation_and_balance() {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let rr = v(&["a", "b", "c", "a", "b", "c"]);
        assert!(
            judge(
                &rr,
                Some(&v(&["a", "b", "c"])),
                &[],
                Order::RoundRobin,
                Some(10.0)
            )
            .is_ok()
        );
        assert!(
            judge(
                &v(&["a", "b", "a", "a"]),
                None,
                &[],
                Order::RoundRobin,
                None
            )
            .is_err()
        );
        assert!(judge(&rr, None, &v(&["b"]), Order::Any, None).is_err());
        assert!(judge(&rr, Some(&v(&["a", "b"])), &[], Order::Any, None).is_err());
        assert!(judge(&v(&["a", "a", "a", "b"]), None, &[], Order::Any, Some(20.0)).is_err());
        assert!(judge(&v(&["a", "HTTP 503"]), None, &[], Order::Any, None).is_err());
    }

    #[test]
    fn judge_sticky_wants_one_backend_and_headers_match_exactly_or_by_prefix() {
        // Input: all answers from one backend, then two. Output: sticky holds only for the first.
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(judge(&v(&["a", "a", "a"]), None, &[], Order::Sticky, None).is_ok());
        assert!(judge(&v(&["a", "b", "a"]), None, &[], Order::Sticky, None).is_err());
        assert!(header_matches(Some("SERVERID=A; path=/"), "SERVERID=*"));
        assert!(!header_matches(Some("OTHER=A"), "SERVERID=*"));
        assert!(header_matches(Some("web1"), "web1"));
        assert!(!header_matches(Some("web1 "), "web1"));
        assert!(!header_matches(None, "*"));
    }
}
