//! The driver's part of halab's split-brain heal (the decisions are the core's): ARP heard on
//! an instance's interface becomes `Input::VipClaimed` when someone else announces one of its
//! VIPs, and `Action::AnnounceVipsAt` is carried out once whoever holds the VIP answers our
//! "who has" request.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use halab_vrrp::{Input, Vip};
use tokio::sync::mpsc::Sender;
use tokio::sync::mpsc::error::TrySendError;
use tokio::task::AbortHandle;

use super::{Daemon, Event};
use crate::net::{ArpPacket, ArpSender, ArpWatch, LinkTarget, announcement, arp_request};

/// How long an announcement waits for the holder's ARP reply.
const RESOLVE_FOR: Duration = Duration::from_secs(1);

/// One instance's ARP listener and what it learnt.
#[derive(Debug)]
pub struct ArpHeal {
    task: AbortHandle,
    target: LinkTarget,
    /// Announcements waiting for their holder's MAC.
    pending: Vec<Pending>,
}

#[derive(Debug)]
struct Pending {
    holder: Ipv4Addr,
    vips: Vec<Ipv4Addr>,
    until: Instant,
}

impl Drop for ArpHeal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ArpHeal {
    /// Listens to ARP on `ifname` for runner `id`. Without it the instance still runs (VRRP
    /// matters more); it only loses the heal's ARP side, which the caller logs.
    pub fn open(ifname: &str, id: u64, tx: Sender<Event>) -> std::io::Result<Self> {
        let target = ArpSender::target(ifname)?;
        let watch = ArpWatch::open(&target)?;
        let task = tokio::spawn(async move {
            loop {
                match watch.recv().await {
                    Ok(packet) => match tx.try_send(Event::Arp { runner: id, packet }) {
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
        Ok(Self {
            task,
            target,
            pending: Vec::new(),
        })
    }
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl Daemon {
    /// An ARP packet heard on runner `id`'s interface.
    pub(super) async fn arp_packet(&mut self, id: u64, packet: ArpPacket) {
        let Some(index) = self.runners.iter().position(|r| r.id == id) else {
            return;
        };
        let runner = &mut self.runners[index];
        let interface = &runner.conf.interface;
        let claimed = runner.conf.vips.iter().any(|vip| {
            vip.vip.address == IpAddr::V4(packet.spa)
                && vip.dev.as_ref().is_none_or(|dev| dev == interface)
        });
        let name = runner.conf.name.clone();
        let Some(heal) = runner.setup.as_mut().and_then(|s| s.heal.as_mut()) else {
            return;
        };
        if packet.sha == heal.target.mac {
            return;
        }
        let now = Instant::now();
        heal.pending.retain(|p| p.until >= now);
        let (resolved, waiting): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut heal.pending)
            .into_iter()
            .partition(|p| p.holder == packet.spa);
        heal.pending = waiting;
        for pending in resolved {
            self.send_announcement(index, pending.holder, packet.sha, &pending.vips);
        }
        if !claimed {
            return;
        }
        tracing::debug!(
            "({name}) {} announced at {}",
            packet.spa,
            mac_text(packet.sha)
        );
        let now = self.now_ts(Instant::now());
        let Some(setup) = self.runners[index].setup.as_mut() else {
            return;
        };
        let address = IpAddr::V4(packet.spa);
        let actions = setup.core.handle(now, Input::VipClaimed { address });
        self.apply(index, actions).await;
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
        let Some(setup) = runner.setup.as_mut() else {
            return;
        };
        let IpAddr::V4(primary) = setup.primary else {
            return;
        };
        let Some(heal) = setup.heal.as_mut() else {
            tracing::warn!("({name}) cannot announce the VIPs at {holder}: no ARP listener");
            return;
        };
        if addresses.is_empty() {
            return;
        }
        // Ask; the reply (ARP gets through where VRRP may not) completes it.
        heal.pending.retain(|p| p.holder != holder);
        heal.pending.push(Pending {
            holder,
            vips: addresses,
            until: Instant::now() + RESOLVE_FOR,
        });
        let frame = arp_request(heal.target.mac, primary, holder);
        let target = heal.target;
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
        let Some(target) = runner
            .setup
            .as_ref()
            .and_then(|s| s.heal.as_ref())
            .map(|h| h.target)
        else {
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
