//! Listening to ARP on a VRRP interface, for the split-brain heal: who else announces our VIPs
//! (`Input::VipClaimed`), and the link address of the winner a stepping-down master announces
//! the VIPs at (`Action::AnnounceVipsAt`). ARP is not VRRP: it gets through cuts and firewalls
//! that drop VRRP.
//!
//! The socket is `AF_PACKET`/`SOCK_RAW` for EtherType ARP only (a few frames a second on a LAN),
//! bound to the interface; frames this host sends are not delivered to it.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::bind;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::arp::LinkTarget;

/// EtherType of ARP.
const ETH_P_ARP: u16 = 0x0806;
/// Ethernet frames are padded to 60 bytes (before the FCS).
const MIN_FRAME: usize = 60;
/// Ethernet header (14) + ARP for IPv4 over Ethernet (28).
const ARP_FRAME: usize = 42;
const BROADCAST: [u8; 6] = [0xff; 6];

/// An ARP packet for IPv4 over Ethernet (RFC 826), as received.
///
/// ```text
/// dst MAC | src MAC | 0x0806 |
/// htype 1 | ptype 0x0800 | hlen 6 | plen 4 | op (1 request, 2 reply) |
/// sha | spa | tha | tpa
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket {
    /// 1 request, 2 reply.
    pub op: u16,
    /// Sender hardware address: where `spa` is, according to the sender.
    pub sha: [u8; 6],
    /// Sender protocol address.
    pub spa: Ipv4Addr,
    /// Target protocol address.
    pub tpa: Ipv4Addr,
}

impl ArpPacket {
    /// Parses an Ethernet frame; `None` if it is not ARP for IPv4 over Ethernet.
    pub fn parse(frame: &[u8]) -> Option<Self> {
        let arp = frame.get(..ARP_FRAME)?;
        if arp[12..14] != ETH_P_ARP.to_be_bytes() || arp[14..20] != [0, 1, 8, 0, 6, 4] {
            return None;
        }
        let mac = |at: usize| -> [u8; 6] {
            [
                arp[at],
                arp[at + 1],
                arp[at + 2],
                arp[at + 3],
                arp[at + 4],
                arp[at + 5],
            ]
        };
        let ip = |at: usize| Ipv4Addr::new(arp[at], arp[at + 1], arp[at + 2], arp[at + 3]);
        Some(Self {
            op: u16::from_be_bytes([arp[20], arp[21]]),
            sha: mac(22),
            spa: ip(28),
            tpa: ip(38),
        })
    }
}

/// One broadcast ARP frame from `from` (the Ethernet source, always our own MAC).
fn frame(
    from: [u8; 6],
    op: u16,
    sha: [u8; 6],
    spa: Ipv4Addr,
    tha: [u8; 6],
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut frame = Vec::with_capacity(MIN_FRAME);
    frame.extend_from_slice(&BROADCAST);
    frame.extend_from_slice(&from);
    frame.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    frame.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4]);
    frame.extend_from_slice(&op.to_be_bytes());
    frame.extend_from_slice(&sha);
    frame.extend_from_slice(&spa.octets());
    frame.extend_from_slice(&tha);
    frame.extend_from_slice(&tpa.octets());
    frame.resize(MIN_FRAME, 0);
    frame
}

/// "Who has `target`? Tell `ours` at `mac`": to learn the winner's MAC.
pub fn arp_request(mac: [u8; 6], ours: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    frame(mac, 1, mac, ours, [0; 6], target)
}

/// A gratuitous ARP saying `vip` is at `holder`, sent from our port (`from`): the frame's
/// Ethernet source stays ours so that switches keep forwarding the holder's frames to the
/// holder; clients update their entry from the ARP sender hardware address.
pub fn announcement(from: [u8; 6], holder: [u8; 6], vip: Ipv4Addr) -> Vec<u8> {
    frame(from, 1, holder, vip, BROADCAST, vip)
}

/// The ARP listener of one instance.
#[derive(Debug)]
pub struct ArpWatch {
    socket: UdpSocket,
}

impl ArpWatch {
    /// Opens the listener on the interface `target` names.
    pub fn open(target: &LinkTarget) -> std::io::Result<Self> {
        let protocol = i32::from(ETH_P_ARP.to_be());
        let socket = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(protocol)))?;
        socket.set_cloexec(true)?;
        socket.set_nonblocking(true)?;
        let fd = OwnedFd::from(socket);
        // The sockaddr_ll from getifaddrs has protocol 0, which bind(2) reads as "keep the
        // socket's protocol": ARP, on this interface only.
        bind(fd.as_raw_fd(), target.link_addr())?;
        // tokio's UdpSocket::recv is a plain recv(2) on any datagram-like descriptor.
        Ok(Self {
            socket: UdpSocket::from_std(std::net::UdpSocket::from(fd))?,
        })
    }

    /// The next ARP packet for IPv4 over Ethernet (other frames are skipped).
    pub async fn recv(&self) -> std::io::Result<ArpPacket> {
        let mut buf = [0u8; 128];
        loop {
            let n = self.socket.recv(&mut buf).await?;
            if let Some(packet) = buf.get(..n).and_then(ArpPacket::parse) {
                return Ok(packet);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    const HOLDER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
    const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);

    #[test]
    fn announcement_gives_the_holder_mac_from_our_port() {
        let frame = announcement(OURS, HOLDER, VIP);
        assert_eq!(frame.len(), 60);
        assert_eq!(&frame[0..6], &BROADCAST);
        assert_eq!(&frame[6..12], &OURS, "ethernet source stays ours");
        assert_eq!(
            ArpPacket::parse(&frame),
            Some(ArpPacket {
                op: 1,
                sha: HOLDER,
                spa: VIP,
                tpa: VIP
            })
        );
        // The same layout as the gratuitous ARP a master sends for itself.
        assert_eq!(
            announcement(OURS, OURS, VIP),
            super::super::gratuitous_arp(OURS, VIP)
        );
    }

    #[test]
    fn request_asks_for_the_target() {
        let ours = Ipv4Addr::new(10, 0, 0, 2);
        let target = Ipv4Addr::new(10, 0, 0, 1);
        let frame = arp_request(OURS, ours, target);
        assert_eq!(
            ArpPacket::parse(&frame),
            Some(ArpPacket {
                op: 1,
                sha: OURS,
                spa: ours,
                tpa: target
            })
        );
        assert_eq!(&frame[32..38], &[0; 6]);
    }

    #[test]
    fn other_frames_are_not_arp() {
        let mut frame = announcement(OURS, HOLDER, VIP);
        assert_eq!(ArpPacket::parse(&frame[..41]), None);
        frame[13] = 0x00; // EtherType 0x0800
        assert_eq!(ArpPacket::parse(&frame), None);
        let mut frame = announcement(OURS, HOLDER, VIP);
        frame[19] = 16; // protocol length
        assert_eq!(ArpPacket::parse(&frame), None);
    }
}
