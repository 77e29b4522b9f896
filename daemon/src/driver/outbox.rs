//! Adverts of one timer batch, held until every due instance has made its own and then sent
//! with one `sendmmsg` per socket ([`VrrpSocket::send_batch_v4`]): a batch of N instances due
//! together on an interface is one system call, not N. IPv4 only; IPv6 adverts (each with
//! its own `IPV6_PKTINFO`) and adverts outside a timer batch leave at once.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use halab_vrrp::{Advert, Family};

use super::Daemon;
use crate::net::VrrpSocket;

/// One held advert.
pub(super) struct Outgoing {
    runner: usize,
    socket: Arc<VrrpSocket>,
    packet: Vec<u8>,
    dst: Ipv4Addr,
    priority_zero: bool,
}

/// The held adverts, in the order the instances made them.
#[derive(Default)]
pub(super) struct Outbox {
    held: Vec<Outgoing>,
}

impl Outbox {
    /// Holds runner `runner`'s `advert` from `src` to `dst` if it can go in a batch; false
    /// (nothing held) if it must be sent at once.
    pub(super) fn hold(
        &mut self,
        runner: usize,
        socket: &Arc<VrrpSocket>,
        advert: &Advert,
        (src, dst): (IpAddr, IpAddr),
        ttl: u8,
    ) -> bool {
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (src, dst) else {
            return false;
        };
        if socket.family() != Family::Ipv4 {
            return false;
        }
        self.held.push(Outgoing {
            runner,
            socket: Arc::clone(socket),
            packet: socket.packet_v4(advert, src, dst, ttl),
            dst,
            priority_zero: advert.priority() == 0,
        });
        true
    }
}

impl Daemon {
    /// From now on, adverts made in a timer batch are held for [`Daemon::flush_adverts`].
    pub(super) fn hold_adverts(&mut self) {
        self.outbox = Some(Outbox::default());
    }

    /// Sends the held adverts, one batch per socket, and counts them for their instances.
    pub(super) fn flush_adverts(&mut self) {
        let Some(outbox) = self.outbox.take() else {
            return;
        };
        let mut held = outbox.held;
        while let Some(first) = held.first() {
            let socket = Arc::clone(&first.socket);
            // Usually every advert goes out on one socket (one interface): no sorting then.
            let batch = if held.iter().all(|o| Arc::ptr_eq(&o.socket, &socket)) {
                std::mem::take(&mut held)
            } else {
                let (batch, rest): (Vec<Outgoing>, Vec<Outgoing>) = held
                    .into_iter()
                    .partition(|o| Arc::ptr_eq(&o.socket, &socket));
                held = rest;
                batch
            };
            let outcomes = socket.send_batch_v4(&batch, |o| (&o.packet, o.dst));
            for (o, outcome) in batch.iter().zip(outcomes) {
                let Some(runner) = self.runners.get_mut(o.runner) else {
                    continue;
                };
                match outcome {
                    Ok(()) => {
                        runner.counters.adverts_sent += 1;
                        if o.priority_zero {
                            runner.counters.priority_zero_sent += 1;
                        }
                    }
                    Err(e) => {
                        runner.counters.io_errors += 1;
                        tracing::warn!(
                            "({}) failed to send advert to {}: {e}",
                            runner.conf.name,
                            o.dst
                        );
                    }
                }
            }
        }
    }
}
