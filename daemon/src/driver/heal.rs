//! The driver's part of halab's split-brain heal (the decisions are the core's): ARP heard on
//! an interface becomes `Input::VipClaimed` for the instances whose VIP someone else announces,
//! and `Action::AnnounceVipsAt` is carried out once whoever holds the VIP answers our
//! "who has" request.
//!
//! One listener per interface, shared by every instance on it, dispatching by VIP (a listener
//! per instance made the kernel copy each ARP frame once per instance, and a master's start
//! burst of gratuitous ARPs for N VIPs became N² frames read on the backup). The socket is
//! bound to EtherType ARP, so the kernel hands it ARP frames only: no other traffic reaches
//! user space.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use halab_vrrp::{Input, Vip};
use tokio::sync::mpsc::Sender;
use tokio::sync::mpsc::error::TrySendError;
use tokio::task::AbortHandle;

use super::{Daemon, Event};
use crate::net::{ArpPacket, ArpWatch, Link, LinkTarget, announcement, arp_request};

/// How long an announcement waits for the holder's ARP reply.
const RESOLVE_FOR: Duration = Duration::from_secs(1);

/// One interface's ARP listener and the task reading it.
#[derive(Debug)]
pub(super) struct ArpListener {
    task: AbortHandle,
    pub(super) target: LinkTarget,
}

impl Drop for ArpListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An announcement waiting for its holder's MAC.
#[derive(Debug)]
pub(super) struct Pending {
    /// The runner (stable id) that asked.
    runner: u64,
    ifindex: u32,
    holder: Ipv4Addr,
    vips: Vec<Ipv4Addr>,
    until: Instant,
}

impl ArpListener {
    /// Listens to ARP on `target`'s interface (index `ifindex`), passing every frame to the
    /// loop.
    fn open(target: LinkTarget, ifindex: u32, tx: Sender<Event>) -> std::io::Result<Self> {
        let watch = ArpWatch::open(&target)?;
        let task = tokio::spawn(async move {
            loop {
                match watch.recv().await {
                    Ok(packet) => match tx.try_send(Event::Arp { ifindex, packet }) {
                        Ok(()) | Err(TrySendError::Full(_)) => {}
                        Err(TrySendError::Closed(_)) => return,
                    },
                    Err(e) => {
                        tracing::warn!("ARP socket receive failed: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        })
        .abort_handle();
        Ok(Self { task, target })
    }
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl Daemon {
    /// The ARP listener on `link` (opened if it is the first instance there): its target, or
    /// why there is none. Without it an instance still runs (VRRP matters more); it only
    /// loses the heal's ARP side, which the caller logs.
    pub(super) fn arp_listener_on(&mut self, link: &Link) -> std::io::Result<LinkTarget> {
        if let Some(listener) = self.arp_listeners.get(&link.index) {
            return Ok(listener.target);
        }
        let target = self.link_target(&link.name)?;
        let listener = ArpListener::open(target, link.index, self.tx.clone())?;
        self.arp_listeners.insert(link.index, listener);
        Ok(target)
    }

    /// An ARP packet heard on interface `ifindex`.
    pub(super) async fn arp_packet(&mut self, ifindex: u32, packet: ArpPacket) {
        let Some(listener) = self.arp_listeners.get(&ifindex) else {
            return;
        };
        if packet.sha == listener.target.mac {
            return;
        }
        if !self.heal_pending.is_empty() {
            let now = Instant::now();
            self.heal_pending.retain(|p| p.until >= now);
            let (resolved, waiting): (Vec<Pending>, Vec<Pending>) =
                std::mem::take(&mut self.heal_pending)
                    .into_iter()
                    .partition(|p| p.ifindex == ifindex && p.holder == packet.spa);
            self.heal_pending = waiting;
            for pending in resolved {
                if let Some(index) = self.runners.iter().position(|r| r.id == pending.runner) {
                    self.send_announcement(index, pending.holder, packet.sha, &pending.vips);
                }
            }
        }
        self.reindex();
        let Some(claimed) = self.routes.vips.get(&(ifindex, packet.spa)) else {
            return;
        };
        for index in claimed.clone() {
            let runner = &mut self.runners[index];
            let Some(setup) = runner.setup.as_mut() else {
                continue;
            };
            if setup.heal.is_none() || setup.ifindex != ifindex {
                continue;
            }
            tracing::debug!(
                "({}) {} announced at {}",
                runner.conf.name,
                packet.spa,
                mac_text(packet.sha)
            );
            let now = self.now_ts(Instant::now());
            let address = IpAddr::V4(packet.spa);
            let Some(setup) = self.runners[index].setup.as_mut() else {
                continue;
            };
            let mut actions = setup.core.handle(now, Input::VipClaimed { address });
            self.apply(index, &mut actions).await;
        }
    }

    /// `Action::AnnounceVipsAt`: the VIPs on this instance's interface, at the MAC of whoever
    /// answers for `holder` (a VIP: whoever else holds it) within a second. IPv4 only: the
    /// heal listens to ARP, and IPv6 VIPs have neighbour discovery instead (not done yet).
    pub(super) fn announce_at(&mut self, index: usize, vips: &[Vip], holder: IpAddr) {
        let IpAddr::V4(holder) = holder else {
            return;
        };
        let runner = &mut self.runners[index];
        let interface = runner.conf.interface.clone();
        let addresses: Vec<Ipv4Addr> = runner
            .conf
            .vips
            .iter()
            .filter(|v| vips.iter().any(|vip| vip.address == v.vip.address))
            .filter(|v| v.dev.as_ref().is_none_or(|dev| *dev == interface))
            .filter_map(|v| match v.vip.address {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
            .collect();
        let name = runner.conf.name.clone();
        let id = runner.id;
        let Some(setup) = runner.setup.as_mut() else {
            return;
        };
        let (IpAddr::V4(primary), ifindex) = (setup.primary, setup.ifindex) else {
            return;
        };
        let Some(target) = setup.heal else {
            tracing::warn!("({name}) cannot announce the VIPs at {holder}: no ARP listener");
            return;
        };
        if addresses.is_empty() {
            return;
        }
        // Ask; the reply (ARP gets through where VRRP may not) completes it.
        self.heal_pending
            .retain(|p| !(p.runner == id && p.holder == holder));
        self.heal_pending.push(Pending {
            runner: id,
            ifindex,
            holder,
            vips: addresses,
            until: Instant::now() + RESOLVE_FOR,
        });
        let frame = arp_request(target.mac, primary, holder);
        if let Err(e) = self.arp.send(&target, &frame) {
            self.runners[index].counters.io_errors += 1;
            tracing::warn!("({name}) ARP request for {holder} failed: {e}");
        }
    }

    fn send_announcement(
        &mut self,
        index: usize,
        holder: Ipv4Addr,
        mac: [u8; 6],
        vips: &[Ipv4Addr],
    ) {
        let runner = &mut self.runners[index];
        let repeat = runner.conf.garp_master_repeat;
        let Some(target) = runner.setup.as_ref().and_then(|s| s.heal) else {
            return;
        };
        let name = runner.conf.name.clone();
        let mut sent = 0;
        let mut errors = 0;
        for vip in vips {
            let frame = announcement(target.mac, mac, *vip);
            for _ in 0..repeat {
                match self.arp.send(&target, &frame) {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        errors += 1;
                        tracing::warn!("({name}) announcement of {vip} failed: {e}");
                    }
                }
            }
            tracing::info!(
                "({name}) announcing {vip} at {}, the MAC that answered for {holder} (split-brain heal)",
                mac_text(mac)
            );
        }
        let runner = &mut self.runners[index];
        runner.counters.garps_sent += sent;
        runner.counters.io_errors += errors;
    }
}
