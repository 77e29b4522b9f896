//! The two background threads of a scenario run.
//!
//! The probe sends a request through the VIP every 10 ms from the client node (its own
//! thread inside the client's network namespace) and records who answered or what failed.
//! The monitor samples who holds each VIP and where the client's ARP entry points, every
//! 50 ms. Both stop on their flag, and both are bounded in count and time.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::result::{Sample, VipSample};
use crate::fleet::Fleet;
use crate::lab::Lab;
use crate::observe;
use crate::probe;

/// At most this long, whatever the scenario does (the runner stops sooner).
const MAX_RUN: Duration = Duration::from_secs(15 * 60);
const PROBE_EVERY: Duration = Duration::from_millis(10);
const MONITOR_EVERY: Duration = Duration::from_millis(50);
/// A probe request's own deadline: longer than a VRRP failover would let it fail too early,
/// shorter keeps the sampling dense.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Default)]
pub struct Shared {
    pub stop: AtomicBool,
    /// Paused while a distribution step sends its own requests (the probe's would interleave
    /// with them in haproxy's rotation).
    pub paused: AtomicBool,
    /// Set by the probe while its request is out (set before it looks at `paused`).
    pub in_flight: AtomicBool,
    pub samples: Mutex<Vec<Sample>>,
    /// (start, end) of pauses, in ms since the scenario start: not gaps.
    pub pauses: Mutex<Vec<(u64, u64)>>,
    pub vips: Mutex<Vec<VipSample>>,
    /// The probe runs on another host (ssh provider): pauses wait for its acknowledgement.
    pub remote: AtomicBool,
    pub acked_pause: AtomicBool,
}

pub struct Samplers {
    pub shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Samplers {
    pub fn start(
        lab: &Lab,
        fleet: Arc<dyn Fleet>,
        t0: Instant,
        target: Option<SocketAddr>,
    ) -> Samplers {
        let shared = Arc::new(Shared::default());
        let mut threads = Vec::new();
        if let Some(target) = target {
            let (sh, fleet) = (shared.clone(), fleet.clone());
            threads.push(std::thread::spawn(move || fleet.probe_loop(sh, target, t0)));
        }
        let sh = shared.clone();
        let lab2 = lab.clone();
        threads.push(std::thread::spawn(move || {
            monitor_loop(&sh, &lab2, fleet.as_ref(), t0)
        }));
        Samplers { shared, threads }
    }

    /// Pauses the probe and waits for its request still out, if any: an answer arriving after
    /// the pause would take a turn in haproxy's rotation from the step that paused it.
    pub fn pause(&self, t0: Instant) {
        self.shared.paused.store(true, Ordering::SeqCst);
        let end = Instant::now() + PROBE_TIMEOUT + Duration::from_millis(500);
        while self.shared.in_flight.load(Ordering::SeqCst) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(1));
        }
        // A probe on another host says `paused` once its last request is back.
        let end = Instant::now() + PROBE_TIMEOUT + Duration::from_secs(2);
        while self.shared.remote.load(Ordering::SeqCst)
            && !self.shared.acked_pause.load(Ordering::SeqCst)
            && Instant::now() < end
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Ok(mut p) = self.shared.pauses.lock() {
            p.push((ms(t0), u64::MAX));
        }
    }

    pub fn resume(&self, t0: Instant) {
        if let Ok(mut p) = self.shared.pauses.lock()
            && let Some(last) = p.last_mut()
        {
            last.1 = ms(t0);
        }
        self.shared.paused.store(false, Ordering::SeqCst);
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.shared
            .samples
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    pub fn pauses(&self) -> Vec<(u64, u64)> {
        self.shared
            .pauses
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    pub fn vips(&self) -> Vec<VipSample> {
        self.shared
            .vips
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    pub fn stop(mut self) -> (Vec<Sample>, Vec<VipSample>) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        (self.samples(), self.vips())
    }
}

/// The probe itself, run where the client is (see [`Fleet::probe_loop`]).
pub fn probe_loop(sh: &Shared, target: SocketAddr, t0: Instant) {
    let started = Instant::now();
    while !sh.stop.load(Ordering::SeqCst) && started.elapsed() < MAX_RUN {
        let tick = Instant::now();
        // Flag first, then look (pause() stores its flag, then looks at this one): either the
        // pause sees the request coming, or the probe sees the pause.
        sh.in_flight.store(true, Ordering::SeqCst);
        if !sh.paused.load(Ordering::SeqCst) {
            let sample = probe_once(target, ms(t0));
            if let Ok(mut s) = sh.samples.lock() {
                s.push(sample);
            }
        }
        sh.in_flight.store(false, Ordering::SeqCst);
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

fn monitor_loop(sh: &Shared, lab: &Lab, fleet: &dyn Fleet, t0: Instant) {
    let started = Instant::now();
    let macs = observe::macs(lab, fleet);
    while !sh.stop.load(Ordering::SeqCst) && started.elapsed() < MAX_RUN {
        let tick = Instant::now();
        let t_ms = ms(t0);
        let holders = observe::vip_holders(lab, fleet);
        let mut batch = Vec::new();
        for (vip, h) in holders {
            let client_arp = arp_node(lab, fleet, vip, &macs);
            batch.push(VipSample {
                t_ms,
                vip,
                holders: h,
                client_arp,
            });
        }
        if let Ok(mut v) = sh.vips.lock() {
            v.extend(batch);
        }
        if let Some(rest) = MONITOR_EVERY.checked_sub(tick.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

/// The node the client's ARP entry points at; entries the kernel no longer trusts
/// (FAILED, INCOMPLETE) point nowhere.
fn arp_node(
    lab: &Lab,
    fleet: &dyn Fleet,
    vip: Ipv4Addr,
    macs: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    let (mac, state) = fleet.client_arp(lab, vip)?;
    if state == "FAILED" || state == "INCOMPLETE" {
        return None;
    }
    Some(macs.get(&mac).cloned().unwrap_or(mac))
}
