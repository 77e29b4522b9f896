//! Gratuitous ARP: the frame (pure) and an `AF_PACKET` sender.
//!
//! The sender needs a `sockaddr_ll` naming the interface. Building one by hand would take
//! `unsafe`; instead we take the one the kernel gives for the interface in `getifaddrs(3)`
//! (its AF_PACKET entry carries the ifindex and the MAC), which nix exposes safely.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    AddressFamily, LinkAddr, MsgFlags, SockFlag, SockType, SockaddrLike, sendto, socket,
};

/// EtherType of ARP.
const ETH_P_ARP: u16 = 0x0806;
/// Ethernet frames are padded to 60 bytes (before the FCS).
const MIN_FRAME: usize = 60;

/// A gratuitous ARP request for `ip` from `mac`, broadcast (RFC 5227 3, "ARP Announcement";
/// the form keepalived sends).
///
/// ```text
/// dst ff:ff:ff:ff:ff:ff | src MAC | 0x0806 |
/// htype 1 | ptype 0x0800 | hlen 6 | plen 4 | op 1 (request) |
/// sha MAC | spa IP | tha ff:ff:ff:ff:ff:ff | tpa IP | padding to 60 bytes
/// ```
pub fn gratuitous_arp(mac: [u8; 6], ip: Ipv4Addr) -> Vec<u8> {
    let mut frame = Vec::with_capacity(MIN_FRAME);
    frame.extend_from_slice(&[0xff; 6]);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    frame.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ip.octets());
    frame.extend_from_slice(&[0xff; 6]);
    frame.extend_from_slice(&ip.octets());
    frame.resize(MIN_FRAME, 0);
    frame
}

/// Sends link-layer frames. Opened with protocol 0, so it receives nothing.
#[derive(Debug)]
pub struct ArpSender {
    fd: OwnedFd,
}

/// An interface's link-layer address, as `sendto` wants it.
#[derive(Debug, Clone, Copy)]
pub struct LinkTarget {
    addr: LinkAddr,
    /// The interface's MAC.
    pub mac: [u8; 6],
}

impl LinkTarget {
    /// The interface's `sockaddr_ll`, for binding a listener to it.
    pub const fn link_addr(&self) -> &LinkAddr {
        &self.addr
    }
}

impl ArpSender {
    pub fn open() -> std::io::Result<Self> {
        let fd = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )?;
        Ok(Self { fd })
    }

    /// The link address of interface `name`, from `getifaddrs`.
    pub fn target(name: &str) -> std::io::Result<LinkTarget> {
        let addrs = nix::ifaddrs::getifaddrs()?;
        for entry in addrs {
            if entry.interface_name != name {
                continue;
            }
            let Some(link) = entry.address.as_ref().and_then(|a| a.as_link_addr()) else {
                continue;
            };
            if link.family() == Some(AddressFamily::Packet)
                && let Some(mac) = link.addr()
            {
                return Ok(LinkTarget { addr: *link, mac });
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("interface {name} has no link-layer address"),
        ))
    }

    /// Sends one frame out of the interface.
    pub fn send(&self, target: &LinkTarget, frame: &[u8]) -> std::io::Result<()> {
        sendto(self.fd.as_raw_fd(), frame, &target.addr, MsgFlags::empty())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gratuitous_arp_frame_layout() {
        let mac = [0x02, 0, 0, 0, 0, 0x01];
        let frame = gratuitous_arp(mac, Ipv4Addr::new(192, 168, 0, 130));
        assert_eq!(frame.len(), 60);
        assert_eq!(&frame[0..6], &[0xff; 6]);
        assert_eq!(&frame[6..12], &mac);
        assert_eq!(&frame[12..14], &[0x08, 0x06]);
        assert_eq!(&frame[14..22], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&frame[22..28], &mac);
        assert_eq!(&frame[28..32], &[192, 168, 0, 130]);
        assert_eq!(&frame[32..38], &[0xff; 6]);
        assert_eq!(&frame[38..42], &[192, 168, 0, 130]);
        assert!(frame[42..].iter().all(|b| *b == 0));
    }
}
