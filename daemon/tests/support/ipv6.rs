//! IPv6 on a [`Lab`]: global addresses beside the IPv4 ones (dual stack), the IPv6 VIP's
//! holders, a client's neighbour entry for it.

use std::time::Duration;

use super::Lab;

/// The IPv6 virtual address the IPv6 tests and the benchmark use.
pub const VIP6: &str = "fd00:99::100";

/// A keepalived.conf with one IPv6 instance (keepalived: the family is the first VIP's).
pub fn conf_v6(priority: u8, advert_int: &str) -> String {
    format!(
        "global_defs {{\n    router_id test6\n}}\n\nvrrp_instance V6 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 61\n    version 3\n    priority {priority}\n    advert_int {advert_int}\n    virtual_ipaddress {{\n        {VIP6}/64\n    }}\n}}\n"
    )
}

/// `ip -n NODE ARGS`, its standard output.
pub fn ip_out(lab: &Lab, node: &str, args: &[&str]) -> String {
    let ns = lab.ns(node);
    let mut all = vec!["-n", ns.as_str()];
    all.extend_from_slice(args);
    let out = std::process::Command::new("ip")
        .args(&all)
        .output()
        .expect("ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Gives node i fd00:99::(i+1)/64 on eth0 and waits until every node's link-local address
/// finished duplicate address detection (an advert cannot leave from a tentative one).
pub fn dual_stack(lab: &Lab, nodes: &[&str]) {
    for (i, node) in nodes.iter().enumerate() {
        let addr = format!("fd00:99::{}/64", i + 1);
        let out = ip_out(
            lab,
            node,
            &["-6", "addr", "add", &addr, "dev", "eth0", "nodad"],
        );
        assert!(out.is_empty(), "{out}");
    }
    let ready = lab.wait_until(Duration::from_secs(10), || {
        nodes.iter().all(|n| {
            let link = ip_out(
                lab,
                n,
                &["-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"],
            );
            link.contains("fe80::") && !link.contains("tentative")
        })
    });
    assert!(ready.is_some(), "link-local addresses stayed tentative");
}

/// Is the IPv6 VIP on `node`'s eth0?
pub fn has_vip6(lab: &Lab, node: &str) -> bool {
    ip_out(lab, node, &["-6", "-o", "addr", "show", "dev", "eth0"]).contains(&format!(" {VIP6}/"))
}

/// Which of `nodes` hold the IPv6 VIP.
pub fn holders6(lab: &Lab, nodes: &[&str]) -> Vec<String> {
    nodes
        .iter()
        .filter(|n| has_vip6(lab, n))
        .map(|n| (*n).to_owned())
        .collect()
}

/// `node`'s eth0 MAC.
pub fn mac(lab: &Lab, node: &str) -> String {
    let link = ip_out(lab, node, &["-o", "link", "show", "dev", "eth0"]);
    link.split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .expect("a MAC")
        .to_owned()
}

/// `client`'s neighbour entry for the VIP: its link-layer address.
pub fn client_neigh(lab: &Lab, client: &str) -> Option<String> {
    let entry = ip_out(lab, client, &["-6", "neigh", "show", VIP6, "dev", "eth0"]);
    entry
        .split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .map(str::to_owned)
}
