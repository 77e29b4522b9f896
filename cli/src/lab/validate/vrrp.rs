//! The `vrrp:` instances: members, networks, VIPs, timers, tracking, each rule reported with
//! its YAML path.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use halab_vrrp::{Version, advert_interval_cs};

use super::{Ctx, parse_vip};
use crate::diag::did_you_mean;
use crate::lab::model::*;
use crate::lab::raw::*;

/// The instances, and whether every instance's members are known (no misspelt member or
/// network, no member whose address was rejected).
/// `networks_ok`: every network of the file was accepted (else VIPs are not checked against them).
pub(super) fn vrrp(
    cx: &mut Ctx<'_>,
    raw: &[RawVrrp],
    networks: &[Network],
    networks_ok: bool,
    nodes: &[Node],
    scripts: &[TrackScript],
) -> (Vec<VrrpInstance>, bool) {
    let mut out: Vec<VrrpInstance> = Vec::new();
    let mut all_resolved = true;
    let node_ips: HashMap<IpAddr, &str> = nodes
        .iter()
        .flat_map(|n| n.all_addresses().map(move |a| (a, n.name.as_str())))
        .collect();
    let mut vip_seen: HashMap<IpAddr, String> = HashMap::new();
    for (i, r) in raw.iter().enumerate() {
        let path = format!("vrrp[{i}]");
        let name = r.name.clone().unwrap_or_else(|| format!("VI_{}", i + 1));
        if out.iter().any(|o| o.name == name) {
            cx.bad(
                &format!("{path}.name"),
                format!("VRRP instance `{name}` is defined twice"),
                Some("instance names must be unique".to_string()),
            );
        }
        if !(1..=255).contains(&r.vrid) {
            cx.bad(&format!("{path}.vrid"), format!("vrid {} is outside 1..255", r.vrid), Some("RFC 5798 5.2.3: the Virtual Router Identifier is 1..255; pick one no other VRRP group on this network uses".to_string()));
        }
        let vrid = u8::try_from(r.vrid.clamp(1, 255)).unwrap_or(1);
        let number = r.version.unwrap_or(2);
        let version = Version::from_number(number).unwrap_or_else(|| {
            cx.bad(
                &format!("{path}.version"),
                format!("VRRP version {number} does not exist"),
                Some("use 2 (RFC 3768, keepalived's default) or 3 (RFC 5798)".to_string()),
            );
            Version::V2
        });
        let advert_int_cs = advert_int(cx, &path, r.advert_int.unwrap_or(1.0), version);
        // VIPs and the network they live on.
        let mut vips = Vec::new();
        if r.vips.is_empty() {
            cx.bad(
                &format!("{path}.vips"),
                "the instance has no VIP",
                Some(
                    "add the virtual address clients use, e.g. `vips: [192.168.0.130]`".to_string(),
                ),
            );
        }
        for (j, v) in r.vips.iter().enumerate() {
            let vpath = format!("{path}.vips[{j}]");
            let Some(vip) = parse_vip(v) else {
                cx.bad(
                    &vpath,
                    format!("`{v}` is not an IP address"),
                    Some(
                        "write ADDRESS or ADDRESS/PREFIX, e.g. 192.168.64.200/24 or fd00:30::100"
                            .to_string(),
                    ),
                );
                continue;
            };
            if let Some(first) = vips.first().map(|f: &Vip| f.address)
                && first.is_ipv4() != vip.address.is_ipv4()
            {
                cx.bad(&vpath, format!("VIP {} is not of the family of the instance's first VIP {first}", vip.address), Some("keepalived runs an instance over the first VIP's family; dual stack is two instances, one IPv4 and one IPv6 (they may share the vrid)".to_string()));
                continue;
            }
            if vip.address.is_ipv6() && version == Version::V2 && vips.is_empty() {
                let at = if r.version.is_some() {
                    format!("{path}.version")
                } else {
                    vpath.clone()
                };
                cx.bad(&at, format!("IPv6 VIP {} needs VRRPv3, but the instance is VRRPv2", vip.address), Some("VRRPv2 (RFC 3768) carries IPv4 only; add `version: 3` (RFC 5798: VRRP over IPv6)".to_string()));
            }
            if let IpAddr::V6(a) = vip.address
                && (a.is_multicast()
                    || a.is_loopback()
                    || a.is_unspecified()
                    || (a.segments()[0] & 0xffc0) == 0xfe80)
            {
                cx.bad(
                    &vpath,
                    format!("VIP {a} is a multicast, loopback, link-local or unspecified address"),
                    Some(
                        "a VIP is a global or unique-local address in a network's `ipv6` prefix"
                            .to_string(),
                    ),
                );
            }
            if networks_ok && !networks.iter().any(|n| n.contains(vip.address)) {
                let nets: Vec<String> = networks
                    .iter()
                    .map(|n| format!("{} ({})", n.name, n.prefix_of(vip.address)))
                    .collect();
                cx.bad(
                    &vpath,
                    format!("VIP {} is outside every network", vip.address),
                    Some(format!(
                        "clients reach a VIP through a lab network: pick an address in {}",
                        nets.join(", ")
                    )),
                );
            }
            if let Some(node) = node_ips.get(&vip.address) {
                cx.bad(
                    &vpath,
                    format!("VIP {} is node `{node}`'s address", vip.address),
                    Some("a VIP must be an address no node owns".to_string()),
                );
            }
            if let Some(other) = vip_seen.insert(vip.address, name.clone()) {
                cx.bad(
                    &vpath,
                    format!("VIP {} is also in instance `{other}`", vip.address),
                    Some("two instances would fight over one address".to_string()),
                );
            }
            vips.push(vip);
        }
        let net_names: Vec<&str> = networks.iter().map(|n| n.name.as_str()).collect();
        let mut resolved = networks_ok;
        let network = match &r.network {
            Some(nn) if networks.iter().any(|n| &n.name == nn) => nn.clone(),
            Some(nn) => {
                cx.bad(
                    &format!("{path}.network"),
                    format!("no network named `{nn}`"),
                    Some(did_you_mean(nn, &net_names)),
                );
                resolved = false;
                nn.clone()
            }
            None => vips
                .first()
                .and_then(|v| networks.iter().find(|n| n.contains(v.address)))
                .or(networks.first())
                .map(|n| n.name.clone())
                .unwrap_or_default(),
        };
        if let Some(net) = networks.iter().find(|n| n.name == network) {
            for (j, v) in vips.iter().enumerate() {
                if networks.iter().any(|n| n.contains(v.address)) && !net.contains(v.address) {
                    cx.bad(&format!("{path}.vips[{j}]"), format!("VIP {} is not on the instance's network `{}` ({})", v.address, net.name, net.prefix_of(v.address)), Some("an instance's VIPs live on the network its adverts use; make a second instance for the other network".to_string()));
                }
            }
        }
        let ipv6 = vips.first().is_some_and(|v| v.address.is_ipv6());
        let (members, members_known) = members(cx, &path, r, nodes, &network, ipv6);
        resolved &= members_known;
        all_resolved &= resolved;
        if resolved {
            check_member_count(cx, &path, r, &name, &network, &members, ipv6);
        }
        // RFC 5798 5.2.3: IPv4 and IPv6 virtual routers are separate, a vrid may serve both.
        if let Some(o) = out
            .iter()
            .find(|o| o.vrid == vrid && o.network == network && o.is_ipv6() == ipv6)
        {
            cx.bad(&format!("{path}.vrid"), format!("vrid {vrid} is also used by instance `{}` on network `{network}`", o.name), Some("two groups with one VRID on one network see each other's adverts (keepalived logs `ip address associated with VRID not present`); give each a unique vrid".to_string()));
        }
        let auth = r.auth.as_ref().map(|a| {
            let s = cx.secret(&format!("{path}.auth.pass"), &a.pass);
            let len = s.as_ref().map_or(1, |s| s.expose().len());
            if !(1..=8).contains(&len) {
                cx.bad(&format!("{path}.auth.pass"), format!("auth pass is {len} characters; it must be 1 to 8"), Some("VRRPv2 carries 8 bytes of password; keepalived silently truncates longer ones".to_string()));
            }
            s.unwrap_or_else(|| Secret::new(String::new()))
        });
        if version == Version::V3 && auth.is_some() {
            cx.bad_key(
                &format!("{path}.auth"),
                "VRRPv3 has no authentication",
                Some("RFC 5798 removed it; drop `auth` or use version 2".to_string()),
            );
        }
        for (j, t) in r.track_scripts.iter().enumerate() {
            if !scripts.iter().any(|s| &s.name == t) {
                let names: Vec<&str> = scripts.iter().map(|s| s.name.as_str()).collect();
                cx.bad(
                    &format!("{path}.track_scripts[{j}]"),
                    format!("no script named `{t}`"),
                    Some(format!(
                        "define it under `scripts:`; {}",
                        did_you_mean(t, &names)
                    )),
                );
            }
        }
        for (j, t) in r.track_interfaces.iter().enumerate() {
            check_track_interface(
                cx,
                &format!("{path}.track_interfaces[{j}]"),
                t,
                &members,
                nodes,
            );
        }
        let preempt = r.preempt.unwrap_or(true);
        if let Some(d) = r.preempt_delay {
            if !(0.0..=1000.0).contains(&d) {
                cx.bad(
                    &format!("{path}.preempt_delay"),
                    format!("preempt_delay {d} is outside 0..1000 seconds"),
                    Some("keepalived accepts a preempt_delay of 0 to 1000 seconds".to_string()),
                );
            }
            if !preempt {
                cx.bad_key(
                    &format!("{path}.preempt_delay"),
                    "`preempt_delay` is set with `preempt: false`",
                    Some(
                        "nopreempt never preempts, so there is nothing to delay: drop one of them"
                            .to_string(),
                    ),
                );
            }
        }
        out.push(VrrpInstance {
            name,
            vrid,
            network,
            version,
            advert_int_cs,
            members,
            vips,
            auth,
            preempt,
            preempt_delay: r.preempt_delay,
            unicast: r.unicast.unwrap_or(false),
            track_scripts: r.track_scripts.clone(),
            track_interfaces: r.track_interfaces.clone(),
            notify: r
                .notify
                .as_ref()
                .map(|n| Notify {
                    master: n.master.clone(),
                    backup: n.backup.clone(),
                    fault: n.fault.clone(),
                    any: n.any.clone(),
                })
                .unwrap_or_default(),
            garp_master_delay: r.garp_master_delay,
            garp_master_repeat: r.garp_master_repeat,
            garp_master_refresh: r.garp_master_refresh,
            sync_group: r.sync_group.clone(),
        });
    }
    let mut groups: BTreeMap<&str, usize> = BTreeMap::new();
    for v in &out {
        if let Some(g) = &v.sync_group {
            *groups.entry(g.as_str()).or_default() += 1;
        }
    }
    for (i, r) in raw.iter().enumerate() {
        if let Some(g) = &r.sync_group {
            for (j, t) in r.track_scripts.iter().enumerate() {
                if scripts.iter().any(|s| &s.name == t && s.weight != 0) {
                    cx.bad(&format!("vrrp[{i}].track_scripts[{j}]"), format!("script `{t}` has a weight, but instance is in sync group `{g}`"), Some("keepalived ignores tracked-script weights inside a sync group (the group moves on FAULT only): set `weight: 0` on the script".to_string()));
                }
            }
            if groups.get(g.as_str()) == Some(&1) {
                cx.bad(&format!("vrrp[{i}].sync_group"), format!("sync group `{g}` has one instance"), Some("a sync group moves several instances together; keepalived warns about (and ignores) a group of one".to_string()));
            }
        }
    }
    (out, all_resolved)
}

/// An instance needs two members: with one, nothing takes the VIP over; with none, no LB runs it.
fn check_member_count(
    cx: &mut Ctx<'_>,
    path: &str,
    r: &RawVrrp,
    name: &str,
    network: &str,
    members: &[VrrpMember],
    ipv6: bool,
) {
    match members {
        [] => {
            let at = if r.network.is_some() {
                format!("{path}.network")
            } else {
                format!("{path}.vips")
            };
            if ipv6 {
                cx.bad(&at, format!("instance `{name}` has no member: no LB node has an IPv6 address on network `{network}`"), Some(format!("give the LB nodes an `address6` in `{network}`'s `ipv6` prefix")));
            } else {
                cx.bad(&at, format!("instance `{name}` has no member: no LB node has an address on network `{network}`"), Some(format!("give the LB nodes an address on `{network}` (`addresses: [{{network: {network}, address: IP}}]`), or run the instance on their network")));
            }
        }
        [one] => {
            let at = if r.priorities.is_empty() {
                format!("{path}.vrid")
            } else {
                format!("{path}.priorities")
            };
            cx.bad(&at, format!("instance `{name}` has one member (`{}`): an LB without VRRP peers", one.node), Some(format!("list at least two LB nodes on `{network}`; with one, nothing can take the VIP over")));
        }
        _ => {}
    }
}

/// A tracked interface must exist on every member (keepalived puts the instance in FAULT otherwise).
fn check_track_interface(
    cx: &mut Ctx<'_>,
    path: &str,
    t: &str,
    members: &[VrrpMember],
    nodes: &[Node],
) {
    if members.iter().any(|m| m.interface == t) {
        cx.bad(path, format!("`{t}` is the interface the instance runs on"), Some("keepalived ignores tracking its own interface (a down link already means FAULT); track another link, e.g. the back network's".to_string()));
        return;
    }
    let ifaces = |m: &VrrpMember| {
        nodes
            .iter()
            .find(|n| n.name == m.node)
            .map(|n| {
                n.interfaces
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let lacking: Vec<String> = members
        .iter()
        .filter(|m| !ifaces(m).contains(&t))
        .map(|m| format!("`{}`", m.node))
        .collect();
    if lacking.is_empty() {
        return;
    }
    let have: Vec<String> = members
        .iter()
        .map(|m| format!("{}: {}", m.node, ifaces(m).join(", ")))
        .collect();
    cx.bad(path, format!("interface `{t}` is missing on {}", lacking.join(", ")), Some(format!("the members' interfaces are {}; `interface:` on a node (or its `addresses` entry) names them", have.join("; "))));
}

/// The interval in centiseconds; the rules are halab-vrrp's.
fn advert_int(cx: &mut Ctx<'_>, path: &str, secs: f64, version: Version) -> u16 {
    // Whole microseconds: finer than any rule, so 0.015 stays off the centisecond grid.
    let micros = if secs.is_finite() && secs > 0.0 {
        (secs * 1e6).round().min(u64::MAX as f64) as u64
    } else {
        0
    };
    match advert_interval_cs(version, micros) {
        Ok(cs) => cs,
        Err(_) => {
            let p = format!("{path}.advert_int");
            match version {
                Version::V2 => cx.bad(&p, format!("advert_int {secs} cannot be carried by VRRPv2"), Some("VRRPv2 (RFC 3768) sends whole seconds 1..255; use `version: 3` for sub-second adverts".to_string())),
                Version::V3 => cx.bad(
                    &p,
                    format!("advert_int {secs} cannot be carried by VRRPv3"),
                    Some("VRRPv3 (RFC 5798) sends centiseconds: 0.01..40.95 in steps of 0.01".to_string()),
                ),
            }
            100
        }
    }
}

/// The instance's members, and whether every one is known: false when a listed node is
/// unknown, no LB or off the network, or an LB's address was rejected (each reported).
fn members(
    cx: &mut Ctx<'_>,
    path: &str,
    r: &RawVrrp,
    nodes: &[Node],
    network: &str,
    ipv6: bool,
) -> (Vec<VrrpMember>, bool) {
    // An IPv6 instance's members need an IPv6 address on the network (keepalived sends from
    // the link-local one, but unicast peers and the lab's client need a global one).
    let on_net = |n: &Node| {
        n.interface_on(network)
            .and_then(|i| Some((i.name.clone(), i.address_of(ipv6)?)))
    };
    let what = if ipv6 { "IPv6 address" } else { "address" };
    let unplaced = |n: &Node| n.interfaces.is_empty();
    let mut list: Vec<(String, i64)> = Vec::new();
    let mut known = !nodes.iter().any(|n| n.role == Role::Lb && unplaced(n));
    if r.priorities.is_empty() {
        for (k, n) in nodes
            .iter()
            .filter(|n| n.role == Role::Lb && on_net(n).is_some())
            .enumerate()
        {
            list.push((n.name.clone(), 100 - 10 * i64::try_from(k).unwrap_or(0)));
        }
    } else {
        // A misspelt member is most likely an LB that is not listed yet.
        let unlisted: Vec<&str> = nodes
            .iter()
            .filter(|n| n.role == Role::Lb && !r.priorities.contains_key(&n.name))
            .map(|n| n.name.as_str())
            .collect();
        // Keep the lab's node order, not the map's, so MASTER ties go to the first listed node.
        let mut keyed: Vec<(usize, String, i64)> = Vec::new();
        for (name, prio) in &r.priorities {
            let ppath = format!("{path}.priorities.{name}");
            match nodes.iter().position(|n| &n.name == name) {
                None => cx.bad_key(
                    &ppath,
                    format!("no node named `{name}`"),
                    Some(did_you_mean(name, &unlisted)),
                ),
                Some(idx) if nodes[idx].role != Role::Lb => cx.bad_key(
                    &ppath,
                    format!("node `{name}` is not an LB node"),
                    Some(
                        "only `role: lb` nodes run VRRP; web nodes are haproxy's servers"
                            .to_string(),
                    ),
                ),
                // Its address was rejected, and that is reported.
                Some(idx) if unplaced(&nodes[idx]) => {}
                Some(idx) if on_net(&nodes[idx]).is_none() => cx.bad_key(
                    &ppath,
                    format!("node `{name}` has no {what} on network `{network}`"),
                    Some(if ipv6 {
                        format!("give `{name}` an `address6` on `{network}` (its `ipv6` prefix), or leave it out of this IPv6 instance")
                    } else {
                        format!("add one to its `addresses`, or leave `{name}` out of this instance")
                    }),
                ),
                Some(idx) => {
                    keyed.push((idx, name.clone(), *prio));
                    continue;
                }
            }
            known = false;
        }
        keyed.sort();
        list = keyed.into_iter().map(|(_, n, p)| (n, p)).collect();
    }
    let mut out = Vec::new();
    for (name, prio) in &list {
        if !(1..=254).contains(prio) {
            cx.bad(&format!("{path}.priorities.{name}"), format!("priority {prio} is outside 1..254"), Some("255 is reserved for the address owner and 0 for a master that resigns (RFC 5798 5.2.4)".to_string()));
        }
    }
    let best = list.iter().map(|(_, p)| *p).max().unwrap_or(0);
    let preempt = r.preempt.unwrap_or(true);
    let master = match &r.master {
        Some(m) => {
            if !list.iter().any(|(n, _)| n == m) {
                let names: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
                cx.bad(
                    &format!("{path}.master"),
                    format!("`{m}` is not a member of this instance"),
                    Some(did_you_mean(m, &names)),
                );
            }
            if !preempt {
                cx.bad(&format!("{path}.master"), format!("`master: {m}` (initial state MASTER) is set with `preempt: false`"), Some("keepalived's nopreempt only works when every member starts as BACKUP: drop `master` (the highest priority still wins the first election)".to_string()));
            }
            Some(m.clone())
        }
        None if preempt => list
            .iter()
            .find(|(_, p)| *p == best)
            .map(|(n, _)| n.clone()),
        None => None,
    };
    for (name, prio) in list {
        let Some((interface, address)) = nodes.iter().find(|n| n.name == name).and_then(on_net)
        else {
            continue;
        };
        out.push(VrrpMember {
            state: if master.as_deref() == Some(name.as_str()) {
                InitialState::Master
            } else {
                InitialState::Backup
            },
            node: name,
            priority: u8::try_from(prio.clamp(1, 254)).unwrap_or(100),
            interface,
            address,
        });
    }
    (out, known)
}
