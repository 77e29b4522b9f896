//! rtnetlink: links, addresses and routes, and the events that change them.

use std::net::{IpAddr, Ipv4Addr};

use futures_util::stream::{StreamExt, TryStreamExt};
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::packet_route::route::RouteType;
use rtnetlink::{AddressMessageBuilder, Handle, MulticastGroup, RouteMessageBuilder};
use tokio::sync::mpsc::UnboundedSender;

use crate::conf::RouteConf;

/// A link as we need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// Administratively up and running (carrier): keepalived's notion of "up".
    pub up: bool,
}

/// An IPv4 or IPv6 address on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address {
    pub index: u32,
    pub address: IpAddr,
    pub prefix_len: u8,
    /// The kernel's "secondary" flag (a second address in an existing subnet).
    pub secondary: bool,
    /// IPv6 duplicate address detection is still running: the address cannot be used yet.
    pub tentative: bool,
}

/// Something the kernel told us.
#[derive(Debug, Clone)]
pub enum NetEvent {
    LinkChanged(Link),
    LinkRemoved {
        index: u32,
        name: Option<String>,
    },
    AddressAdded(Address),
    AddressRemoved(Address),
    /// The event socket failed or overran: state must be re-read.
    Resync,
}

/// Failed netlink requests, lowercase for "failed to ...".
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("open netlink socket: {0}")]
    Open(#[source] std::io::Error),
    #[error("{what}: {source}")]
    Request {
        what: String,
        #[source]
        source: rtnetlink::Error,
    },
}

/// Requests to the kernel.
#[derive(Debug, Clone)]
pub struct Netlink {
    handle: Handle,
}

fn link_of(message: &LinkMessage) -> Link {
    let name = message
        .attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::IfName(name) => Some(name.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let flags = message.header.flags;
    Link {
        index: message.header.index,
        name,
        up: flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running),
    }
}

fn address_of(message: &AddressMessage) -> Option<Address> {
    // IPv4: IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links.
    // IPv6 has IFA_ADDRESS only (IFA_LOCAL too on point-to-point links).
    let mut local = None;
    let mut address = None;
    for attribute in &message.attributes {
        match attribute {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            _ => {}
        }
    }
    Some(Address {
        index: message.header.index,
        address: local.or(address)?,
        prefix_len: message.header.prefix_len,
        secondary: message.header.flags.contains(AddressHeaderFlags::Secondary),
        tentative: message.header.flags.contains(AddressHeaderFlags::Tentative),
    })
}

pub(super) fn is_errno(error: &rtnetlink::Error, codes: &[i32]) -> bool {
    matches!(error, rtnetlink::Error::NetlinkError(e) if codes.contains(&-e.raw_code()) || codes.contains(&e.raw_code()))
}

const EEXIST: i32 = 17;
pub(super) const ENOENT: i32 = 2;
const ESRCH: i32 = 3;
const EADDRNOTAVAIL: i32 = 99;

impl Netlink {
    /// A request connection, driven by a task on the current runtime.
    pub fn connect() -> Result<Self, NetlinkError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(NetlinkError::Open)?;
        tokio::spawn(connection);
        Ok(Self { handle })
    }

    /// Subscribes to link and IPv4 address events and forwards them to `tx` until it closes.
    pub fn watch(tx: UnboundedSender<NetEvent>) -> Result<(), NetlinkError> {
        let (connection, _handle, mut messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])
        .map_err(NetlinkError::Open)?;
        tokio::spawn(connection);
        tokio::spawn(async move {
            while let Some((message, _)) = messages.next().await {
                let event = match message.payload {
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => {
                        NetEvent::LinkChanged(link_of(&link))
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(link)) => {
                        let link = link_of(&link);
                        NetEvent::LinkRemoved {
                            index: link.index,
                            name: (!link.name.is_empty()).then_some(link.name),
                        }
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a)) => {
                        match address_of(&a) {
                            Some(a) => NetEvent::AddressAdded(a),
                            None => continue,
                        }
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(a)) => {
                        match address_of(&a) {
                            Some(a) => NetEvent::AddressRemoved(a),
                            None => continue,
                        }
                    }
                    NetlinkPayload::Overrun(_) => NetEvent::Resync,
                    _ => continue,
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
            // The socket died: ask for a full re-read.
            let _ = tx.send(NetEvent::Resync);
        });
        Ok(())
    }

    pub(super) fn request_error(
        what: impl Into<String>,
    ) -> impl FnOnce(rtnetlink::Error) -> NetlinkError {
        let what = what.into();
        move |source| NetlinkError::Request { what, source }
    }

    /// The rtnetlink handle, for requests made in sibling modules (VMAC links).
    pub(super) const fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Every link.
    pub async fn links(&self) -> Result<Vec<Link>, NetlinkError> {
        let mut out = Vec::new();
        let mut stream = self.handle.link().get().execute();
        while let Some(message) = stream
            .try_next()
            .await
            .map_err(Self::request_error("list links"))?
        {
            out.push(link_of(&message));
        }
        Ok(out)
    }

    /// Every address, both families, in the kernel's order (primary addresses first per subnet).
    pub async fn addresses(&self) -> Result<Vec<Address>, NetlinkError> {
        let mut out = Vec::new();
        let mut stream = self.handle.address().get().execute();
        while let Some(message) = stream
            .try_next()
            .await
            .map_err(Self::request_error("list addresses"))?
        {
            if let Some(a) = address_of(&message) {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// `ip addr add ADDR/LEN dev INDEX [label LABEL]`, IPv6 with `nodad` as keepalived does
    /// (a tentative address could not source the neighbour advertisements that announce it);
    /// already there is fine.
    pub async fn add_address(
        &self,
        index: u32,
        address: IpAddr,
        prefix_len: u8,
        label: Option<&str>,
    ) -> Result<(), NetlinkError> {
        let mut request = self.handle.address().add(index, address, prefix_len);
        if address.is_ipv6() {
            let message = request.message_mut();
            message.header.flags |= AddressHeaderFlags::Nodad;
            message
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        if let Some(label) = label.filter(|_| address.is_ipv4()) {
            request
                .message_mut()
                .attributes
                .push(AddressAttribute::Label(label.to_owned()));
        }
        match request.execute().await {
            Err(e) if is_errno(&e, &[EEXIST]) => Ok(()),
            result => result.map_err(Self::request_error(format!("add {address}/{prefix_len}"))),
        }
    }

    /// `ip addr del ADDR/LEN dev INDEX`; already gone is fine.
    pub async fn del_address(
        &self,
        index: u32,
        address: IpAddr,
        prefix_len: u8,
    ) -> Result<(), NetlinkError> {
        let message = match address {
            IpAddr::V4(v4) => AddressMessageBuilder::<Ipv4Addr>::new()
                .index(index)
                .address(v4, prefix_len)
                .build(),
            IpAddr::V6(v6) => AddressMessageBuilder::<std::net::Ipv6Addr>::new()
                .index(index)
                .address(v6, prefix_len)
                .build(),
        };
        match self.handle.address().del(message).execute().await {
            Err(e) if is_errno(&e, &[EADDRNOTAVAIL, ENOENT, ESRCH]) => Ok(()),
            result => result.map_err(Self::request_error(format!(
                "remove {address}/{prefix_len}"
            ))),
        }
    }

    fn route_message(
        route: &RouteConf,
        dev_index: Option<u32>,
    ) -> rtnetlink::packet_route::route::RouteMessage {
        let mut builder =
            RouteMessageBuilder::<Ipv4Addr>::new().destination_prefix(route.dest, route.prefix_len);
        if let Some(via) = route.via {
            builder = builder.gateway(via);
        }
        if let Some(index) = dev_index {
            builder = builder.output_interface(index);
        }
        if let Some(src) = route.src {
            builder = builder.pref_source(src);
        }
        if let Some(metric) = route.metric {
            builder = builder.priority(metric);
        }
        if route.blackhole {
            builder = builder.kind(RouteType::BlackHole);
        }
        builder.build()
    }

    /// `ip route replace ROUTE`.
    pub async fn add_route(
        &self,
        route: &RouteConf,
        dev_index: Option<u32>,
    ) -> Result<(), NetlinkError> {
        let message = Self::route_message(route, dev_index);
        self.handle
            .route()
            .add(message)
            .replace()
            .execute()
            .await
            .map_err(Self::request_error(format!("add route {route}")))
    }

    /// `ip route del ROUTE`; already gone is fine.
    pub async fn del_route(
        &self,
        route: &RouteConf,
        dev_index: Option<u32>,
    ) -> Result<(), NetlinkError> {
        let message = Self::route_message(route, dev_index);
        match self.handle.route().del(message).execute().await {
            Err(e) if is_errno(&e, &[ESRCH, ENOENT]) => Ok(()),
            result => result.map_err(Self::request_error(format!("remove route {route}"))),
        }
    }
}
