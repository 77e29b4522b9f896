//! The probe's samples and its loop: a GET through the VIP every 10 ms from wherever the
//! lab's client is (a thread in the client's namespace, or `halab __probe` on a client host),
//! recording who answered or what failed. Below the scenario runner and the providers, so
//! both use it without knowing each other.

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::http as probe;

/// At most this long, whatever the scenario does (the runner stops sooner).
pub const MAX_RUN: Duration = Duration::from_secs(15 * 60);
pub const PROBE_EVERY: Duration = Duration::from_millis(10);
/// A probe request's own deadline: longer than a VRRP failover would let it fail too early,
/// shorter keeps the sampling dense.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sample {
    pub t_ms: u64,
    /// How long the request took.
    pub took_ms: u32,
    /// The backend that answered (X-Served-By), if it succeeded with a 2xx/3xx.
    pub backend: Option<String>,
    /// The failure: a status, a timeout, a refused connection.
    pub error: Option<String>,
    /// The VIP the request went through (every VIP the client reaches is probed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<IpAddr>,
}

/// The VIP a probe target goes through.
pub fn vip_of(target: SocketAddr) -> Option<IpAddr> {
    Some(target.ip())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VipSample {
    pub t_ms: u64,
    pub vip: IpAddr,
    pub holders: Vec<String>,
    /// The node the client's neighbour entry for the VIP points at, if any: ARP for an IPv4
    /// VIP, NDP for an IPv6 one (the name stays for the results' JSON).
    pub client_arp: Option<String>,
}

#[derive(Default)]
pub struct Shared {
    pub stop: AtomicBool,
    /// Paused while a distribution step sends its own requests (the probe's would interleave
    /// with them in haproxy's rotation).
    pub paused: AtomicBool,
    /// How many probes have a request out (each counts itself in before it looks at
    /// `paused`).
    pub in_flight: AtomicUsize,
    pub samples: Mutex<Vec<Sample>>,
    /// (start, end) of pauses, in ms since the scenario start: not gaps.
    pub pauses: Mutex<Vec<(u64, u64)>>,
    pub vips: Mutex<Vec<VipSample>>,
    /// Probes running on another host (ssh provider): a pause waits for each one's
    /// acknowledgement.
    pub remote: AtomicUsize,
    pub acked_pause: AtomicUsize,
}

pub fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The probe itself, run where the client is (see [`Fleet::probe_loop`]).
pub fn probe_loop(sh: &Shared, target: SocketAddr, t0: Instant) {
    let started = Instant::now();
    while !sh.stop.load(Ordering::SeqCst) && started.elapsed() < MAX_RUN {
        let tick = Instant::now();
        // Flag first, then look (pause() stores its flag, then looks at this one): either the
        // pause sees the request coming, or the probe sees the pause.
        sh.in_flight.fetch_add(1, Ordering::SeqCst);
        if !sh.paused.load(Ordering::SeqCst) {
            let sample = probe_once(target, ms(t0));
            if let Ok(mut s) = sh.samples.lock() {
                s.push(sample);
            }
        }
        sh.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some(rest) = PROBE_EVERY.checked_sub(tick.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

/// One probe request at `t_ms`: who answered, or what failed.
pub fn probe_once(target: SocketAddr, t_ms: u64) -> Sample {
    let tick = Instant::now();
    let r = probe::get(target, "/", PROBE_TIMEOUT, None);
    let took_ms = u32::try_from(tick.elapsed().as_millis()).unwrap_or(u32::MAX);
    let (backend, error) = match r {
        Ok(rep) if (200..400).contains(&rep.status) => (Some(rep.backend()), None),
        Ok(rep) => (None, Some(format!("HTTP {}", rep.status))),
        Err(e) => (None, Some(short_error(&e))),
    };
    Sample {
        t_ms,
        took_ms,
        backend,
        error,
        vip: vip_of(target),
    }
}

/// "connection refused", "timed out": what an operator would read in curl's output.
fn short_error(e: &probe::ProbeError) -> String {
    let s = e.to_string();
    if s.contains("refused") {
        "connection refused".into()
    } else if s.contains("timed out")
        || s.contains("WouldBlock")
        || s.contains("Resource temporarily")
    {
        "timed out".into()
    } else if s.contains("reset") {
        "connection reset".into()
    } else if s.contains("unreachable") {
        "unreachable".into()
    } else {
        s
    }
}
