//! The raw `IPPROTO_VRRP` socket of one interface, shared by the instances on it.
//!
//! Bound to the interface (`SO_BINDTODEVICE`), joined to 224.0.0.18 there, multicast loop off,
//! and `IP_HDRINCL` so that every advert leaves with exactly the header keepalived sends:
//! source = our primary address, TTL 255, TOS 0xc0 (RFC 5798 5.1.1).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::OwnedFd;

use halab_vrrp::ip::{VRRP_MULTICAST, VRRP_TTL, build_ipv4};
use halab_vrrp::{Advert, IPPROTO_VRRP};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// Largest packet we read: an advert is at most 20 + 1048 bytes; anything longer is not one.
pub const MAX_PACKET: usize = 2048;
/// Receive buffer: one socket serves every instance on an interface, and a thousand adverts
/// may arrive within a millisecond.
const RECV_BUFFER: usize = 4 << 20;

/// One interface's socket.
///
/// Held as a tokio `UdpSocket`: its `recv`/`send_to` are plain `recvfrom`/`sendto` calls, which
/// is all a raw socket needs, and converting an owned descriptor into one is safe (unlike
/// registering a raw fd with `AsyncFd`).
#[derive(Debug)]
pub struct VrrpSocket {
    socket: UdpSocket,
    /// IP identification, incremented per packet like keepalived.
    ip_id: std::sync::atomic::AtomicU16,
}

impl VrrpSocket {
    /// Opens the socket on `ifname`; joins the VRRP group unless the instance is unicast.
    pub fn open(ifname: &str, ifindex: u32, multicast: bool) -> std::io::Result<Self> {
        let socket = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(IPPROTO_VRRP))),
        )?;
        socket.set_cloexec(true)?;
        socket.set_header_included_v4(true)?;
        socket.bind_device(Some(ifname.as_bytes()))?;
        if multicast {
            socket
                .join_multicast_v4_n(&VRRP_MULTICAST, &InterfaceIndexOrAddress::Index(ifindex))?;
        }
        socket.set_multicast_loop_v4(false)?;
        socket.set_multicast_ttl_v4(u32::from(VRRP_TTL))?;
        socket.set_ttl_v4(u32::from(VRRP_TTL))?;
        // Root may exceed net.core.rmem_max; without it, the default buffer.
        let _ = nix::sys::socket::setsockopt(
            &socket,
            nix::sys::socket::sockopt::RcvBufForce,
            &RECV_BUFFER,
        );
        socket.set_nonblocking(true)?;
        Ok(Self {
            socket: UdpSocket::from_std(std::net::UdpSocket::from(OwnedFd::from(socket)))?,
            ip_id: std::sync::atomic::AtomicU16::new(1),
        })
    }

    /// Sends `advert` from `src` to `dst` (224.0.0.18 or a unicast peer); VRRPv3 encodes per
    /// destination because the checksum covers it.
    pub fn send(&self, advert: &Advert, src: Ipv4Addr, dst: Ipv4Addr) -> std::io::Result<()> {
        let payload = advert.encode(src, dst);
        let id = self
            .ip_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let packet = build_ipv4(src, dst, VRRP_TTL, id, &payload);
        let to = SocketAddr::V4(SocketAddrV4::new(dst, 0));
        self.socket.try_send_to(&packet, to)?;
        Ok(())
    }

    /// Waits for the next packet (whole IPv4 packet, header included) and reads it into
    /// `buf` (make it [`MAX_PACKET`] long); its length.
    pub async fn recv_into(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.socket.recv(buf).await
    }

    /// The next packet if one is queued (`WouldBlock` if none), without waiting: a reader
    /// that woke for one advert takes the rest of the burst in the same turn.
    pub fn try_recv_into(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.socket.try_recv(buf)
    }
}

/// The VRID of a received packet, if it is long enough to have one (byte 1 of the VRRP
/// payload), so a socket serving one instance can skip other routers' adverts cheaply.
pub fn packet_vrid(packet: &[u8]) -> Option<u8> {
    let ihl = usize::from(packet.first()? & 0x0f) * 4;
    packet.get(ihl + 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrid_is_read_after_the_ip_header() {
        let advert = Advert::v2(42, 100, 1, halab_vrrp::Auth::None, vec![]).expect("advert");
        let payload = advert.encode(Ipv4Addr::LOCALHOST, VRRP_MULTICAST);
        let packet = build_ipv4(Ipv4Addr::LOCALHOST, VRRP_MULTICAST, 255, 1, &payload);
        assert_eq!(packet_vrid(&packet), Some(42));
        assert_eq!(packet_vrid(&[0x45]), None);
        assert_eq!(packet_vrid(&[]), None);
    }
}
