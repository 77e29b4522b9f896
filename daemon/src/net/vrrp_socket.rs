//! The raw `IPPROTO_VRRP` socket of one interface and family, shared by the instances on it.
//!
//! IPv4: bound to the interface (`SO_BINDTODEVICE`), joined to 224.0.0.18 there, multicast
//! loop off, and `IP_HDRINCL` so that every advert leaves with exactly the header keepalived
//! sends: source = our primary address, TTL 255, TOS 0xc0 (RFC 5798 5.1.1). Adverts leave
//! through a second, send-only socket (`IPPROTO_RAW`, which receives nothing), as keepalived
//! has an `fd_out` beside its `fd_in`: the socket the loop polls then never becomes writable
//! again after a send, and a master is woken once per advert (its alarm), not twice (the
//! alarm, then the send's `EPOLLOUT`).
//!
//! IPv6 (RFC 5798 5.1.2): bound to the interface, joined to ff02::12, hop limit 255 for
//! multicast and unicast, multicast loop off; each advert names its link-local source in an
//! `IPV6_PKTINFO` control message, and carries the checksum we compute over the IPv6
//! pseudo-header (what `IPV6_CHECKSUM` would make the kernel do). Received adverts come with
//! their destination and hop limit (`IPV6_RECVPKTINFO`, `IPV6_RECVHOPLIMIT`).

use std::io::{IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};

use halab_vrrp::ip::{VRRP_MULTICAST, VRRP_MULTICAST_V6, VRRP_TTL, build_ipv4};
use halab_vrrp::{Action, Advert, Family, IPPROTO_VRRP, Input, Instance, Timestamp};
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn6, recvmsg, sendmsg, setsockopt,
    sockopt,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use super::AdvertPacket;

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
    pub(super) socket: UdpSocket,
    /// IPv4: the send-only socket (not registered with the runtime); IPv6 sends on `socket`.
    pub(super) out: Option<Socket>,
    /// IP identification, incremented per packet like keepalived.
    ip_id: std::sync::atomic::AtomicU16,
    family: Family,
    ifindex: u32,
}

/// A packet as a socket delivers it, where it lies in the loop's receive buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received<'a> {
    /// A whole IPv4 packet, header included.
    Ipv4(&'a [u8]),
    /// The VRRP message of an IPv6 packet and what `recvmsg` said of its header.
    Ipv6 {
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        payload: &'a [u8],
    },
}

impl Received<'_> {
    /// The VRID (byte 1 of the VRRP message), if the packet is long enough to have one, so a
    /// socket serving one instance can skip other routers' adverts cheaply.
    pub fn vrid(&self) -> Option<u8> {
        match self {
            Self::Ipv4(packet) => packet_vrid(packet),
            Self::Ipv6 { payload, .. } => payload.get(1).copied(),
        }
    }

    /// Hands it to `core`, appending the actions to `out`: an IPv4 packet is read where it
    /// lies, an IPv6 one is copied into its input.
    pub fn handle(self, core: &mut Instance, now: Timestamp, out: &mut Vec<Action>) {
        match self {
            Self::Ipv4(packet) => core.handle_packet_into(now, packet, out),
            Self::Ipv6 {
                src,
                dst,
                hop_limit,
                payload,
            } => core.handle_into(
                now,
                Input::Ipv6PacketReceived {
                    src,
                    dst,
                    hop_limit,
                    payload: payload.to_vec(),
                },
                out,
            ),
        }
    }
}

impl VrrpSocket {
    /// Opens the socket of `family` on `ifname`; joins the VRRP group unless the instance is
    /// unicast.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        multicast: bool,
        family: Family,
    ) -> std::io::Result<Self> {
        match family {
            Family::Ipv4 => Self::open_v4(ifname, ifindex, multicast),
            Family::Ipv6 => Self::open_v6(ifname, ifindex, multicast),
        }
    }

    fn open_v4(ifname: &str, ifindex: u32, multicast: bool) -> std::io::Result<Self> {
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
            out: Some(Self::open_out_v4(ifname)?),
            ip_id: std::sync::atomic::AtomicU16::new(1),
            family: Family::Ipv4,
            ifindex,
        })
    }

    /// The send-only IPv4 socket: `IPPROTO_RAW` implies `IP_HDRINCL` and is never handed a
    /// received packet, so it needs no reading and no registration with the runtime.
    fn open_out_v4(ifname: &str) -> std::io::Result<Socket> {
        let socket = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(nix::libc::IPPROTO_RAW)),
        )?;
        socket.set_cloexec(true)?;
        socket.bind_device(Some(ifname.as_bytes()))?;
        socket.set_multicast_loop_v4(false)?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    }

    fn open_v6(ifname: &str, ifindex: u32, multicast: bool) -> std::io::Result<Self> {
        let socket = Socket::new(
            Domain::IPV6,
            Type::RAW,
            Some(Protocol::from(i32::from(IPPROTO_VRRP))),
        )?;
        socket.set_cloexec(true)?;
        socket.bind_device(Some(ifname.as_bytes()))?;
        if multicast {
            socket.join_multicast_v6(&VRRP_MULTICAST_V6, ifindex)?;
        }
        socket.set_multicast_loop_v6(false)?;
        // RFC 5798 5.1.2.3: Hop Limit 255, to ff02::12 and to unicast peers alike.
        socket.set_multicast_hops_v6(u32::from(VRRP_TTL))?;
        socket.set_unicast_hops_v6(u32::from(VRRP_TTL))?;
        setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)?;
        setsockopt(&socket, sockopt::Ipv6RecvHopLimit, &true)?;
        // keepalived sends with traffic class 0xc0 too.
        socket.set_tclass_v6(u32::from(halab_vrrp::ip::VRRP_TOS))?;
        let _ = nix::sys::socket::setsockopt(
            &socket,
            nix::sys::socket::sockopt::RcvBufForce,
            &RECV_BUFFER,
        );
        socket.set_nonblocking(true)?;
        Ok(Self {
            socket: UdpSocket::from_std(std::net::UdpSocket::from(OwnedFd::from(socket)))?,
            out: None,
            ip_id: std::sync::atomic::AtomicU16::new(1),
            family: Family::Ipv6,
            ifindex,
        })
    }

    /// The family this socket speaks.
    pub const fn family(&self) -> Family {
        self.family
    }

    /// The destination of multicast adverts: 224.0.0.18 or ff02::12.
    pub const fn multicast_group(&self) -> IpAddr {
        match self.family {
            Family::Ipv4 => IpAddr::V4(VRRP_MULTICAST),
            Family::Ipv6 => IpAddr::V6(VRRP_MULTICAST_V6),
        }
    }

    /// Sends `advert` from `src` to `dst` (the VRRP group or a unicast peer); VRRPv3 encodes
    /// per destination because the checksum covers it. Both must be of the socket's family.
    pub fn send(&self, advert: &Advert, src: IpAddr, dst: IpAddr) -> std::io::Result<()> {
        self.send_ttl(advert, src, dst, VRRP_TTL)
    }

    /// [`VrrpSocket::send`] with another TTL (keepalived's `unicast_ttl`): IPv4 only; IPv6
    /// adverts keep hop limit 255.
    pub fn send_ttl(
        &self,
        advert: &Advert,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
    ) -> std::io::Result<()> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => self.send_v4(advert, src, dst, ttl),
            (IpAddr::V6(src), IpAddr::V6(dst)) => self.send_v6(advert, src, dst),
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("cannot send from {src} to {dst}: different address families"),
            )),
        }
    }

    fn send_v6(&self, advert: &Advert, src: Ipv6Addr, dst: Ipv6Addr) -> std::io::Result<()> {
        let payload = advert.encode(src, dst);
        let info = nix::libc::in6_pktinfo {
            ipi6_addr: nix::libc::in6_addr {
                s6_addr: src.octets(),
            },
            ipi6_ifindex: self.ifindex,
        };
        let to = SockaddrIn6::from(std::net::SocketAddrV6::new(dst, 0, 0, self.ifindex));
        let fd = self.socket.as_raw_fd();
        self.socket.try_io(Interest::WRITABLE, || {
            sendmsg(
                fd,
                &[IoSlice::new(&payload)],
                &[ControlMessage::Ipv6PacketInfo(&info)],
                MsgFlags::empty(),
                Some(&to),
            )
            .map_err(std::io::Error::from)
        })?;
        Ok(())
    }

    fn send_v4(
        &self,
        advert: &Advert,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
    ) -> std::io::Result<()> {
        let packet = self.packet_v4(advert, src, dst, ttl);
        let to = SocketAddr::V4(SocketAddrV4::new(dst, 0));
        match &self.out {
            Some(out) => out.send_to(&packet, &to.into())?,
            None => self.socket.try_send_to(&packet, to)?,
        };
        Ok(())
    }

    /// The whole IPv4 packet of `advert` (header included, next IP identification).
    pub fn packet_v4(&self, advert: &Advert, src: Ipv4Addr, dst: Ipv4Addr, ttl: u8) -> Vec<u8> {
        build_ipv4(src, dst, ttl, self.next_id(), &advert.encode(src, dst))
    }

    /// [`VrrpSocket::packet_v4`] made in a kept buffer, for [`VrrpSocket::send_batch_v4`].
    pub fn packet_v4_into(
        &self,
        advert: &Advert,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        packet: &mut AdvertPacket,
    ) {
        packet.make(advert, src, dst, ttl, self.next_id());
    }

    fn next_id(&self) -> u16 {
        self.ip_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

/// The header fields of a received IPv6 advert: source, destination, hop limit.
pub(super) type V6Header = (Ipv6Addr, Ipv6Addr, u8);

/// One `recvmsg` on an IPv6 VRRP socket into `buf`: the header fields and the payload's
/// length; None when the kernel left out the source, the destination or the hop limit.
pub(super) fn recv_v6(
    fd: std::os::fd::RawFd,
    buf: &mut [u8],
) -> std::io::Result<Option<(V6Header, usize)>> {
    let mut space = nix::cmsg_space!(nix::libc::in6_pktinfo, nix::libc::c_int);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn6>(fd, &mut iov, Some(&mut space), MsgFlags::empty())
        .map_err(std::io::Error::from)?;
    let len = msg.bytes.min(MAX_PACKET);
    let src = msg.address.map(|a| a.ip());
    let mut dst = None;
    let mut hop_limit = None;
    for cmsg in msg.cmsgs().map_err(std::io::Error::from)? {
        match cmsg {
            ControlMessageOwned::Ipv6PacketInfo(info) => {
                dst = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
            }
            ControlMessageOwned::Ipv6HopLimit(limit) => hop_limit = u8::try_from(limit).ok(),
            _ => {}
        }
    }
    Ok(match (src, dst, hop_limit) {
        (Some(src), Some(dst), Some(hop_limit)) => Some(((src, dst, hop_limit), len)),
        _ => None,
    })
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
