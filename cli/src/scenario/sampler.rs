//! The two background threads of a scenario run.
//!
//! The probe sends a request through the VIP every 10 ms from the client node (its own
//! thread inside the client's network namespace) and records who answered or what failed.
//! The monitor samples who holds each VIP and where the client's ARP entry points, every
//! 50 ms. Both stop on their flag, and both are bounded in count and time.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::result::{Sample, VipSample};
use crate::fleet::Fleet;
use crate::lab::Lab;
use crate::observe;
use crate::probe::sampling::{MAX_RUN, PROBE_TIMEOUT, Shared, ms};

const MONITOR_EVERY: Duration = Duration::from_millis(50);

pub struct Samplers {
    pub shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Samplers {
    pub fn start(
        lab: &Lab,
        fleet: Arc<dyn Fleet>,
        t0: Instant,
        targets: &[SocketAddr],
    ) -> Samplers {
        let shared = Arc::new(Shared::default());
        let mut threads = Vec::new();
        // One probe per VIP: each VIP's outage is measured on its own lane.
        for &target in targets {
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
        self.shared.acked_pause.store(0, Ordering::SeqCst);
        self.shared.paused.store(true, Ordering::SeqCst);
        let end = Instant::now() + PROBE_TIMEOUT + Duration::from_millis(500);
        while self.shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(1));
        }
        // A probe on another host says `paused` once its last request is back.
        let end = Instant::now() + PROBE_TIMEOUT + Duration::from_secs(2);
        while self.shared.acked_pause.load(Ordering::SeqCst)
            < self.shared.remote.load(Ordering::SeqCst)
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

    /// The VIPs probed so far (one probe per VIP), in address order.
    pub fn probed_vips(&self) -> Vec<std::net::IpAddr> {
        let mut v: Vec<std::net::IpAddr> = self.samples().iter().filter_map(|s| s.vip).collect();
        v.sort();
        v.dedup();
        v
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
    vip: IpAddr,
    macs: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    let (mac, state) = fleet.client_arp(lab, vip)?;
    if state == "FAILED" || state == "INCOMPLETE" {
        return None;
    }
    Some(macs.get(&mac).cloned().unwrap_or(mac))
}
