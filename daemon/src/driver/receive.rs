//! Receiving adverts: one socket per interface (and per multicast or unicast use), shared by
//! every instance on it, one task reading it into the loop, and the loop handing each packet
//! to the instance its VRID names. One read per advert, however many instances run (a socket
//! per instance would read every advert once per instance).

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use halab_vrrp::Family;
use tokio::sync::mpsc::Sender;
use tokio::sync::mpsc::error::TrySendError;
use tokio::task::AbortHandle;

use super::{Daemon, Event};
use crate::net::{Link, Received, RecvBuffers, VrrpSocket};

/// Which socket: an interface, joined to the VRRP group or not (unicast instances), and the
/// family (an interface may carry IPv4 and IPv6 instances).
pub(super) type SocketKey = (u32, bool, Family);

/// One interface's socket and the task reading it.
pub(super) struct SharedSocket {
    pub(super) socket: Arc<VrrpSocket>,
    task: AbortHandle,
}

impl Drop for SharedSocket {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where packets go: (socket, VRID) -> runner indices, and ARP heard on an interface:
/// (ifindex, VIP) -> runner indices; rebuilt when runners change.
#[derive(Default)]
pub(super) struct Routes {
    map: HashMap<(SocketKey, u8), Vec<usize>>,
    pub(super) vips: HashMap<(u32, Ipv4Addr), Vec<usize>>,
    stale: bool,
}

impl Routes {
    /// Runners or their setups changed: rebuild before the next packet.
    pub(super) fn invalidate(&mut self) {
        self.stale = true;
    }
}

impl Daemon {
    /// The socket for an instance on `link`, opened (and its reader started) if it is the
    /// first instance there.
    pub(super) fn socket_on(
        &mut self,
        link: &Link,
        multicast: bool,
        family: Family,
    ) -> std::io::Result<Arc<VrrpSocket>> {
        let key = (link.index, multicast, family);
        if let Some(shared) = self.sockets.get(&key) {
            return Ok(Arc::clone(&shared.socket));
        }
        let socket = Arc::new(VrrpSocket::open(&link.name, link.index, multicast, family)?);
        let task = spawn_receiver(Arc::clone(&socket), key, self.tx.clone());
        self.sockets.insert(
            key,
            SharedSocket {
                socket: Arc::clone(&socket),
                task,
            },
        );
        Ok(socket)
    }

    /// Closes the sockets (VRRP and ARP) no running instance uses any more.
    pub(super) fn prune_sockets(&mut self) {
        let used: HashSet<SocketKey> = self
            .runners
            .iter()
            .filter_map(|r| r.setup.as_ref().map(|s| s.socket_key))
            .collect();
        self.sockets.retain(|key, _| used.contains(key));
        let listening: HashSet<u32> = self
            .runners
            .iter()
            .filter_map(|r| r.setup.as_ref().filter(|s| s.heal.is_some()))
            .map(|s| s.ifindex)
            .collect();
        self.arp_listeners
            .retain(|ifindex, _| listening.contains(ifindex));
        self.routes.invalidate();
    }

    /// Rebuilds the routes if runners changed since.
    pub(super) fn reindex(&mut self) {
        if !self.routes.stale {
            return;
        }
        self.routes.map.clear();
        self.routes.vips.clear();
        for (i, runner) in self.runners.iter().enumerate() {
            if let Some(setup) = &runner.setup {
                self.routes
                    .map
                    .entry((setup.socket_key, runner.conf.vrid))
                    .or_default()
                    .push(i);
                let interface = &runner.conf.interface;
                for vip in &runner.conf.vips {
                    // The ARP listener hears IPv4 only.
                    let std::net::IpAddr::V4(address) = vip.vip.address else {
                        continue;
                    };
                    if vip.dev.as_ref().is_none_or(|dev| dev == interface) {
                        self.routes
                            .vips
                            .entry((setup.ifindex, address))
                            .or_default()
                            .push(i);
                    }
                }
            }
        }
        self.routes.stale = false;
    }

    /// A packet read on socket `key`: to each instance with its VRID there.
    pub(super) async fn packet(&mut self, key: SocketKey, packet: Received) {
        self.reindex();
        // Other virtual routers share the wire: they stop here.
        let Some(vrid) = packet.vrid() else {
            return;
        };
        let Some(targets) = self.routes.map.get(&(key, vrid)) else {
            return;
        };
        if let [only] = targets[..] {
            self.deliver(only, key, vrid, packet).await;
        } else {
            for index in targets.clone() {
                self.deliver(index, key, vrid, packet.clone()).await;
            }
        }
    }

    async fn deliver(&mut self, index: usize, key: SocketKey, vrid: u8, packet: Received) {
        let now = self.now_ts(Instant::now());
        let Some(runner) = self.runners.get_mut(index) else {
            return;
        };
        let Some(setup) = runner.setup.as_mut() else {
            return;
        };
        if setup.socket_key != key || runner.conf.vrid != vrid {
            // A route left over from before a change the index missed: never misdeliver.
            self.routes.invalidate();
            return;
        }
        runner.counters.adverts_received += 1;
        let actions = setup.core.handle(now, packet.into_input());
        self.apply(index, actions).await;
    }
}

/// Packets one reader passes to the loop at once, at most.
const BATCH: usize = 256;

/// Reads `socket` until aborted, passing the packets to the loop as read on `key`: everything
/// queued when it wakes goes in one event (read `recvmmsg` at a time), so a burst of N
/// adverts wakes the loop once and costs N / [`crate::net::MMSG`] system calls.
fn spawn_receiver(socket: Arc<VrrpSocket>, key: SocketKey, tx: Sender<Event>) -> AbortHandle {
    tokio::spawn(async move {
        let mut buffers = RecvBuffers::default();
        loop {
            if let Err(e) = socket.readable().await {
                tracing::warn!("VRRP socket receive failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            let mut packets = Vec::new();
            match socket.try_recv_many(&mut buffers, BATCH, &mut packets) {
                Ok(()) => {
                    // A flood must not grow memory: past the queue's bound, drop packets
                    // (VRRP survives lost adverts; the loop is behind anyway).
                    match tx.try_send(Event::Packets {
                        socket: key,
                        packets,
                    }) {
                        Ok(()) | Err(TrySendError::Full(_)) => {}
                        Err(TrySendError::Closed(_)) => return,
                    }
                }
                // Spurious readiness: tokio cleared it, wait again.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    tracing::warn!("VRRP socket receive failed: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    })
    .abort_handle()
}
