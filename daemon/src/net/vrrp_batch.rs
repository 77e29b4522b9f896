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

/// Buffers for [`VrrpSocket::try_recv_many`], kept by the socket's reader.
/// (nix's headers for them hold raw pointers, so they are made per read: the reader is a
/// task that may move between threads.)
pub struct RecvBuffers {
    data: Vec<u8>,
}

impl Default for RecvBuffers {
    fn default() -> Self {
        Self {
            data: vec![0u8; MMSG * MAX_PACKET],
        }
    }
}

impl VrrpSocket {
    /// Sends IPv4 packets made by [`VrrpSocket::packet_v4`] to their destinations in as few
    /// system calls as the kernel allows; the outcome of each packet, in order. A packet the
    /// kernel refuses is reported and the ones after it are still sent.
    pub fn send_batch_v4(&self, packets: &[(Vec<u8>, Ipv4Addr)]) -> Vec<io::Result<()>> {
        let mut outcomes: Vec<io::Result<()>> = Vec::with_capacity(packets.len());
        if self.family() != Family::Ipv4 {
            outcomes.extend(packets.iter().map(|_| {
                Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "IPv4 packets on an IPv6 socket",
                ))
            }));
            return outcomes;
        }
        let fd = self.socket.as_raw_fd();
        let mut headers = MultiHeaders::<SockaddrIn>::preallocate(MMSG.min(packets.len()), None);
        while outcomes.len() < packets.len() {
            let chunk = &packets[outcomes.len()..packets.len().min(outcomes.len() + MMSG)];
            let slices: Vec<[IoSlice<'_>; 1]> =
                chunk.iter().map(|(p, _)| [IoSlice::new(p)]).collect();
            let addresses: Vec<Option<SockaddrIn>> = chunk
                .iter()
                .map(|&(_, dst)| Some(SockaddrIn::from(SocketAddrV4::new(dst, 0))))
                .collect();
            let sent = self.socket.try_io(Interest::WRITABLE, || {
                sendmmsg(fd, &mut headers, &slices, &addresses, [], MsgFlags::empty())
                    .map(Iterator::count)
                    .map_err(io::Error::from)
            });
            match sent {
                Ok(0) => outcomes.push(Err(io::Error::other("sendmmsg sent nothing"))),
                Ok(n) => outcomes.extend((0..n).map(|_| Ok(()))),
                // The first packet of the chunk failed: report it, go on after it.
                Err(e) => outcomes.push(Err(e)),
            }
        }
        outcomes
    }

    /// Every packet queued on an IPv4 socket, up to [`MMSG`] per system call and `limit` in
    /// all, appended to `out`; `WouldBlock` if none was queued. IPv6 sockets read one packet
    /// per call ([`VrrpSocket::try_recv`]).
    pub fn try_recv_many(
        &self,
        buffers: &mut RecvBuffers,
        limit: usize,
        out: &mut Vec<Received>,
    ) -> io::Result<()> {
        if self.family() != Family::Ipv4 {
            let mut buf = [0u8; MAX_PACKET];
            let first = self.try_recv(&mut buf)?;
            out.push(first);
            while out.len() < limit {
                match self.try_recv(&mut buf) {
                    Ok(packet) => out.push(packet),
                    Err(_) => break,
                }
            }
            return Ok(());
        }
        let fd = self.socket.as_raw_fd();
        let start = out.len();
        let mut headers = MultiHeaders::<SockaddrIn>::preallocate(MMSG, None);
        while out.len() - start < limit {
            let data = &mut buffers.data;
            let mut slices: Vec<[IoSliceMut<'_>; 1]> = data
                .chunks_mut(MAX_PACKET)
                .take((limit - (out.len() - start)).min(MMSG))
                .map(|b| [IoSliceMut::new(b)])
                .collect();
            let read = self.socket.try_io(Interest::READABLE, || {
                let results = recvmmsg(fd, &mut headers, &mut slices, MsgFlags::empty(), None)
                    .map_err(io::Error::from)?;
                let before = out.len();
                for message in results {
                    if let Some(bytes) = message.iovs().next() {
                        out.push(Received::Ipv4(bytes.to_vec()));
                    }
                }
                Ok(out.len() - before)
            });
            match read {
                Ok(n) if n < MMSG => break,
                Ok(_) => {}
                Err(e) if out.len() == start => return Err(e),
                Err(_) => break,
            }
        }
        Ok(())
    }
}
