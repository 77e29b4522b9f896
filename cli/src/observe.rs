//! What an operator checks by hand, read from a running lab (through its [`Fleet`]): who holds each VIP
//! (`ip addr`), where the client's ARP entry points (`ip neigh`), whether a request through
//! the VIP works (`curl`). Shared by `up` (readiness), `status`, `curl` and scenarios.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::fleet::Fleet;
use crate::lab::Lab;
use crate::lab::model::{Mode, ProxyKind, Role};
use crate::probe::Reply;

/// For each VIP of the lab, the LB nodes whose interfaces carry it right now.
pub fn vip_holders(lab: &Lab, fleet: &dyn Fleet) -> BTreeMap<IpAddr, Vec<String>> {
    let mut out: BTreeMap<IpAddr, Vec<String>> = lab
        .vrrp
        .iter()
        .flat_map(|v| v.vips.iter().map(|x| (x.address, Vec::new())))
        .collect();
    for n in lab.lbs() {
        for a in fleet.addresses(&n.name) {
            if let Some(holders) = out.get_mut(&a) {
                holders.push(n.name.clone());
            }
        }
    }
    out
}

/// The MAC address of each node's interfaces, to name whom an ARP entry points at.
pub fn macs(lab: &Lab, fleet: &dyn Fleet) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for n in &lab.nodes {
        for l in fleet.links(&n.name).lines() {
            if let Some(mac) = l
                .split_whitespace()
                .skip_while(|w| *w != "link/ether")
                .nth(1)
            {
                out.insert(mac.to_string(), n.name.clone());
            }
        }
    }
    out
}

/// Where the client sends HTTP for a VIP: the first frontend or listen with a backend whose
/// bind covers the VIP. Proxies without a stats page come first (seed000's stats listen also
/// names a default backend); a listen that serves traffic and also shows stats (seed002's
/// `listen web_vip` with `stats uri /web-status`) still counts; a stats-only one does not.
pub fn http_target(lab: &Lab, vip: IpAddr) -> Option<SocketAddr> {
    let serving = |p: &&crate::lab::model::Proxy| {
        p.kind != ProxyKind::Backend && (p.default_backend.is_some() || !p.servers.is_empty())
    };
    let plain = lab
        .haproxy
        .proxies
        .iter()
        .filter(serving)
        .filter(|p| p.stats.is_none());
    let with_stats = lab
        .haproxy
        .proxies
        .iter()
        .filter(serving)
        .filter(|p| p.stats.is_some());
    plain
        .chain(with_stats)
        .flat_map(|p| p.binds.iter())
        .find(|b| b.covers(vip))
        .map(|b| SocketAddr::new(vip, b.port))
}

/// Whether the first proxy serving `vip` speaks HTTP (else: tcp mode to HTTP backends, which
/// the probe can read all the same).
pub fn serves_http(lab: &Lab) -> bool {
    lab.haproxy.defaults.mode == Mode::Http
}

/// The VIPs the client can reach (on a network it is attached to).
pub fn client_vips(lab: &Lab) -> Vec<IpAddr> {
    let Some(client) = lab.nodes.iter().find(|n| n.role == Role::Client) else {
        return vec![];
    };
    lab.vrrp
        .iter()
        .filter(|v| client.interface_on(&v.network).is_some())
        .flat_map(|v| v.vips.iter().map(|x| x.address))
        .collect()
}

/// One GET from the client node.
pub fn client_get(
    fleet: &dyn Fleet,
    target: SocketAddr,
    path: &str,
    timeout: Duration,
) -> Result<Reply, String> {
    fleet.client_get(target, path, timeout, &[])
}
