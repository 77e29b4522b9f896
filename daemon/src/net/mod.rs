//! Everything halabd says to the kernel: the VRRP socket, gratuitous ARP, unsolicited
//! neighbour advertisements, rtnetlink.

mod advert_packet;
mod arp;
mod arp_watch;
mod nd;
mod netlink;
mod nft;
mod vip_options;
mod vmac;
mod vrrp_batch;
mod vrrp_socket;

pub use advert_packet::AdvertPacket;
pub use arp::{ArpSender, LinkTarget, gratuitous_arp};
pub use arp_watch::{ArpPacket, ArpWatch, announcement, arp_request};
pub use nd::unsolicited_na;
pub use netlink::{Address, Link, NetEvent, Netlink, NetlinkError};
pub use nft::{FIREWALL_TABLE, Firewall, FirewallError};
pub use vip_options::{VipOptions, broadcast};
pub use vmac::{
    VmacError, base_sysctls, default_name as default_vmac_name, save_base as save_base_sysctls,
    virtual_mac, write_sysctl,
};
pub use vrrp_batch::{MMSG, RecvBuffers};
pub use vrrp_socket::{MAX_PACKET, Received, VrrpSocket, packet_vrid};
