//! keepalived's `virtual_ipaddress` options on the wire to the kernel: `label`, `brd`
//! (`ADDR`, `+`: host bits set, `-`: host bits clear, only up to /30, as keepalived's
//! `parse_ipaddress`) and `scope` (keepalived 2.2.7 `vrrp_ipaddress.c`).

use std::net::{IpAddr, Ipv4Addr};

use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressScope,
};

use super::netlink::{Netlink, NetlinkError, is_errno};

const EEXIST: i32 = 17;

/// How a VIP is added besides its address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VipOptions {
    /// `label LABEL`.
    pub label: Option<String>,
    /// `brd`, resolved.
    pub broadcast: Option<Ipv4Addr>,
    /// `scope`, as a number (`RT_SCOPE_*`); universe (0) when None.
    pub scope: Option<u8>,
}

/// keepalived's `brd` value for `address/prefix_len`: an address as written, `+` or `-` from
/// the address (None past /30, where keepalived sets none).
pub fn broadcast(address: Ipv4Addr, prefix_len: u8, brd: &str) -> Option<Ipv4Addr> {
    match brd {
        "+" | "-" if prefix_len <= 30 => {
            let mask = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
            let bits = u32::from(address);
            Some(Ipv4Addr::from(if brd == "+" {
                bits | mask
            } else {
                bits & !mask
            }))
        }
        "+" | "-" => None,
        other => other.parse().ok(),
    }
}

impl Netlink {
    /// `ip addr add ADDR/LEN dev INDEX [brd B] [scope S] [label L]`, IPv6 with `nodad` as
    /// keepalived does (a tentative address could not source the neighbour advertisements that
    /// announce it); already there is fine.
    pub async fn add_vip(
        &self,
        index: u32,
        address: IpAddr,
        prefix_len: u8,
        options: &VipOptions,
    ) -> Result<(), NetlinkError> {
        let mut request = self.handle().address().add(index, address, prefix_len);
        let message = request.message_mut();
        if address.is_ipv6() {
            message.header.flags |= AddressHeaderFlags::Nodad;
            message
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        // rtnetlink adds IFA_BROADCAST (host bits set) by itself; keepalived sends one only
        // when `brd` is configured.
        message
            .attributes
            .retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
        if let Some(brd) = options.broadcast {
            message.attributes.push(AddressAttribute::Broadcast(brd));
        }
        if let Some(scope) = options.scope {
            // The kernel refuses a secondary address whose scope differs from its subnet's
            // primary ("ipv4: Invalid scope value"), for keepalived as for us.
            message.header.scope = AddressScope::from(scope);
        }
        if let Some(label) = options.label.as_ref().filter(|_| address.is_ipv4()) {
            message
                .attributes
                .push(AddressAttribute::Label(label.clone()));
        }
        match request.execute().await {
            Err(e) if is_errno(&e, &[EEXIST]) => Ok(()),
            result => result.map_err(Self::request_error(format!("add {address}/{prefix_len}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brd_is_resolved_like_keepalived() {
        let a = Ipv4Addr::new(10, 0, 0, 100);
        assert_eq!(broadcast(a, 24, "+"), Some(Ipv4Addr::new(10, 0, 0, 255)));
        assert_eq!(broadcast(a, 24, "-"), Some(Ipv4Addr::new(10, 0, 0, 0)));
        assert_eq!(broadcast(a, 30, "+"), Some(Ipv4Addr::new(10, 0, 0, 103)));
        assert_eq!(broadcast(a, 31, "+"), None);
        assert_eq!(broadcast(a, 32, "-"), None);
        assert_eq!(
            broadcast(a, 24, "10.0.0.127"),
            Some(Ipv4Addr::new(10, 0, 0, 127))
        );
    }
}
