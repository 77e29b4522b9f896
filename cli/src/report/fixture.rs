//! A synthetic failover run for the reporters' tests: 6 s of probe samples every 10 ms, VIP
//! samples every 50 ms, two faults and a repair, two VIP moves, one failed assertion.
//!
//! Story: lb1 holds 10.0.0.100; at 1.5 s keepalived and haproxy stop on lb1 and the VIP moves
//! to lb2 at 1.65 s (requests fail 1.5..1.7 s); at 2.5 s nginx is killed on web1 (502s until
//! haproxy's check notices at 2.56 s, then only web2 answers); at 3.5 s lb1 comes back and
//! preempts at 3.6 s (requests fail 3.6..3.64 s, the client's ARP lags 50 ms: a violation).

use std::net::{IpAddr, Ipv4Addr};

use crate::scenario::result::{
    FaultMark, Outage, Outcome, Sample, ScenarioResult, StepResult, Violation, VipSample,
};

pub const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100));

pub fn failover() -> ScenarioResult {
    ScenarioResult {
        lab: "loadbalancing".into(),
        scenario: "failover".into(),
        description: Some("stop the master, kill a backend, bring the master back".into()),
        engine: "keepalived".into(),
        started_unix_ms: 1_767_225_600_000,
        duration_ms: 6000,
        passed: false,
        steps: steps(),
        samples: samples(),
        vip_timeline: vip_timeline(),
        faults: vec![
            FaultMark {
                t_ms: 1500,
                description: "stop keepalived, haproxy on lb1".into(),
                fault: true,
            },
            FaultMark {
                t_ms: 2500,
                description: "kill nginx on web1".into(),
                fault: true,
            },
            FaultMark {
                t_ms: 3500,
                description: "start keepalived, haproxy on lb1".into(),
                fault: false,
            },
        ],
        violations: vec![Violation {
            start_ms: 3600,
            end_ms: 3650,
            what: "client ARP for 10.0.0.100 pointed at lb2, which did not hold it".into(),
        }],
        error: None,
        stalls: vec![],
        starved: None,
        rerun_after: None,
    }
}

fn step(
    index: usize,
    kind: &str,
    description: &str,
    span: (u64, u64),
    outcome: Outcome,
) -> StepResult {
    StepResult {
        index,
        kind: kind.into(),
        description: description.into(),
        assertion: !matches!(kind, "stop" | "start" | "kill"),
        start_ms: span.0,
        end_ms: span.1,
        outcome,
        outage: None,
    }
}

fn passed(detail: Option<&str>) -> Outcome {
    Outcome::Passed {
        detail: detail.map(str::to_string),
    }
}

fn steps() -> Vec<StepResult> {
    let mut outage = step(
        2,
        "outage",
        "at most 25 failed requests",
        (1500, 2400),
        passed(None),
    );
    outage.outage = Some(Outage {
        window_ms: 900,
        requests: 90,
        failed: 20,
        longest_gap_ms: 210,
        vip: None,
    });
    let mut preempt = step(
        6,
        "outage",
        "no failed request while lb1 preempts",
        (3500, 4500),
        Outcome::Failed {
            expected: "0 failed requests".into(),
            seen: "4 failed requests, longest gap 0.050s".into(),
            last_samples: vec![
                "3.610s error: connection refused".into(),
                "3.620s error: connection refused".into(),
                "3.630s error: connection refused".into(),
                "3.640s web2".into(),
            ],
        },
    );
    preempt.outage = Some(Outage {
        window_ms: 1000,
        requests: 100,
        failed: 4,
        longest_gap_ms: 50,
        vip: None,
    });
    vec![
        step(
            0,
            "stop",
            "stop keepalived, haproxy on lb1",
            (1500, 1510),
            passed(None),
        ),
        step(
            1,
            "vip",
            "10.0.0.100 on lb2",
            (1510, 1700),
            passed(Some("lb2 after 0.150s")),
        ),
        outage,
        step(3, "kill", "kill nginx on web1", (2500, 2505), passed(None)),
        step(
            4,
            "distribution",
            "only web2 answers",
            (2700, 3400),
            passed(Some("web2 70 of 70")),
        ),
        step(
            5,
            "start",
            "start keepalived, haproxy on lb1",
            (3500, 3510),
            passed(None),
        ),
        preempt,
        step(
            7,
            "vip",
            "10.0.0.100 on lb1",
            (4500, 4500),
            Outcome::Skipped,
        ),
    ]
}

fn samples() -> Vec<Sample> {
    (0..600u64)
        .map(|i| {
            let t = i * 10;
            let failed = |error: &str| Sample {
                t_ms: t,
                took_ms: 1,
                backend: None,
                error: Some(error.into()),
                vip: None,
            };
            if (1500..1700).contains(&t) || (3600..3640).contains(&t) {
                failed("connection refused")
            } else if (2500..2560).contains(&t) && i % 2 == 0 {
                failed("502 Bad Gateway")
            } else {
                let web1_up = t < 2500;
                let backend = if web1_up && i % 2 == 0 {
                    "web1"
                } else {
                    "web2"
                };
                Sample {
                    t_ms: t,
                    took_ms: 2,
                    backend: Some(backend.into()),
                    error: None,
                    vip: None,
                }
            }
        })
        .collect()
}

fn vip_timeline() -> Vec<VipSample> {
    (0..120u64)
        .map(|i| {
            let t = i * 50;
            let holder = if (1650..3600).contains(&t) {
                "lb2"
            } else {
                "lb1"
            };
            let arp = if (1700..3650).contains(&t) {
                "lb2"
            } else {
                "lb1"
            };
            VipSample {
                t_ms: t,
                vip: VIP,
                holders: vec![holder.into()],
                client_arp: Some(arp.into()),
            }
        })
        .collect()
}

/// A long, crowded run: 60 s, three backends, two VIPs, a kill -9 (the VIP has no holder for
/// 3 s: two moves), faults close together (their labels must stack), a split brain.
pub fn busy() -> ScenarioResult {
    let vips = [VIP, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 101))];
    let mut r = failover();
    r.scenario = "crowded".into();
    r.duration_ms = 60_000;
    r.passed = true;
    r.steps = vec![step(
        0,
        "kill",
        "kill -9 keepalived on lb1",
        (10_000, 10_010),
        passed(None),
    )];
    r.samples = (0..6000u64)
        .map(|i| {
            let t = i * 10;
            let backend = ["web1", "web2", "web-three"][(i % 3) as usize];
            if (10_000..13_100).contains(&t) {
                Sample {
                    t_ms: t,
                    took_ms: 1000,
                    backend: None,
                    error: Some("timeout".into()),
                    vip: None,
                }
            } else {
                Sample {
                    t_ms: t,
                    took_ms: 3,
                    backend: Some(backend.into()),
                    error: None,
                    vip: None,
                }
            }
        })
        .collect();
    r.vip_timeline = (0..1200u64)
        .flat_map(|i| {
            let t = i * 50;
            vips.map(|vip| {
                let holders: Vec<String> = match t {
                    0..10_000 => vec!["lb1".into()],
                    10_000..13_000 => vec![],
                    30_000..30_500 => vec!["lb1".into(), "lb2".into()],
                    _ => vec!["lb2".into()],
                };
                VipSample {
                    t_ms: t,
                    vip,
                    client_arp: holders.last().cloned(),
                    holders,
                }
            })
        })
        .collect();
    r.faults = [
        (10_000, "kill -9 keepalived on lb1", true),
        (
            10_200,
            "partition lb1 from lb2 and the client network",
            true,
        ),
        (10_400, "link down lb1 eth1", true),
        (10_600, "stop haproxy on lb2", false),
        (29_900, "start keepalived on lb1", false),
        (30_000, "heal the partition", false),
        (
            59_000,
            "a fault with a very long description that runs off the right edge of the picture",
            true,
        ),
    ]
    .map(|(t_ms, d, fault)| FaultMark {
        t_ms,
        description: d.into(),
        fault,
    })
    .to_vec();
    r.violations = vips
        .map(|v| Violation {
            start_ms: 30_000,
            end_ms: 30_500,
            what: format!("two holders of {v}: lb1, lb2"),
        })
        .to_vec();
    r
}
