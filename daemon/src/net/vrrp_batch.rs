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

use super::vrrp_socket::{MAX_PACKET, Received, VrrpSocket};

/// Packets per `sendmmsg` / `recvmmsg` call, at most.
pub const MMSG: usize = 32;

/// Buffers for [`VrrpSocket::try_recv_many`], kept by the event loop for all its sockets:
/// the packets' bytes and `recvmmsg`'s headers, made once rather than per read (a backup
/// reads once per advert). nix's headers hold raw pointers, so the loop's state is not
/// `Send`; it never leaves the runtime's one thread.
pub struct RecvBuffers {
    data: Vec<u8>,
    headers: MultiHeaders<SockaddrIn>,
}

impl Default for RecvBuffers {
    fn default() -> Self {
        Self {
            data: vec![0u8; MMSG * MAX_PACKET],
            headers: MultiHeaders::preallocate(MMSG, None),
        }
    }
}

impl VrrpSocket {
    /// Sends IPv4 packets made by [`VrrpSocket::packet_v4`] to their destinations in as few
    /// system calls as the kernel allows; the outcome of each packet, in order. A packet the
    /// kernel refuses is reported and the ones after it are still sent. `part` says what
    /// each item sends where.
    pub fn send_batch_v4<T>(
        &self,
        packets: &[T],
        part: impl Fn(&T) -> (&[u8], Ipv4Addr),
    ) -> Vec<io::Result<()>> {
        let mut outcomes: Vec<io::Result<()>> = Vec::with_capacity(packets.len());
        // IPv4 sockets have their send-only socket (IPv6 ones send on the polled one).
        let Some(out) = self.out.as_ref().filter(|_| self.family() == Family::Ipv4) else {
            outcomes.extend(packets.iter().map(|_| {
                Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "IPv4 packets on an IPv6 socket",
                ))
            }));
            return outcomes;
        };
        if let [one] = packets {
            // One advert (one instance on the interface): a plain `sendto`, without the
            // headers `sendmmsg` needs.
            let (packet, dst) = part(one);
            let to = socket2::SockAddr::from(SocketAddrV4::new(dst, 0));
            outcomes.push(out.send_to(packet, &to).map(drop));
            return outcomes;
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
        outcomes
    }

    /// Every packet queued on the socket, up to [`MMSG`] per system call and `limit` in all,
    /// appended to `out`; `WouldBlock` if none was queued. Only reads when the runtime has seen
    /// the socket readable, and clears that readiness once the queue is found empty (a short
    /// `recvmmsg` says so: no extra call that fails with `EAGAIN` per burst). IPv6 sockets
    /// read one packet per call.
    pub fn try_recv_many(
        &self,
        buffers: &mut RecvBuffers,
        limit: usize,
        out: &mut Vec<Received>,
    ) -> io::Result<()> {
        self.recv_many(buffers, limit, out, true)
    }

    /// [`VrrpSocket::try_recv_many`] whatever the runtime knows of the socket's readiness:
    /// what the kernel has queued at this moment, even if the runtime has not polled for
    /// events since it arrived.
    pub fn recv_queued(
        &self,
        buffers: &mut RecvBuffers,
        limit: usize,
        out: &mut Vec<Received>,
    ) -> io::Result<()> {
        self.recv_many(buffers, limit, out, false)
    }

    fn recv_many(
        &self,
        buffers: &mut RecvBuffers,
        limit: usize,
        out: &mut Vec<Received>,
        tracked: bool,
    ) -> io::Result<()> {
        let fd = self.socket.as_raw_fd();
        let start = out.len();
        while out.len() - start < limit {
            let want = (limit - (out.len() - start)).min(MMSG);
            let mut burst = || -> io::Result<()> {
                if self.family() != Family::Ipv4 {
                    let packet = super::vrrp_socket::recv_v6(fd, &mut buffers.data[..MAX_PACKET])?;
                    // A packet without the control messages we asked for is not one we can
                    // check: dropped.
                    out.extend(packet);
                    return Ok(());
                }
                let mut slices: Vec<[IoSliceMut<'_>; 1]> = buffers
                    .data
                    .chunks_mut(MAX_PACKET)
                    .take(want)
                    .map(|b| [IoSliceMut::new(b)])
                    .collect();
                let headers = &mut buffers.headers;
                let results = recvmmsg(fd, headers, &mut slices, MsgFlags::empty(), None)
                    .map_err(io::Error::from)?;
                let mut n = 0;
                for message in results {
                    n += 1;
                    if let Some(bytes) = message.iovs().next() {
                        out.push(Received::Ipv4(bytes.to_vec()));
                    }
                }
                // Fewer than asked: the queue is empty now. Saying so lets the runtime clear
                // the readiness (a packet arriving later raises it again).
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
                Ok(()) => {}
                Err(e) if out.len() == start => return Err(e),
                Err(_) => break,
            }
        }
        Ok(())
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
