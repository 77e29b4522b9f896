//! Many packets per system call on a [`VrrpSocket`] (IPv4): `sendmmsg` for the adverts of one
//! timer batch, `recvmmsg` for a burst of received ones.
//!
//! With N instances due at one moment on one interface, one `sendto` per advert meant N
//! system calls, and at each one's exit the woken receiver could preempt the sender: the
//! profile at N=1000, 0.01 s put most of both LBs' time there. One call per batch pays the
//! entry, exit and preemption once per batch; the kernel's work per packet (bridge, veth,
//! the receiver's queue) stays.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;

use halab_vrrp::Family;
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrIn, recvmmsg, sendmmsg};
use tokio::io::Interest;

use super::vrrp_socket::{MAX_PACKET, Received, V6Header, VrrpSocket};

/// Packets per `sendmmsg` / `recvmmsg` call, at most.
pub const MMSG: usize = 32;

/// Buffers for [`VrrpSocket::recv_burst`], kept by the event loop for all its sockets: the
/// packets' bytes and `recvmmsg`'s headers, made once rather than per read (a backup reads
/// once per advert). The packets of a burst are handed out where they lie
/// ([`RecvBuffers::received`]), not copied. nix's headers hold raw pointers, so the loop's
/// state is not `Send`; it never leaves the runtime's one thread.
pub struct RecvBuffers {
    data: Vec<u8>,
    headers: MultiHeaders<SockaddrIn>,
    /// The length of each packet of the last burst, in the order read.
    lens: [usize; MMSG],
    count: usize,
    /// IPv6 (one packet per burst): what `recvmsg` said of its header.
    v6: Option<V6Header>,
}

impl Default for RecvBuffers {
    fn default() -> Self {
        Self {
            data: vec![0u8; MMSG * MAX_PACKET],
            headers: MultiHeaders::preallocate(MMSG, None),
            lens: [0; MMSG],
            count: 0,
            v6: None,
        }
    }
}

impl RecvBuffers {
    /// The packets of the last burst, in the order read.
    pub fn received(&self) -> impl Iterator<Item = Received<'_>> {
        let v6 = self.v6;
        self.data
            .chunks(MAX_PACKET)
            .zip(&self.lens)
            .take(self.count)
            .map(move |(slot, &len)| {
                let bytes = &slot[..len];
                match v6 {
                    None => Received::Ipv4(bytes),
                    Some((src, dst, hop_limit)) => Received::Ipv6 {
                        src,
                        dst,
                        hop_limit,
                        payload: bytes,
                    },
                }
            })
    }

    /// How many packets the last burst holds.
    pub const fn count(&self) -> usize {
        self.count
    }
}

impl VrrpSocket {
    /// Sends IPv4 packets made by [`VrrpSocket::packet_v4_into`] to their destinations in as
    /// few system calls as the kernel allows; the outcome of each packet, in order, replaces
    /// what `outcomes` held (a vector kept by the caller). A packet the kernel refuses is
    /// reported and the ones after it are still sent. `part` says what each item sends where.
    pub fn send_batch_v4<T>(
        &self,
        packets: &[T],
        part: impl Fn(&T) -> (&[u8], Ipv4Addr),
        outcomes: &mut Vec<io::Result<()>>,
    ) {
        outcomes.clear();
        // IPv4 sockets have their send-only socket (IPv6 ones send on the polled one).
        let Some(out) = self.out.as_ref().filter(|_| self.family() == Family::Ipv4) else {
            outcomes.extend(packets.iter().map(|_| {
                Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "IPv4 packets on an IPv6 socket",
                ))
            }));
            return;
        };
        if let [one] = packets {
            // One advert (one instance on the interface): a plain `sendto`, without the
            // headers `sendmmsg` needs.
            let (packet, dst) = part(one);
            let to = socket2::SockAddr::from(SocketAddrV4::new(dst, 0));
            outcomes.push(out.send_to(packet, &to).map(drop));
            return;
        }
        let fd = out.as_raw_fd();
        let mut headers = MultiHeaders::<SockaddrIn>::preallocate(MMSG.min(packets.len()), None);
        while outcomes.len() < packets.len() {
            let chunk = &packets[outcomes.len()..packets.len().min(outcomes.len() + MMSG)];
            let slices: Vec<[IoSlice<'_>; 1]> =
                chunk.iter().map(|p| [IoSlice::new(part(p).0)]).collect();
            let addresses: Vec<Option<SockaddrIn>> = chunk
                .iter()
                .map(|p| Some(SockaddrIn::from(SocketAddrV4::new(part(p).1, 0))))
                .collect();
            // The send-only socket is not the runtime's: no readiness to ask or clear.
            let sent = sendmmsg(fd, &mut headers, &slices, &addresses, [], MsgFlags::empty())
                .map(Iterator::count)
                .map_err(io::Error::from);
            match sent {
                Ok(0) => outcomes.push(Err(io::Error::other("sendmmsg sent nothing"))),
                Ok(n) => outcomes.extend((0..n).map(|_| Ok(()))),
                // The first packet of the chunk failed: report it, go on after it.
                Err(e) => outcomes.push(Err(e)),
            }
        }
    }

    /// Reads a burst of queued packets into `buffers`: up to `want` ([`MMSG`] at most, IPv6 one),
    /// found by [`RecvBuffers::received`]. Ok(true) if the burst was full (more may be queued),
    /// Ok(false) if the queue is empty now, `WouldBlock` if nothing was queued. With `tracked`,
    /// reads only when the runtime has seen the socket readable, and clears that readiness
    /// once the queue is found empty (a short `recvmmsg` says so: no extra call that fails with
    /// `EAGAIN` per burst); without, reads what the kernel has queued at this moment, even if
    /// the runtime has not polled for events since it arrived.
    pub fn recv_burst(
        &self,
        buffers: &mut RecvBuffers,
        want: usize,
        tracked: bool,
    ) -> io::Result<bool> {
        let fd = self.socket.as_raw_fd();
        let want = want.clamp(1, MMSG);
        buffers.count = 0;
        buffers.v6 = None;
        let mut full = false;
        let mut burst = || -> io::Result<()> {
            if self.family() != Family::Ipv4 {
                let (slot, _) = buffers.data.split_at_mut(MAX_PACKET);
                let read = super::vrrp_socket::recv_v6(fd, slot)?;
                // One packet per call: the queue may hold more. A packet without the control
                // messages we asked for is not one we can check: dropped.
                full = true;
                if let Some((header, len)) = read {
                    buffers.v6 = Some(header);
                    buffers.lens[0] = len;
                    buffers.count = 1;
                }
                return Ok(());
            }
            let n = if want <= SMALL {
                recv_into::<SMALL>(fd, buffers, want)?
            } else {
                recv_into::<MMSG>(fd, buffers, want)?
            };
            buffers.count = n;
            full = n == want;
            // Fewer than asked: the queue is empty now. Saying so lets the runtime clear the
            // readiness (a packet arriving later raises it again).
            if n < want {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(())
        };
        let read = if tracked {
            self.socket.try_io(Interest::READABLE, burst)
        } else {
            burst()
        };
        match read {
            Ok(()) => Ok(full),
            // Some read, then the queue was found empty (or failed: the next read says).
            Err(_) if buffers.count > 0 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Ready once the runtime has seen the socket readable (or failed); registers `cx` to be
    /// woken otherwise.
    pub fn poll_readable(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        self.socket.poll_recv_ready(cx)
    }
}

/// Bursts of at most this many packets are read with headers for this many only: a backup
/// at N=1 reads one advert per wake-up, and setting up (and moving) [`MMSG`] slices for it
/// cost more than the rest of the read.
const SMALL: usize = 4;

/// One `recvmmsg` of up to `want` (at most N) packets into `buffers`' first slots, their
/// lengths into `buffers.lens`; how many were read.
fn recv_into<const N: usize>(
    fd: std::os::fd::RawFd,
    buffers: &mut RecvBuffers,
    want: usize,
) -> io::Result<usize> {
    let mut chunks = buffers.data.chunks_mut(MAX_PACKET);
    let mut slices: [[IoSliceMut<'_>; 1]; N] =
        std::array::from_fn(|_| [IoSliceMut::new(chunks.next().unwrap_or_default())]);
    let results = recvmmsg(
        fd,
        &mut buffers.headers,
        slices.iter_mut().take(want),
        MsgFlags::empty(),
        None,
    )
    .map_err(io::Error::from)?;
    let mut n = 0;
    for (message, len) in results.zip(&mut buffers.lens) {
        *len = message.bytes.min(MAX_PACKET);
        n += 1;
    }
    Ok(n)
}
