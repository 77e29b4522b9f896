//! What an operator checks by hand, read from a running netns lab: who holds each VIP
//! (`ip addr`), where the client's ARP entry points (`ip neigh`), whether a request through
//! the VIP works (`curl`). Shared by `up` (readiness), `status`, `curl` and scenarios.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::Command;
use std::time::Duration;

use crate::lab::Lab;
use crate::lab::model::{Mode, ProxyKind, Role};
use crate::netns::LabHandle;
use crate::probe::{self, Reply};

/// Runs `ip -n NS ARGS` and returns stdout (empty on failure: callers treat it as "nothing").
fn ip_in(ns: &str, args: &[&str]) -> String {
    Command::new("ip").arg("-n").arg(ns).args(args).output().map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default()
}

/// The IPv4 addresses on a node's interfaces.
pub fn addresses(netns: &str) -> Vec<Ipv4Addr> {
    ip_in(netns, &["-o", "-4", "addr", "show"])
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.find(|x| *x == "inet")?;
            w.next()?.split('/').next()?.parse().ok()
        })
        .collect()
}

/// For each VIP of the lab, the LB nodes whose interfaces carry it right now.
pub fn vip_holders(lab: &Lab, handle: &LabHandle) -> BTreeMap<Ipv4Addr, Vec<String>> {
    let mut out: BTreeMap<Ipv4Addr, Vec<String>> = lab.vrrp.iter().flat_map(|v| v.vips.iter().map(|x| (x.address, Vec::new()))).collect();
    for n in lab.lbs() {
        let Ok(h) = handle.node(&n.name) else { continue };
        for a in addresses(h.netns()) {
            if let Some(holders) = out.get_mut(&a) {
                holders.push(n.name.clone());
            }
        }
    }
    out
}

/// The MAC address of each node's interfaces, to name whom an ARP entry points at.
pub fn macs(lab: &Lab, handle: &LabHandle) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for n in &lab.nodes {
        let Ok(h) = handle.node(&n.name) else { continue };
        for l in ip_in(h.netns(), &["-o", "link", "show"]).lines() {
            if let Some(mac) = l.split_whitespace().skip_while(|w| *w != "link/ether").nth(1) {
                out.insert(mac.to_string(), n.name.clone());
            }
        }
    }
    out
}

/// The client's ARP entry for `ip`: (MAC, state), if it has one.
pub fn arp_entry(client_netns: &str, ip: Ipv4Addr) -> Option<(String, String)> {
    let text = ip_in(client_netns, &["neigh", "show", &ip.to_string()]);
    let line = text.lines().next()?;
    let w: Vec<&str> = line.split_whitespace().collect();
    let mac = w.iter().position(|x| *x == "lladdr").and_then(|i| w.get(i + 1))?;
    Some((mac.to_string(), w.last().unwrap_or(&"").to_string()))
}

/// Where the client sends HTTP for a VIP: the first frontend or listen with a backend whose
/// bind covers the VIP. Proxies without a stats page come first (seed000's stats listen also
/// names a default backend); a listen that serves traffic and also shows stats (seed002's
/// `listen web_vip` with `stats uri /web-status`) still counts; a stats-only one does not.
pub fn http_target(lab: &Lab, vip: Ipv4Addr) -> Option<SocketAddr> {
    let serving = |p: &&crate::lab::model::Proxy| p.kind != ProxyKind::Backend && (p.default_backend.is_some() || !p.servers.is_empty());
    let plain = lab.haproxy.proxies.iter().filter(serving).filter(|p| p.stats.is_none());
    let with_stats = lab.haproxy.proxies.iter().filter(serving).filter(|p| p.stats.is_some());
    plain
        .chain(with_stats)
        .flat_map(|p| p.binds.iter())
        .find(|b| b.address.is_none() || b.address == Some(vip))
        .map(|b| SocketAddr::V4(SocketAddrV4::new(vip, b.port)))
}

/// Whether the first proxy serving `vip` speaks HTTP (else: tcp mode to HTTP backends, which
/// the probe can read all the same).
pub fn serves_http(lab: &Lab) -> bool {
    lab.haproxy.defaults.mode == Mode::Http
}

/// The VIPs the client can reach (on a network it is attached to).
pub fn client_vips(lab: &Lab) -> Vec<Ipv4Addr> {
    let Some(client) = lab.nodes.iter().find(|n| n.role == Role::Client) else { return vec![] };
    lab.vrrp.iter().filter(|v| client.interface_on(&v.network).is_some()).flat_map(|v| v.vips.iter().map(|x| x.address)).collect()
}

/// One GET from the client node.
pub fn client_get(handle: &LabHandle, lab: &Lab, target: SocketAddr, path: &str, timeout: Duration) -> Result<Reply, String> {
    let client = lab.client().ok_or("the lab has no client node")?;
    let node = handle.node(&client.name).map_err(|e| e.to_string())?;
    let path = path.to_string();
    node.in_netns(move || probe::get(target, &path, timeout, None)).map_err(|e| e.to_string())?.map_err(|e| e.to_string())
}
