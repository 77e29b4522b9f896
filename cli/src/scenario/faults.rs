//! Network faults inside a lab: partitions and VRRP loss with nftables in the nodes' own
//! namespaces (tc netem does not exist in this kernel), cable cuts on the switch side.
//! Every rule lives in one table, `inet halab`, so heal is one delete per node.

use std::net::IpAddr;

use super::file::Direction;
use crate::fleet::Fleet;
use crate::lab::Lab;

const TABLE: &str = "inet halab";

fn nft(fleet: &dyn Fleet, node: &str, script: &str) -> Result<(), String> {
    let n = fleet.machine(node)?;
    let out = n.exec(&["sh", "-c", script])?;
    if out.ok() {
        Ok(())
    } else {
        Err(format!("nft on {node} failed: {}", out.stderr.trim()))
    }
}

/// The nodes' own addresses, IPv4 and IPv6; for IPv6 also their link-local addresses, read
/// from the running nodes: VRRPv3 over IPv6 sends from those (RFC 5798 5.1.2.1).
fn addrs(fleet: &dyn Fleet, lab: &Lab, nodes: &[String]) -> (Vec<IpAddr>, Vec<IpAddr>) {
    let own: Vec<IpAddr> = nodes
        .iter()
        .filter_map(|n| lab.node(n))
        .flat_map(|n| n.all_addresses())
        .collect();
    let dual = nodes
        .iter()
        .filter_map(|n| lab.node(n))
        .any(|n| n.address6().is_some());
    let link_local = nodes
        .iter()
        .filter(|_| dual)
        .flat_map(|n| fleet.addresses(n))
        .filter(|a| matches!(a, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80));
    let (v4, v6): (Vec<IpAddr>, Vec<IpAddr>) =
        own.into_iter().chain(link_local).partition(IpAddr::is_ipv4);
    (v4, v6)
}

fn set(addrs: &[IpAddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn ensure_table(rules: &str) -> String {
    format!(
        "nft add table {TABLE} && nft 'add chain {TABLE} input {{ type filter hook input priority -10; policy accept; }}' && nft 'add chain {TABLE} output {{ type filter hook output priority -10; policy accept; }}' && {rules}"
    )
}

/// Drops what `from` sends to `to` at `to`'s input, by source address.
fn drop_from(
    fleet: &dyn Fleet,
    lab: &Lab,
    to: &[String],
    from: &[String],
    vrrp_only: bool,
) -> Result<(), String> {
    let (v4, v6) = addrs(fleet, lab, from);
    // `meta l4proto` matches VRRP in IPv4 and IPv6 packets alike.
    let proto = if vrrp_only { "meta l4proto vrrp " } else { "" };
    let mut rules = Vec::new();
    if !v4.is_empty() {
        rules.push(format!(
            "nft 'add rule {TABLE} input ip saddr {{ {} }} {proto}drop'",
            set(&v4)
        ));
    }
    if !v6.is_empty() {
        rules.push(format!(
            "nft 'add rule {TABLE} input ip6 saddr {{ {} }} {proto}drop'",
            set(&v6)
        ));
    }
    if rules.is_empty() {
        return Ok(());
    }
    let rule = rules.join(" && ");
    for n in to {
        nft(fleet, n, &ensure_table(&rule))?;
    }
    Ok(())
}

pub fn partition(
    fleet: &dyn Fleet,
    lab: &Lab,
    a: &[String],
    b: &[String],
    direction: Direction,
    vrrp_only: bool,
) -> Result<(), String> {
    if matches!(direction, Direction::Both | Direction::AToB) {
        drop_from(fleet, lab, b, a, vrrp_only)?;
    }
    if matches!(direction, Direction::Both | Direction::BToA) {
        drop_from(fleet, lab, a, b, vrrp_only)?;
    }
    Ok(())
}

/// Drops `percent`% of incoming VRRP packets on each node.
pub fn vrrp_loss(fleet: &dyn Fleet, nodes: &[String], percent: u8) -> Result<(), String> {
    let rule = format!(
        "nft 'add rule {TABLE} input meta l4proto vrrp numgen random mod 100 < {percent} drop'"
    );
    for n in nodes {
        nft(fleet, n, &ensure_table(&rule))?;
    }
    Ok(())
}

/// Removes every partition and loss rule on every node.
pub fn heal(fleet: &dyn Fleet, lab: &Lab) -> Result<(), String> {
    for n in &lab.nodes {
        // Absent table: nothing to heal on this node.
        let _ = nft(
            fleet,
            &n.name,
            &format!("nft delete table {TABLE} 2>/dev/null || true"),
        );
    }
    Ok(())
}

/// Cuts (or restores) a node's cable, as the lab's provider can.
pub fn link(
    fleet: &dyn Fleet,
    lab: &Lab,
    node: &str,
    interface: Option<&str>,
    up: bool,
) -> Result<(), String> {
    fleet.cable(lab, node, interface, up)
}

/// Every cable up again.
pub fn all_links_up(fleet: &dyn Fleet, lab: &Lab) -> Result<(), String> {
    fleet.plug_all(lab)
}
