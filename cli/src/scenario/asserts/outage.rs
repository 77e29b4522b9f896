//! `outage`: what the client's probe saw since the last action (failed requests, the longest
//! gap between successes), per VIP, after waiting for the service to come back (or go down).

use std::net::IpAddr;
use std::time::Duration;

use super::{fail, last_probe_samples, poll, vip_deadline};
use crate::scenario::ctx::Ctx;
use crate::scenario::result::{Outage, Outcome, Sample};

/// Requests, failures and the longest gap between successes since `from_ms`, not counting
/// probe pauses (distribution steps).
pub fn measure(samples: &[Sample], pauses: &[(u64, u64)], from_ms: u64, to_ms: u64) -> Outage {
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
pub(super) fn outage_per_vip(
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
    let samples = || -> Vec<Sample> {
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
}
