//! Assertion steps: each polls what an operator would look at until it holds or its deadline
//! passes, then explains itself (expected, seen, the last samples).
//!
//! Deadlines default to what the lab's timers allow: VRRP's 3 x advert + skew (twice, for a
//! priority drop that must first be detected), track-script detection, haproxy health checks.
//!
//! Modules: `deadlines.rs` (the defaults), one per assertion: `vip.rs`, `http.rs`
//! (distribution, http), `daemons.rs` (stats, state), `outage.rs`; here the dispatch and
//! what they share (polling, failing with the last samples).

mod daemons;
mod deadlines;
mod http;
mod outage;
mod vip;

use std::time::{Duration, Instant};

use super::ctx::Ctx;
use super::file::Step;
use super::result::{Outage, Outcome};

pub use daemons::server_status;
pub use deadlines::{health_deadline, vip_deadline};
pub use http::judge;
pub use outage::measure;

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
        } => (vip::stayed(cx, holders, *vip), None),
        Step::Vip {
            holders,
            vip,
            within,
            ..
        } => (
            vip::vip_step(
                cx,
                holders,
                *vip,
                within.unwrap_or_else(|| vip_deadline(cx.lab)),
            ),
            None,
        ),
        Step::Distribution { .. } => {
            cx.samplers.pause(cx.t0);
            let r = http::distribution(cx, step);
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
            http::http(
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
            daemons::stats(
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
            daemons::vrrp_state(
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
            outage::outage_per_vip(cx, last_action_ms, *max_failed, max_gap, *down, *vip)
        }
        _ => (Outcome::Passed { detail: None }, None),
    }
}
