//! The lab model lowered onto `halab_netns`: the namespaces, links and inits a lab needs, and
//! where each rendered file waits before its node exists.

use std::path::{Path, PathBuf};

use crate::lab::Lab;
use crate::render::Artefact;
use halab_netns::{self as netns, Cidr, IfPlan, NetPlan, NetnsPlan, NodePlan};

/// The namespaces and links the lab needs; `/etc/hosts` comes from the rendered files.
pub fn plan(lab: &Lab, state_dir: &Path, artefacts: &[Artefact]) -> NetnsPlan {
    let networks = lab
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
    let nodes = lab
        .nodes
        .iter()
        .map(|n| NodePlan {
            name: n.name.clone(),
            hostname: n.hostname.clone(),
            // A dual-stack interface is two entries of one link: IPv4, then IPv6.
            interfaces: n
                .interfaces
                .iter()
                .flat_map(|i| {
                    let v6 = i.address6.zip(i.prefix6).map(|(a, p)| IfPlan {
                        network: i.network.clone(),
                        ifname: i.name.clone(),
                        addr: a.into(),
                        prefix: p,
                    });
                    std::iter::once(IfPlan {
                        network: i.network.clone(),
                        ifname: i.name.clone(),
                        addr: i.address.into(),
                        prefix: i.prefix,
                    })
                    .chain(v6)
                })
                .collect(),
            sysctls: n
                .sysctl
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            hosts_file: artefacts
                .iter()
                .find(|a| a.node == n.name && a.path == "/etc/hosts")
                .map(|a| String::from_utf8_lossy(&a.bytes).to_string())
                .unwrap_or_else(|| format!("127.0.0.1\tlocalhost\n127.0.1.1\t{}\n", n.hostname)),
            host_like: false,
        })
        .collect();
    NetnsPlan {
        lab: lab.name.clone(),
        state_dir: state_dir.to_path_buf(),
        networks,
        nodes,
    }
}

/// Where a node path lives in the node's root dir before the node exists (the init mounts
/// `etc/<entry>` over `/etc/<entry>` and `www` over `/var/www`). None: not for this provider
/// (systemd units, the sysctl drop-in: the plan applies sysctls itself).
pub fn staged_path(state_dir: &Path, node: &str, path: &str) -> Option<PathBuf> {
    let root = netns::layout::node_root(state_dir, node);
    if path.starts_with("/etc/systemd/")
        || path.starts_with("/etc/sysctl.d/")
        || path == "/etc/hosts"
    {
        return None;
    }
    if let Some(rest) = path.strip_prefix("/etc/") {
        return Some(root.join("etc").join(rest));
    }
    path.strip_prefix("/var/www/")
        .map(|rest| root.join("www").join(rest))
}
