//! IPv6 beside IPv4 (dual stack): network prefixes, node addresses, and what an IPv6
//! instance needs of the lab's client. The VIP rules (one family per instance, VRRPv3) sit
//! with the other VIP rules in `vrrp`.

use std::collections::HashMap;
use std::net::Ipv6Addr;

use super::Ctx;
use crate::lab::model::*;
use crate::lab::raw::*;

fn parse_cidr6(s: &str) -> Option<Cidr6> {
    let (a, p) = s.split_once('/')?;
    let addr: Ipv6Addr = a.parse().ok()?;
    let prefix: u8 = p.parse().ok()?;
    (prefix <= 128).then_some(Cidr6 { addr, prefix })
}

/// A network's IPv6 prefix: /48../120 (room for nodes and VIPs), unique-local or global,
/// not overlapping another network's.
pub(super) fn network6(cx: &mut Ctx<'_>, path: &str, s: &str, others: &[Network]) -> Option<Cidr6> {
    let path = format!("{path}.ipv6");
    let Some(c) = parse_cidr6(s) else {
        cx.bad(
            &path,
            format!("`{s}` is not an IPv6 prefix"),
            Some(
                "write it as ADDRESS/PREFIX, e.g. fd00:30::/64 (a unique-local prefix)".to_string(),
            ),
        );
        return None;
    };
    if !(48..=120).contains(&c.prefix) {
        cx.bad(
            &path,
            format!("prefix /{} is outside /48../120", c.prefix),
            Some("a lab network's IPv6 prefix is usually a /64, e.g. fd00:30::/64".to_string()),
        );
        return None;
    }
    let first = c.addr.segments()[0];
    if c.addr.is_loopback() || c.addr.is_multicast() || (first & 0xffc0) == 0xfe80 {
        cx.bad(
            &path,
            format!("{s} is a loopback, link-local or multicast prefix"),
            Some("use a unique-local prefix (fd00::/8), e.g. fd00:30::/64".to_string()),
        );
        return None;
    }
    let c = Cidr6 {
        addr: c.network(),
        prefix: c.prefix,
    };
    if let Some((o, oc)) = others.iter().find_map(|o| {
        o.ipv6
            .filter(|oc| oc.contains(c.addr) || c.contains(oc.addr))
            .map(|oc| (o, oc))
    }) {
        cx.bad(
            &path,
            format!("{s} overlaps network `{}` ({oc})", o.name),
            Some("lab networks must not overlap".to_string()),
        );
    }
    Some(c)
}

/// A node's IPv6 address on `net`: inside the network's IPv6 prefix, unique in the lab.
pub(super) fn node_address6(
    cx: &mut Ctx<'_>,
    path: &str,
    a: &str,
    net: &Network,
    node: &str,
    seen: &mut HashMap<Ipv6Addr, String>,
) -> Option<Ipv6Addr> {
    let Ok(ip) = a.parse::<Ipv6Addr>() else {
        cx.bad(
            path,
            format!("`{a}` is not an IPv6 address"),
            Some("write a plain address like fd00:30::11; the prefix comes from the network's `ipv6`".to_string()),
        );
        return None;
    };
    let Some(c) = net.ipv6 else {
        cx.bad(
            path,
            format!("network `{}` has no IPv6 prefix", net.name),
            Some(format!(
                "add `ipv6: PREFIX` to network `{}`, e.g. `ipv6: fd00:30::/64`",
                net.name
            )),
        );
        return None;
    };
    if !c.contains(ip) {
        cx.bad(
            path,
            format!("{ip} is outside network `{}`'s IPv6 prefix ({c})", net.name),
            Some(format!("pick an address inside {c}")),
        );
    } else if ip == c.network() {
        cx.bad(
            path,
            format!("{ip} is the subnet-router anycast address of {c}"),
            Some("pick a host address, e.g. ::11".to_string()),
        );
    }
    if let Some(other) = seen.insert(ip, node.to_string()) {
        cx.bad(
            path,
            format!("address {ip} is also node `{other}`'s"),
            Some("every node needs its own address".to_string()),
        );
    }
    Some(ip)
}

/// A client on the network of an IPv6 instance needs an IPv6 address there: halab probes
/// every VIP the client is attached to.
pub(super) fn client_reaches_ipv6(
    cx: &mut Ctx<'_>,
    raw: &[RawNode],
    nodes: &[Node],
    vrrp: &[VrrpInstance],
) {
    for (i, n) in raw
        .iter()
        .enumerate()
        .filter(|(_, n)| n.role == Role::Client)
    {
        let Some(node) = nodes.iter().find(|m| m.name == n.name) else {
            continue;
        };
        for v in vrrp.iter().filter(|v| v.is_ipv6()) {
            if let Some(intf) = node
                .interface_on(&v.network)
                .filter(|i| i.address6.is_none())
            {
                let vip = v
                    .vips
                    .first()
                    .map(|x| x.address.to_string())
                    .unwrap_or_default();
                cx.bad_key(&format!("nodes[{i}].name"), format!("client `{}` has no IPv6 address on network `{}`, so it cannot reach VIP {vip} of instance `{}`", n.name, v.network, v.name), Some(format!("give it an `address6` on `{}` ({}): halab probes every VIP through the client", v.network, intf.name)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    const LAB: &str = "name: v6
networks:
  - { name: lan, cidr: 10.10.0.0/24, ipv6: \"fd00:10::/64\" }
nodes:
  - { name: lb1, role: lb, address: 10.10.0.11, address6: \"fd00:10::11\" }
  - { name: lb2, role: lb, address: 10.10.0.12, address6: \"fd00:10::12\" }
  - { name: web1, role: web, address: 10.10.0.21 }
vrrp:
  - { name: V4, vrid: 51, version: 3, vips: [10.10.0.100] }
  - { name: V6, vrid: 51, version: 3, vips: [\"fd00:10::100\"], unicast: true }
";

    #[test]
    fn a_dual_stack_lab_gets_a_dual_stack_client_and_one_vrid_per_family() {
        // Input: a dual-stack network, no client, an IPv4 and an IPv6 instance sharing vrid
        // 51, the IPv6 one unicast. Output: it validates; the implicit client has an IPv6
        // address (the highest free up to ::fffe); V6's members' addresses are their IPv6 ones.
        let env: HashMap<String, String> = HashMap::new();
        let lab = crate::lab::parse(Path::new("v6.yaml"), LAB, &env).expect("valid");
        let client = lab.client().expect("implicit client");
        assert_eq!(
            client.address6().map(|a| a.to_string()).as_deref(),
            Some("fd00:10::fffe")
        );
        let v6 = lab.vrrp.iter().find(|v| v.name == "V6").expect("V6");
        assert!(v6.is_ipv6());
        let addrs: Vec<String> = v6.members.iter().map(|m| m.address.to_string()).collect();
        assert_eq!(addrs, ["fd00:10::11", "fd00:10::12"]);
        let v4 = lab.vrrp.iter().find(|v| v.name == "V4").expect("V4");
        assert!(!v4.is_ipv6());
        assert_eq!(v4.members[0].address.to_string(), "10.10.0.11");
    }

    #[test]
    fn two_ipv6_instances_may_not_share_a_vrid() {
        // Input: the lab above plus a second IPv6 instance with vrid 51. Output: the vrid
        // clash is reported (a family shares its vrids; the other family does not).
        let text =
            format!("{LAB}  - {{ name: V6b, vrid: 51, version: 3, vips: [\"fd00:10::101\"] }}\n");
        let env: HashMap<String, String> = HashMap::new();
        let err = crate::lab::parse(Path::new("v6.yaml"), &text, &env)
            .expect_err("vrid clash")
            .to_string();
        assert!(
            err.contains("vrid 51 is also used by instance `V6`"),
            "{err}"
        );
        assert!(!err.contains("instance `V4`"), "{err}");
    }
}
