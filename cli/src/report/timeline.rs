//! What the timeline shows, derived from a [`ScenarioResult`] without drawing anything: who
//! held which VIP when, when the holder set changed, which backend answered when. Kept apart
//! from the SVG so the counting the tests rely on has one definition.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::scenario::result::{Sample, ScenarioResult, VipSample};

/// A stretch of time, milliseconds since the scenario started, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start_ms: u64,
    pub end_ms: u64,
}

/// The set of nodes holding a VIP changed between two consecutive samples of that VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipMove {
    /// The first sample that saw the new set.
    pub t_ms: u64,
    pub vip: IpAddr,
    pub from: Vec<String>,
    pub to: Vec<String>,
}

impl VipMove {
    /// `lb1 → lb2`, `lb1 → none`, `lb1 → lb1+lb2`.
    pub fn label(&self) -> String {
        format!("{} → {}", holders(&self.from), holders(&self.to))
    }
}

fn holders(nodes: &[String]) -> String {
    if nodes.is_empty() {
        "none".to_string()
    } else {
        nodes.join("+")
    }
}

/// Where one probe sample goes on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer<'a> {
    Backend(&'a str),
    Failed,
    /// A success without X-Served-By: the backend could not be told.
    Unknown,
}

pub fn answer(s: &Sample) -> Answer<'_> {
    match (&s.backend, &s.error) {
        (_, Some(_)) => Answer::Failed,
        (Some(b), None) => Answer::Backend(b),
        (None, None) => Answer::Unknown,
    }
}

/// The timeline's end: the run's duration, stretched if a sample or mark came later.
pub fn end_ms(r: &ScenarioResult) -> u64 {
    let last_sample = r.samples.iter().map(|s| s.t_ms).max().unwrap_or(0);
    let last_vip = r.vip_timeline.iter().map(|s| s.t_ms).max().unwrap_or(0);
    let last_fault = r.faults.iter().map(|f| f.t_ms).max().unwrap_or(0);
    let last_step = r.steps.iter().map(|s| s.end_ms).max().unwrap_or(0);
    r.duration_ms
        .max(last_sample)
        .max(last_vip)
        .max(last_fault)
        .max(last_step)
        .max(1)
}

/// Every backend that answered, sorted by name.
pub fn backends(samples: &[Sample]) -> Vec<String> {
    let set: BTreeSet<&str> = samples
        .iter()
        .filter_map(|s| s.backend.as_deref())
        .collect();
    set.into_iter().map(str::to_string).collect()
}

/// Every VIP seen, in address order.
/// The VIPs the probe went through, in address order.
pub fn request_vips(samples: &[Sample]) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = samples.iter().filter_map(|s| s.vip).collect();
    v.sort();
    v.dedup();
    v
}

pub fn vips(timeline: &[VipSample]) -> Vec<IpAddr> {
    let set: BTreeSet<IpAddr> = timeline.iter().map(|s| s.vip).collect();
    set.into_iter().collect()
}

/// The load balancer nodes: every node that held a VIP or that the client's ARP pointed at.
/// A node that never did either is not in the result (see the report's notes).
pub fn lb_nodes(timeline: &[VipSample]) -> Vec<String> {
    let mut set: BTreeSet<&str> = BTreeSet::new();
    for s in timeline {
        set.extend(s.holders.iter().map(String::as_str));
        set.extend(s.client_arp.as_deref());
    }
    set.into_iter().map(str::to_string).collect()
}

/// Holder-set changes, per VIP, in time order. The first sample of a VIP sets the initial
/// state and is not a move.
pub fn vip_moves(timeline: &[VipSample]) -> Vec<VipMove> {
    let mut moves = Vec::new();
    for vip in vips(timeline) {
        let mut prev: Option<Vec<String>> = None;
        for s in samples_of(timeline, vip) {
            let set = sorted(&s.holders);
            if let Some(p) = &prev
                && *p != set
            {
                moves.push(VipMove {
                    t_ms: s.t_ms,
                    vip,
                    from: p.clone(),
                    to: set.clone(),
                });
            }
            prev = Some(set);
        }
    }
    moves.sort_by_key(|m| (m.t_ms, m.vip));
    moves
}

fn sorted(nodes: &[String]) -> Vec<String> {
    let mut v = nodes.to_vec();
    v.sort();
    v.dedup();
    v
}

fn samples_of(timeline: &[VipSample], vip: IpAddr) -> Vec<&VipSample> {
    let mut v: Vec<&VipSample> = timeline.iter().filter(|s| s.vip == vip).collect();
    v.sort_by_key(|s| s.t_ms);
    v
}

/// When `node` held `vip` (`arp: false`) or the client's ARP entry for `vip` pointed at it
/// (`arp: true`). A sample stands until the next sample of that VIP; the last until `end`.
pub fn vip_spans(
    timeline: &[VipSample],
    vip: IpAddr,
    node: &str,
    arp: bool,
    end: u64,
) -> Vec<Span> {
    let samples = samples_of(timeline, vip);
    let mut spans: Vec<Span> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        let on = if arp {
            s.client_arp.as_deref() == Some(node)
        } else {
            s.holders.iter().any(|h| h == node)
        };
        if !on {
            continue;
        }
        let until = samples.get(i + 1).map_or(end, |n| n.t_ms).max(s.t_ms);
        push_merged(
            &mut spans,
            Span {
                start_ms: s.t_ms,
                end_ms: until,
            },
            0,
        );
    }
    spans
}

/// When the probe got `want` back. A sample stands until the next sample (at most 1 s, so a
/// stalled probe does not paint a long bar); spans closer than `merge_gap_ms` join, since
/// round robin alternates backends and a bar per 10 ms request would be unreadable.
pub fn answer_spans(samples: &[Sample], want: Answer<'_>, merge_gap_ms: u64) -> Vec<Span> {
    let mut sorted: Vec<&Sample> = samples.iter().collect();
    sorted.sort_by_key(|s| s.t_ms);
    let mut spans = Vec::new();
    for (i, s) in sorted.iter().enumerate() {
        if answer(s) != want {
            continue;
        }
        let next = sorted.get(i + 1).map_or(s.t_ms + 10, |n| n.t_ms);
        let until = next.clamp(s.t_ms + 1, s.t_ms + 1000);
        push_merged(
            &mut spans,
            Span {
                start_ms: s.t_ms,
                end_ms: until,
            },
            merge_gap_ms,
        );
    }
    spans
}

fn push_merged(spans: &mut Vec<Span>, span: Span, gap: u64) {
    if let Some(last) = spans.last_mut()
        && span.start_ms <= last.end_ms + gap
    {
        last.end_ms = last.end_ms.max(span.end_ms);
        return;
    }
    spans.push(span);
}

/// (requests, failed) over the whole run.
pub fn probe_totals(samples: &[Sample]) -> (usize, usize) {
    let failed = samples
        .iter()
        .filter(|s| answer(s) == Answer::Failed)
        .count();
    (samples.len(), failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn moves_count_every_holder_change_but_not_the_start() {
        let r = fixture::failover();
        let moves = vip_moves(&r.vip_timeline);
        let labels: Vec<String> = moves.iter().map(VipMove::label).collect();
        assert_eq!(labels, ["lb1 → lb2", "lb2 → lb1"]);
    }

    #[test]
    fn round_robin_backends_make_one_bar_each_until_the_fault() {
        let r = fixture::failover();
        let web1 = answer_spans(&r.samples, Answer::Backend("web1"), 25);
        // web1 answers until the outage, then again after the repair.
        assert_eq!(web1.len(), 2, "{web1:?}");
        let failed = answer_spans(&r.samples, Answer::Failed, 25);
        assert_eq!(failed.len(), 3, "{failed:?}");
    }

    #[test]
    fn holder_spans_follow_the_samples() {
        let r = fixture::failover();
        let vip = fixture::VIP;
        let lb2 = vip_spans(&r.vip_timeline, vip, "lb2", false, end_ms(&r));
        assert_eq!(lb2.len(), 1);
        assert_eq!(lb_nodes(&r.vip_timeline), ["lb1", "lb2"]);
    }
}
