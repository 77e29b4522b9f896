//! Adverts of one timer batch, held until every due instance has made its own and then sent
//! with one `sendmmsg` per socket ([`VrrpSocket::send_batch_v4`]): a batch of N instances due
//! together on an interface is one system call, not N. IPv4 only; IPv6 adverts (each with
//! its own `IPV6_PKTINFO`) and adverts outside a timer batch leave at once.
//!
//! The outbox and its packets' buffers are kept from one batch to the next: a master sends
//! the same advert every interval, and its packet is made again in the buffer that held it
//! ([`AdvertPacket`]), with no allocation per advert.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use halab_vrrp::{Advert, Family};

use super::Daemon;
use crate::net::{AdvertPacket, VrrpSocket};

/// One held advert.
pub(super) struct Outgoing {
    runner: usize,
    socket: Arc<VrrpSocket>,
    packet: AdvertPacket,
    dst: Ipv4Addr,
    priority_zero: bool,
}

/// The held adverts, in the order the instances made them.
#[derive(Default)]
pub(super) struct Outbox {
    /// Between [`Daemon::hold_adverts`] and [`Daemon::flush_adverts`].
    holding: bool,
    held: Vec<Outgoing>,
    /// The buffers of the last batch's packets, in reverse order: taken from the end, the
    /// n-th advert of a batch gets the buffer of the n-th of the last one, which holds the
    /// same advert while the batches are alike.
    spare: Vec<AdvertPacket>,
    /// The send's outcomes, one per packet.
    outcomes: Vec<std::io::Result<()>>,
}

impl Outbox {
    /// Holds runner `runner`'s `advert` from `src` to `dst` if a batch is being made and it
    /// can go in it; false (nothing held) if it must be sent at once.
    pub(super) fn hold(
        &mut self,
        runner: usize,
        socket: &Arc<VrrpSocket>,
        advert: &Advert,
        (src, dst): (IpAddr, IpAddr),
        ttl: u8,
    ) -> bool {
        if !self.holding {
            return false;
        }
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (src, dst) else {
            return false;
        };
        if socket.family() != Family::Ipv4 {
            return false;
        }
        let mut packet = self.spare.pop().unwrap_or_default();
        socket.packet_v4_into(advert, src, dst, ttl, &mut packet);
        self.held.push(Outgoing {
            runner,
            socket: Arc::clone(socket),
            packet,
            dst,
            priority_zero: advert.priority() == 0,
        });
        true
    }
}

impl Daemon {
    /// From now on, adverts made in a timer batch are held for [`Daemon::flush_adverts`].
    pub(super) fn hold_adverts(&mut self) {
        self.outbox.holding = true;
    }

    /// Sends the held adverts, one batch per socket, and counts them for their instances.
    pub(super) fn flush_adverts(&mut self) {
        let outbox = &mut self.outbox;
        outbox.holding = false;
        let mut held = std::mem::take(&mut outbox.held);
        let mut outcomes = std::mem::take(&mut outbox.outcomes);
        let mut sent = Vec::new();
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
            socket.send_batch_v4(&batch, |o| (o.packet.bytes(), o.dst), &mut outcomes);
            for (o, outcome) in batch.iter().zip(outcomes.drain(..)) {
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
            if sent.is_empty() {
                sent = batch;
            } else {
                sent.extend(batch);
            }
        }
        let outbox = &mut self.outbox;
        outbox.spare.clear();
        outbox.spare.extend(sent.drain(..).rev().map(|o| o.packet));
        // The emptied vectors keep their room for the next batch.
        outbox.held = sent;
        outbox.outcomes = outcomes;
    }
}
