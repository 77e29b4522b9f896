//! What the netns provider builds, independent of the lab model: networks, nodes, their
//! interfaces, sysctls and /etc/hosts. The lab model is lowered into this; nothing here knows
//! about haproxy or VRRP.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use super::error::{NetnsError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetnsPlan {
    /// The lab's name; the namespaces are named after it (see [`super::names`]).
    pub lab: String,
    /// Where everything of this lab lives on the host: state file, per-node files. Created by
    /// `up`, removed by `down`.
    pub state_dir: PathBuf,
    pub networks: Vec<NetPlan>,
    pub nodes: Vec<NodePlan>,
}

/// One layer-2 segment: a bridge in the lab's switch namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetPlan {
    pub name: String,
    pub cidr: Cidr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePlan {
    /// Unique in the lab; also the node's directory name under the state dir.
    pub name: String,
    pub hostname: String,
    pub interfaces: Vec<IfPlan>,
    /// `net.*` keys only: they are per network namespace, anything else would change the host.
    pub sysctls: Vec<(String, String)>,
    /// The node's own /etc/hosts.
    pub hosts_file: String,
    /// A "real host": overlays over /etc, /var and /root (the host's dirs below, the node's
    /// writes in its root dir) instead of the rendered /etc entries and the /var mounts.
    pub host_like: bool,
}

/// One address on a node's link. A link with several addresses (dual stack: IPv4 and IPv6)
/// is listed once per address, with the same `network` and `ifname`: [`super::up`] creates it
/// once and adds every address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfPlan {
    pub network: String,
    /// The name inside the node, e.g. `eth0`.
    pub ifname: String,
    pub addr: IpAddr,
    pub prefix: u8,
}

/// An address with a prefix length, as in `10.0.0.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    fn max_prefix(addr: IpAddr) -> u8 {
        if addr.is_ipv4() { 32 } else { 128 }
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let bits = u32::from(self.prefix);
        match (self.addr, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not ADDRESS/PREFIX"))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IP address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("`{prefix}` is not a prefix length"))?;
        if prefix > Cidr::max_prefix(addr) {
            return Err(format!("prefix /{prefix} is too long for {addr}"));
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Characters allowed in node names: they become directory and namespace file names.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn check_ifname(ifname: &str) -> Option<String> {
    // The kernel's IFNAMSIZ is 16 with the NUL; `/`, `:` and spaces are refused or ambiguous.
    if ifname.is_empty() || ifname.len() > 15 {
        return Some(format!(
            "interface name `{ifname}` must be 1 to 15 characters"
        ));
    }
    if !ifname
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Some(format!(
            "interface name `{ifname}` may only hold letters, digits, `-`, `_`, `.`"
        ));
    }
    if matches!(ifname, "." | ".." | "lo") {
        return Some(format!("interface name `{ifname}` is reserved"));
    }
    None
}

fn check_sysctl(key: &str) -> Option<String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.first() != Some(&"net") || parts.len() < 2 {
        return Some(format!(
            "sysctl `{key}` is not a net.* key (only those are per namespace)"
        ));
    }
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == ".." || p.contains('/'))
    {
        return Some(format!("sysctl `{key}` is malformed"));
    }
    None
}

fn check_hostname(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !name.starts_with(['-', '.']);
    (!ok).then(|| format!("hostname `{name}` is not a valid host name"))
}

impl NetnsPlan {
    /// Every problem at once, so a bad plan is fixed in one round.
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        if self.lab.is_empty() {
            problems.push("the lab name is empty".to_owned());
        }
        let mut nets = HashSet::new();
        for net in &self.networks {
            if !nets.insert(net.name.as_str()) {
                problems.push(format!("network `{}` is listed twice", net.name));
            }
        }
        let mut nodes = HashSet::new();
        for node in &self.nodes {
            let n = &node.name;
            if n.is_empty() || !n.chars().all(is_name_char) || n == "." || n == ".." {
                problems.push(format!(
                    "node name `{n}` may only hold letters, digits, `-`, `_`, `.`"
                ));
            }
            if !nodes.insert(n.as_str()) {
                problems.push(format!("node `{n}` is listed twice"));
            }
            problems.extend(check_hostname(&node.hostname).map(|p| format!("node `{n}`: {p}")));
            let mut ifnames: HashMap<&str, &str> = HashMap::new();
            let mut addrs = HashSet::new();
            for intf in &node.interfaces {
                problems.extend(check_ifname(&intf.ifname).map(|p| format!("node `{n}`: {p}")));
                // A second address on a link is fine (dual stack); a link on two networks,
                // or one address twice, is not.
                match ifnames.insert(intf.ifname.as_str(), intf.network.as_str()) {
                    Some(net) if net != intf.network => problems.push(format!(
                        "node `{n}`: interface `{}` is on networks `{net}` and `{}`",
                        intf.ifname, intf.network
                    )),
                    _ if !addrs.insert(intf.addr) => problems.push(format!(
                        "node `{n}`: interface `{}` is listed twice with {}",
                        intf.ifname, intf.addr
                    )),
                    _ => {}
                }
                match self.networks.iter().find(|net| net.name == intf.network) {
                    None => problems.push(format!("node `{n}`: no network `{}`", intf.network)),
                    // The network's cidr is of one family; the lab model checks the other.
                    Some(net)
                        if net.cidr.addr.is_ipv4() == intf.addr.is_ipv4()
                            && !net.cidr.contains(intf.addr) =>
                    {
                        problems.push(format!(
                            "node `{n}`: address {} is outside network `{}` ({})",
                            intf.addr, net.name, net.cidr
                        ));
                    }
                    Some(_) => {}
                }
                if intf.prefix > Cidr::max_prefix(intf.addr) {
                    problems.push(format!(
                        "node `{n}`: prefix /{} is too long for {}",
                        intf.prefix, intf.addr
                    ));
                }
            }
            for (key, _) in &node.sysctls {
                problems.extend(check_sysctl(key).map(|p| format!("node `{n}`: {p}")));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(NetnsError::Plan(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> NetnsPlan {
        NetnsPlan {
            lab: "web".into(),
            state_dir: "/tmp/x".into(),
            networks: vec![NetPlan {
                name: "front".into(),
                cidr: "10.0.0.0/24".parse().expect("cidr"),
            }],
            nodes: vec![NodePlan {
                name: "lb1".into(),
                hostname: "lb1".into(),
                interfaces: vec![IfPlan {
                    network: "front".into(),
                    ifname: "eth0".into(),
                    addr: "10.0.0.2".parse().expect("addr"),
                    prefix: 24,
                }],
                sysctls: vec![("net.ipv4.ip_nonlocal_bind".into(), "1".into())],
                hosts_file: String::new(),
                host_like: false,
            }],
        }
    }

    #[test]
    fn a_good_plan_passes() {
        assert!(plan().validate().is_ok());
    }

    #[test]
    fn every_problem_is_reported() {
        let mut p = plan();
        p.nodes[0].interfaces[0].ifname = "a-very-long-interface".into();
        p.nodes[0].interfaces[0].addr = "10.0.1.2".parse().expect("addr");
        p.nodes[0]
            .sysctls
            .push(("kernel.pid_max".into(), "1".into()));
        p.nodes.push(p.nodes[0].clone());
        let Err(NetnsError::Plan(problems)) = p.validate() else {
            panic!("expected a plan error")
        };
        let text = problems.join("\n");
        assert!(text.contains("1 to 15 characters"), "{text}");
        assert!(text.contains("outside network `front`"), "{text}");
        assert!(text.contains("not a net.* key"), "{text}");
        assert!(text.contains("listed twice"), "{text}");
    }

    #[test]
    fn a_dual_stack_link_is_one_link_with_two_addresses() {
        // Input: lb1's eth0 with 10.0.0.2/24 and fd00::2/64 on one network; then eth0 on a
        // second network. Output: the first is valid, the second names both networks.
        let mut p = plan();
        let mut v6 = p.nodes[0].interfaces[0].clone();
        v6.addr = "fd00::2".parse().expect("addr");
        v6.prefix = 64;
        p.nodes[0].interfaces.push(v6);
        assert!(p.validate().is_ok(), "{:?}", p.validate());
        p.networks.push(NetPlan {
            name: "back".into(),
            cidr: "10.0.1.0/24".parse().expect("cidr"),
        });
        let mut other = p.nodes[0].interfaces[0].clone();
        other.network = "back".into();
        other.addr = "10.0.1.2".parse().expect("addr");
        p.nodes[0].interfaces.push(other);
        let Err(NetnsError::Plan(problems)) = p.validate() else {
            panic!("expected a plan error")
        };
        assert!(
            problems
                .join("\n")
                .contains("on networks `front` and `back`"),
            "{problems:?}"
        );
    }

    #[test]
    fn cidr_contains() {
        let c: Cidr = "10.0.0.0/8".parse().expect("cidr");
        assert!(c.contains("10.200.1.1".parse().expect("addr")));
        assert!(!c.contains("11.0.0.1".parse().expect("addr")));
        let all: Cidr = "0.0.0.0/0".parse().expect("cidr");
        assert!(all.contains("192.168.1.1".parse().expect("addr")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
    }
}
