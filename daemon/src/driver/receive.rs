//! Receiving adverts: one socket per interface (and per multicast or unicast use), shared by
//! every instance on it, read by the event loop itself, which hands each packet to the
//! instance its VRID names. One read per burst of adverts, however many instances run (a
//! socket per instance would read every advert once per instance), and one task wake-up per
//! burst: no reader task and channel between the socket and the loop.
//!
//! Before the loop fires due timers it reads every socket ([`Daemon::read_all_sockets`];
//! when it woke late, whatever the runtime knows of their readiness): an advert already queued when a backup's Master_Down_Timer
//! is found due must count first, or a backup that was starved of CPU (or busy) takes over
//! from a master that never stopped.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use halab_vrrp::Family;

use super::Daemon;
use super::keyhash::KeyMap;
use crate::net::{Link, MMSG, Received, VrrpSocket};

/// Which socket: an interface, joined to the VRRP group or not (unicast instances), and the
/// family (an interface may carry IPv4 and IPv6 instances).
pub(super) type SocketKey = (u32, bool, Family);

/// One interface's socket.
pub(super) struct SharedSocket {
    pub(super) socket: Arc<VrrpSocket>,
    /// After a read error, the socket is not read again until then (an error that repeats
    /// would otherwise keep the loop busy).
    paused_until: Option<Instant>,
    /// How many packets a read asks the kernel for at first: twice the largest burst of the
    /// last read, so that the first `recvmmsg` usually finds the queue empty (one call per
    /// read) without setting up [`MMSG`] slots for the one advert a backup at N=1 reads.
    burst: usize,
}

/// Where packets go: (socket, VRID) -> runner indices (looked up per packet: a cheap hash),
/// and ARP heard on an interface: (ifindex, VIP) -> runner indices; rebuilt when runners
/// change.
#[derive(Default)]
pub(super) struct Routes {
    map: KeyMap<(SocketKey, u8), Vec<usize>>,
    pub(super) vips: std::collections::HashMap<(u32, Ipv4Addr), Vec<usize>>,
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
        self.sockets.insert(
            key,
            SharedSocket {
                socket: Arc::clone(&socket),
                paused_until: None,
                burst: MMSG,
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
    pub(super) async fn packet(&mut self, key: SocketKey, packet: Received<'_>) {
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
                self.deliver(index, key, vrid, packet).await;
            }
        }
    }

    async fn deliver(&mut self, index: usize, key: SocketKey, vrid: u8, packet: Received<'_>) {
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
        let mut actions = std::mem::take(&mut self.actions);
        packet.handle(&mut setup.core, now, &mut actions);
        self.apply(index, &mut actions).await;
        self.actions = actions;
    }
}

/// Packets read from one socket per turn of the loop, at most: a flood on one interface
/// must not hold up the others, timers or signals.
pub(super) const BATCH: usize = 256;

/// Packets read from one socket before timers fire, at most (the receive buffer holds a few
/// thousand adverts; what is beyond this was sent after the timers fell due anyway).
const BEFORE_TIMERS: usize = 8192;

/// How long a socket that failed to read rests.
const PAUSE: Duration = Duration::from_secs(1);

impl Daemon {
    /// Reads up to `limit` queued packets from socket `key` and hands them to their instances,
    /// a burst at a time, each where it lies in the receive buffers. With `fresh`, the socket
    /// is read even if the runtime has not yet seen it readable.
    pub(super) async fn read_socket(&mut self, key: SocketKey, limit: usize, fresh: bool) {
        let Some(shared) = self.sockets.get_mut(&key) else {
            return;
        };
        if shared.paused_until.is_some_and(|at| at > Instant::now()) {
            return;
        }
        shared.paused_until = None;
        let socket = Arc::clone(&shared.socket);
        // Out of the daemon while its packets are handed out (a reader reached from their
        // handling would make buffers of its own).
        let mut buffers = self.recv_buffers.take().unwrap_or_default();
        let mut want = shared.burst;
        let mut largest = 0;
        let mut read = 0;
        while read < limit {
            let before = read;
            let burst = socket.recv_burst(&mut buffers, want.min(limit - read), !fresh);
            for packet in buffers.received() {
                self.packet(key, packet).await;
            }
            largest = largest.max(buffers.count());
            // An IPv6 packet dropped for want of its control messages counts too.
            read += buffers.count().max(1);
            match burst {
                // A full burst: more may be queued, perhaps many.
                Ok(true) => want = (2 * want).min(MMSG),
                Ok(false) => break,
                // Nothing queued (or readiness was spurious: the runtime has cleared it).
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // Failing after packets were read: the next read says whether it lasts.
                Err(_) if before > 0 => break,
                Err(e) => {
                    tracing::warn!("VRRP socket receive failed: {e}");
                    if let Some(shared) = self.sockets.get_mut(&key) {
                        shared.paused_until = Some(Instant::now() + PAUSE);
                    }
                    break;
                }
            }
        }
        self.recv_buffers = Some(buffers);
        // A read that found nothing says nothing of the bursts to come.
        if largest > 0
            && let Some(shared) = self.sockets.get_mut(&key)
        {
            shared.burst = (2 * largest).clamp(2, MMSG);
        }
    }

    /// Reads every socket's queue (timers are about to fire); with `fresh`, whatever the
    /// runtime knows of their readiness.
    pub(super) async fn read_all_sockets(&mut self, fresh: bool) {
        let mut keys = std::mem::take(&mut self.socket_keys);
        keys.extend(self.sockets.keys().copied());
        for &key in &keys {
            self.read_socket(key, BEFORE_TIMERS, fresh).await;
        }
        keys.clear();
        self.socket_keys = keys;
    }

    /// When a paused socket may be read again, if one is paused.
    pub(super) fn sockets_resume_at(&self) -> Option<Instant> {
        self.sockets.values().filter_map(|s| s.paused_until).min()
    }
}

/// A socket the runtime has seen readable (not paused), if any; each turn starts looking at
/// another socket, so a flood on one cannot starve the rest. Registers `cx` with every
/// socket it looks at otherwise.
pub(super) fn poll_readable(
    sockets: &KeyMap<SocketKey, SharedSocket>,
    turn: usize,
    cx: &mut Context<'_>,
) -> Poll<SocketKey> {
    let count = sockets.len();
    let mut now = None;
    for (key, shared) in sockets.iter().cycle().skip(turn % count.max(1)).take(count) {
        if let Some(at) = shared.paused_until
            && at > *now.get_or_insert_with(Instant::now)
        {
            continue;
        }
        // An error is ready too: the read reports it.
        if shared.socket.poll_readable(cx).is_ready() {
            return Poll::Ready(*key);
        }
    }
    Poll::Pending
}
