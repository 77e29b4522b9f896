//! `vip`: who holds a VIP, now (polled until the deadline) or at every sample since the start.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{fail, last_vip_samples, poll};
use crate::observe;
use crate::scenario::ctx::Ctx;
use crate::scenario::result::Outcome;

/// The VIP was held by exactly `want` at every monitor sample since the scenario started.
pub(super) fn stayed(cx: &Ctx<'_>, want: &[String], vip: IpAddr) -> Outcome {
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

pub(super) fn vip_step(
    cx: &Ctx<'_>,
    want: &[String],
    vip: Option<IpAddr>,
    deadline: Duration,
) -> Outcome {
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
