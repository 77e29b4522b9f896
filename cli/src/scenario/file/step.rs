//! A scenario, validated: its steps as the runner takes them.

use std::net::IpAddr;
use std::time::Duration;

use crate::scenario::bound::Bound;

/// A service as scenarios name it: `vrrp` is whichever engine the node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvcRef {
    Nginx,
    Haproxy,
    Vrrp,
    Keepalived,
    Halabd,
}

pub(super) const SERVICES: &[&str] = &["nginx", "haproxy", "vrrp", "keepalived", "halabd"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvcAction {
    Start,
    Stop,
    Kill,
    Restart,
    Reload,
    Freeze,
    Thaw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Both,
    AToB,
    BToA,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Any,
    RoundRobin,
    /// Every answer from the same backend.
    Sticky,
}

#[derive(Debug, Clone)]
pub enum Step {
    Service {
        action: SvcAction,
        node: String,
        services: Vec<SvcRef>,
    },
    Link {
        up: bool,
        node: String,
        interface: Option<String>,
    },
    Partition {
        a: Vec<String>,
        b: Vec<String>,
        direction: Direction,
        vrrp_only: bool,
    },
    Heal {
        arp_grace: Option<Bound>,
    },
    Loss {
        nodes: Vec<String>,
        percent: u8,
    },
    Wait(Duration),
    /// `holders` empty: no node holds it; two or more: a split brain.
    Vip {
        holders: Vec<String>,
        vip: Option<IpAddr>,
        within: Option<Duration>,
        /// Since the scenario started, at every sample: the VIP never moved.
        throughout: bool,
    },
    Distribution {
        requests: u32,
        backends: Option<Vec<String>>,
        absent: Vec<String>,
        order: Order,
        tolerance: Option<f64>,
        path: String,
        status: Option<u16>,
        request_headers: Vec<(String, String)>,
        vip: Option<IpAddr>,
        within: Option<Duration>,
    },
    Http {
        path: String,
        status: u16,
        contains: Option<String>,
        header: Vec<(String, String)>,
        request_headers: Vec<(String, String)>,
        vip: Option<IpAddr>,
        within: Option<Duration>,
    },
    Stats {
        node: String,
        backend: String,
        server: String,
        up: bool,
        within: Option<Duration>,
    },
    State {
        node: String,
        instance: Option<String>,
        state: String,
        within: Option<Duration>,
    },
    Outage {
        max_failed: Option<u64>,
        max_gap: Option<Bound>,
        down: bool,
        /// None: every probed VIP.
        vip: Option<IpAddr>,
    },
}

impl Step {
    pub fn is_assertion(&self) -> bool {
        matches!(
            self,
            Step::Vip { .. }
                | Step::Distribution { .. }
                | Step::Http { .. }
                | Step::Stats { .. }
                | Step::State { .. }
                | Step::Outage { .. }
        )
    }
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub steps: Vec<Step>,
}

/// `2s`, `500ms`, `1.5` (seconds), `1m`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    (v >= 0.0 && v.is_finite() && v * mult <= 3600.0).then(|| Duration::from_secs_f64(v * mult))
}
