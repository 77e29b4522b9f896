//! keepalived's `use_vmac`: a macvlan in private mode on the VRRP interface, carrying the
//! RFC 5798 7.3 virtual router MAC `00:00:5e:00:01:VRID`, named `vrrp.VRID` unless the
//! configuration names it (keepalived 2.2.7 `vrrp_vmac.c`, `netlink_link_add_vmac`).
//!
//! Private mode: a frame arriving with the VMAC as its source (the other router's adverts)
//! reaches only our macvlan, which is where our VRRP socket listens. The sysctls are
//! keepalived's (`vrrp_if_config.c`): on the VMAC `arp_ignore=1` (answer ARP only for its own
//! addresses, the VIPs), `accept_local=1` and `rp_filter=0` (it has no address of its own, yet
//! must take the other router's adverts), `promote_secondaries=1`; on the base interface
//! `arp_ignore=1` and `arp_filter=1` (it must not answer ARP for the VIPs with its own MAC),
//! restored when its last VMAC goes. IPv6 is disabled on the VMAC (keepalived does the same for
//! an IPv4 instance: no link-local address, RFC 5798 7.4).

use futures_util::stream::TryStreamExt;
use rtnetlink::LinkMacVlan;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, MacVlanMode};

use super::netlink::{ENOENT, Netlink, NetlinkError, is_errno};

/// ENODEV: the link is gone already.
const ENODEV: i32 = 19;

/// RFC 5798 7.3: the virtual router MAC address of an IPv4 virtual router.
pub const fn virtual_mac(vrid: u8) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, 0x01, vrid]
}

/// keepalived's default VMAC name (`vmac_prefix` "vrrp", then `.VRID`).
pub fn default_name(vrid: u8) -> String {
    format!("vrrp.{vrid}")
}

/// Why a VMAC could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum VmacError {
    #[error("{0}")]
    Netlink(#[from] NetlinkError),
    #[error(
        "interface {name} exists and is not a macvlan; choose another name with `use_vmac NAME`"
    )]
    Conflict { name: String },
    #[error("the new VMAC interface {name} did not appear")]
    Missing { name: String },
    #[error("set sysctl {path}: {source}")]
    Sysctl {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The sysctl writes for a VMAC `vmac` on `base`: `(path under /proc/sys, value)`.
pub fn vmac_sysctls(vmac: &str) -> Vec<(String, &'static str)> {
    vec![
        (format!("net/ipv4/conf/{vmac}/arp_ignore"), "1"),
        (format!("net/ipv4/conf/{vmac}/accept_local"), "1"),
        (format!("net/ipv4/conf/{vmac}/rp_filter"), "0"),
        (format!("net/ipv4/conf/{vmac}/promote_secondaries"), "1"),
        (format!("net/ipv6/conf/{vmac}/disable_ipv6"), "1"),
    ]
}

/// The base interface's sysctls keepalived sets while a VMAC is on it.
pub fn base_sysctls(base: &str) -> Vec<(String, &'static str)> {
    vec![
        (format!("net/ipv4/conf/{base}/arp_ignore"), "1"),
        (format!("net/ipv4/conf/{base}/arp_filter"), "1"),
    ]
}

fn proc_path(path: &str) -> String {
    format!("/proc/sys/{path}")
}

/// Reads a sysctl of the daemon's network namespace.
pub fn read_sysctl(path: &str) -> Result<String, VmacError> {
    std::fs::read_to_string(proc_path(path))
        .map(|v| v.trim().to_owned())
        .map_err(|source| VmacError::Sysctl {
            path: path.to_owned(),
            source,
        })
}

/// Writes a sysctl of the daemon's network namespace.
pub fn write_sysctl(path: &str, value: &str) -> Result<(), VmacError> {
    std::fs::write(proc_path(path), value).map_err(|source| VmacError::Sysctl {
        path: path.to_owned(),
        source,
    })
}

/// The base interface's sysctls as they were before the first VMAC, to restore.
pub fn save_base(base: &str) -> Vec<(String, String)> {
    base_sysctls(base)
        .into_iter()
        .filter_map(|(path, _)| read_sysctl(&path).ok().map(|old| (path, old)))
        .collect()
}

impl Netlink {
    /// The index of link `name` and whether it is a macvlan; None if there is no such link.
    async fn link_by_name(&self, name: &str) -> Result<Option<(u32, bool)>, NetlinkError> {
        let mut stream = self
            .handle()
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match stream.try_next().await {
            Ok(Some(message)) => {
                let macvlan = message.attributes.iter().any(|a| {
                    matches!(a, LinkAttribute::LinkInfo(infos)
                        if infos.iter().any(|i| matches!(i, LinkInfo::Kind(InfoKind::MacVlan))))
                });
                Ok(Some((message.header.index, macvlan)))
            }
            Ok(None) => Ok(None),
            Err(e) if is_errno(&e, &[ENODEV, ENOENT]) => Ok(None),
            Err(e) => Err(Self::request_error(format!("look up link {name}"))(e)),
        }
    }

    /// Creates the VMAC `name` on link `base` with `mac` (replacing a macvlan of that name a
    /// crashed predecessor left), sets keepalived's sysctls and brings it up; its index.
    pub async fn add_vmac(&self, name: &str, base: u32, mac: [u8; 6]) -> Result<u32, VmacError> {
        if let Some((index, macvlan)) = self.link_by_name(name).await? {
            if !macvlan {
                return Err(VmacError::Conflict {
                    name: name.to_owned(),
                });
            }
            self.del_link(index).await?;
        }
        let message = LinkMacVlan::new(name, base, MacVlanMode::Private)
            .address(mac.to_vec())
            .build();
        self.handle()
            .link()
            .add(message)
            .execute()
            .await
            .map_err(Self::request_error(format!("create VMAC interface {name}")))?;
        let Some((index, _)) = self.link_by_name(name).await? else {
            return Err(VmacError::Missing {
                name: name.to_owned(),
            });
        };
        for (path, value) in vmac_sysctls(name) {
            write_sysctl(&path, value)?;
        }
        let up = rtnetlink::LinkUnspec::new_with_index(index).up().build();
        self.handle()
            .link()
            .set(up)
            .execute()
            .await
            .map_err(Self::request_error(format!("bring up {name}")))?;
        Ok(index)
    }

    /// `ip link del INDEX`; already gone is fine.
    pub async fn del_link(&self, index: u32) -> Result<(), NetlinkError> {
        match self.handle().link().del(index).execute().await {
            Err(e) if is_errno(&e, &[ENODEV, ENOENT]) => Ok(()),
            result => result.map_err(Self::request_error(format!("remove link {index}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vmac_is_rfc_5798s_and_named_like_keepalived() {
        // RFC 5798 7.3: 00-00-5E-00-01-{VRID}.
        assert_eq!(virtual_mac(51), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(virtual_mac(255), [0, 0, 0x5e, 0, 1, 0xff]);
        assert_eq!(default_name(51), "vrrp.51");
        // The longest default name fits IFNAMSIZ (15 characters and a NUL).
        assert!(default_name(255).len() <= 15);
    }

    #[test]
    fn sysctls_are_keepalived_s() {
        let vmac = vmac_sysctls("vrrp.7");
        assert!(vmac.contains(&("net/ipv4/conf/vrrp.7/arp_ignore".into(), "1")));
        assert!(vmac.contains(&("net/ipv4/conf/vrrp.7/rp_filter".into(), "0")));
        assert!(vmac.contains(&("net/ipv4/conf/vrrp.7/accept_local".into(), "1")));
        let base = base_sysctls("eth0");
        assert_eq!(
            base,
            vec![
                ("net/ipv4/conf/eth0/arp_ignore".into(), "1"),
                ("net/ipv4/conf/eth0/arp_filter".into(), "1"),
            ]
        );
    }
}
