//! The test bed's plan: which nodes of a `provider: ssh` (or vagrant) lab become hosts, at
//! which address, and a `control` node at the highest free address of every lab network.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::Path;

use super::{Host, HostKind, TestbedError, TestbedPlan, lab_name};
use crate::lab::Lab;
use crate::lab::model::Provider;
use crate::state::state_dir;
use halab_netns::{self as netns, Cidr, IfPlan, NetPlan, NetnsPlan, NodePlan};

/// The test bed's nodes, checked: every problem at once.
/// Unless `kind` is host-like, the hosts' nodes only hold the network namespaces that their
/// containers join or their VMs' taps live in.
pub fn plan(lab: &Lab, state_root: &Path, kind: HostKind) -> Result<TestbedPlan, TestbedError> {
    let name = lab_name(&lab.name);
    let mut problems = Vec::new();
    // A vagrant lab's VMs (the halab Vagrant provider, `vagrant_vm.rs`): every node is a VM
    // host, reached as root at its first address.
    let vagrant = lab.provider == Provider::Vagrant && kind == HostKind::Vm;
    if lab.provider != Provider::Ssh && !vagrant {
        problems.push("its provider is not `ssh` (a test bed stands in for existing hosts)".into());
    }
    let networks: Vec<NetPlan> = lab
        .networks
        .iter()
        .map(|n| NetPlan {
            name: n.name.clone(),
            cidr: Cidr {
                addr: n.cidr.addr.into(),
                prefix: n.cidr.prefix,
            },
        })
        .collect();
    let mut nodes = Vec::new();
    let mut hosts = Vec::new();
    for node in &lab.nodes {
        let vagrant_ssh;
        let ssh = match &node.ssh {
            _ if vagrant => {
                vagrant_ssh = crate::lab::model::SshTarget {
                    host: node.address().to_string(),
                    user: "root".into(),
                    port: 22,
                    identity_file: None,
                    jump: None,
                };
                &vagrant_ssh
            }
            Some(ssh) => ssh,
            None => continue,
        };
        let n = &node.name;
        let own = |a: Ipv4Addr| node.interfaces.iter().any(|i| i.address == a);
        let address = match ssh.host.parse::<Ipv4Addr>() {
            Ok(a) if own(a) => Some(a),
            Ok(a) if lab.networks.iter().any(|net| net.cidr.contains(a)) => {
                problems.push(format!(
                    "node `{n}`: ssh.host {a} is not one of its own addresses (its sshd listens on those)"
                ));
                None
            }
            Ok(a) => {
                problems.push(format!(
                    "node `{n}`: ssh.host {a} lies in none of the lab's networks (the test bed never leaves them)"
                ));
                None
            }
            Err(_) => {
                problems.push(format!(
                    "node `{n}`: ssh.host `{}` is not an IPv4 address (the test bed needs the node's address, e.g. `ssh: {{host: {}}}`)",
                    ssh.host,
                    node.address()
                ));
                None
            }
        };
        if ssh.user != "root" {
            problems.push(format!(
                "node `{n}`: ssh.user is `{}`, but the test bed only authorizes root",
                ssh.user
            ));
        }
        let Some(address) = address else { continue };
        nodes.push(NodePlan {
            name: n.clone(),
            hostname: node.hostname.clone(),
            interfaces: node
                .interfaces
                .iter()
                .map(|i| IfPlan {
                    network: i.network.clone(),
                    ifname: i.name.clone(),
                    addr: i.address.into(),
                    prefix: i.prefix,
                })
                .collect(),
            sysctls: Vec::new(),
            // What a fresh Debian host has; halab's provisioning writes the lab's.
            hosts_file: format!(
                "127.0.0.1\tlocalhost\n127.0.1.1\t{}\n::1\tlocalhost ip6-localhost ip6-loopback\n",
                node.hostname
            ),
            host_like: kind == HostKind::HostLike,
        });
        hosts.push(Host {
            name: n.clone(),
            address,
            port: ssh.port,
            netns: netns::names::node_ns(&name, n),
        });
    }
    if hosts.is_empty() && problems.is_empty() {
        problems.push("no node has an `ssh` section".into());
    }
    let control = control_name(lab);
    let used: BTreeSet<Ipv4Addr> =
        lab.nodes
            .iter()
            .flat_map(|n| n.interfaces.iter().map(|i| i.address))
            .chain(lab.vrrp.iter().flat_map(|v| v.vips.iter()).filter_map(
                |vip| match vip.address {
                    std::net::IpAddr::V4(a) => Some(a),
                    std::net::IpAddr::V6(_) => None,
                },
            ))
            .collect();
    let mut interfaces = Vec::new();
    for (k, net) in lab.networks.iter().enumerate() {
        let (first, last) = (
            u32::from(net.cidr.network()) + 1,
            u32::from(net.cidr.broadcast()),
        );
        match (first..last)
            .rev()
            .map(Ipv4Addr::from)
            .find(|a| !used.contains(a))
        {
            Some(addr) => interfaces.push(IfPlan {
                network: net.name.clone(),
                ifname: format!("eth{k}"),
                addr: addr.into(),
                prefix: net.cidr.prefix,
            }),
            None => problems.push(format!(
                "network `{}` has no free address for the control node",
                net.name
            )),
        }
    }
    if !problems.is_empty() {
        return Err(TestbedError::Lab {
            lab: lab.name.clone(),
            problems,
        });
    }
    let mut hosts_file = "127.0.0.1\tlocalhost\n".to_owned();
    for h in &hosts {
        hosts_file.push_str(&format!("{}\t{}\n", h.address, h.name));
    }
    nodes.push(NodePlan {
        name: control.into(),
        hostname: control.into(),
        interfaces,
        sysctls: Vec::new(),
        hosts_file,
        host_like: false,
    });
    Ok(TestbedPlan {
        netns: NetnsPlan {
            lab: name.clone(),
            state_dir: state_dir(state_root, &name),
            networks,
            nodes,
        },
        hosts,
        control: control.into(),
    })
}

/// The control node's name: `control`, or `halab-control` if the lab has a `control`.
pub(crate) fn control_name(lab: &Lab) -> &'static str {
    if lab.node("control").is_some() {
        "halab-control"
    } else {
        "control"
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::fs;

    use super::super::known_hosts;
    use super::*;

    fn lab(text: &str) -> Lab {
        crate::lab::parse(
            Path::new("ssh.yaml"),
            text,
            &HashMap::<String, String>::new(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    const LAB: &str = "name: tb
provider: ssh
networks: [{ name: lan, cidr: 10.9.0.0/24 }]
nodes:
  - { name: lb1, role: lb, address: 10.9.0.11, ssh: { host: 10.9.0.11 } }
  - { name: lb2, role: lb, address: 10.9.0.12, ssh: { host: 10.9.0.12 } }
  - { name: web1, role: web, address: 10.9.0.254, ssh: { host: 10.9.0.254, port: 2222 } }
vrrp:
  - { vrid: 51, vips: [10.9.0.253] }
";

    #[test]
    fn hosts_and_a_control_node_at_the_top_free_address() {
        let p = plan(&lab(LAB), Path::new("/run/x"), HostKind::HostLike).expect("plan");
        assert_eq!(p.netns.lab, "tb-tb");
        assert_eq!(p.netns.state_dir, Path::new("/run/x/tb-tb"));
        let names: Vec<&str> = p.netns.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["lb1", "lb2", "web1", "control"]);
        assert!(p.netns.nodes[0].host_like && !p.netns.nodes[3].host_like);
        // .254 is web1's, .253 the VIP.
        assert_eq!(
            p.netns.nodes[3].interfaces[0].addr.to_string(),
            "10.9.0.252"
        );
        assert_eq!(p.hosts[2].port, 2222);
        assert!(p.netns.validate().is_ok());
        let keys = ["ssh-ed25519 A".to_owned(), "ssh-ed25519 B".to_owned()];
        assert_eq!(
            known_hosts(&p.hosts[1..], &keys),
            "10.9.0.12,lb2 ssh-ed25519 A\n[10.9.0.254]:2222,[web1]:2222 ssh-ed25519 B\n"
        );
    }

    /// Input: labs/seed000/vm/lab.yaml (what scripts/vm-test boots). Output: four VM hosts,
    /// no client VM (the probe runs in the control node), and its failover scenario valid.
    #[test]
    fn the_seed000_vm_lab_is_four_hosts_and_its_failover_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000/vm");
        let file = dir.join("lab.yaml");
        let text = fs::read_to_string(&file).expect("vm lab");
        let l = crate::lab::parse(&file, &text, &HashMap::<String, String>::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let p = plan(&l, Path::new("/run/x"), HostKind::Vm).expect("plan");
        let hosts: Vec<&str> = p.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(hosts, ["nginx1", "nginx2", "loadbalance1", "loadbalance2"]);
        assert!(p.netns.nodes.iter().all(|n| !n.host_like));
        assert_eq!(p.control, "control");
        let sc = crate::scenario::file::load(&dir.join("scenarios/failover.yaml"), &l);
        assert!(sc.is_ok(), "{:?}", sc.err());
    }

    #[test]
    fn ssh_hosts_must_be_the_nodes_own_addresses() {
        let text = LAB
            .replace("host: 10.9.0.11 }", "host: lb1.example.org }")
            .replace("host: 10.9.0.254,", "host: 10.9.0.12, user: admin,");
        // 10.9.0.12 is lb2's.
        let Err(TestbedError::Lab { problems, .. }) =
            plan(&lab(&text), Path::new("/run/x"), HostKind::HostLike)
        else {
            panic!("expected a lab error")
        };
        let text = problems.join("\n");
        assert!(
            text.contains("`lb1.example.org` is not an IPv4 address"),
            "{text}"
        );
        assert!(
            text.contains("10.9.0.12 is not one of its own addresses"),
            "{text}"
        );
        assert!(text.contains("only authorizes root"), "{text}");
    }
}
