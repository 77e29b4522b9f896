//! VRRPv3 over IPv6 between halabd and keepalived 2.2.7 in network namespaces: a mixed pair
//! elects, fails over (the master stops: priority 0) and goes back, and a client's neighbour
//! entry for the IPv6 VIP follows the holder (unsolicited neighbour advertisements). Needs root
//! (CI runs as root).

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::{Lab, master_down};

const VIP6: &str = "fd00:99::100";
const SLACK: Duration = Duration::from_secs(3);

/// A keepalived.conf with one IPv6 instance (keepalived: the family is the first VIP's).
fn conf_v6(priority: u8) -> String {
    format!(
        "global_defs {{\n    router_id test6\n}}\n\nvrrp_instance V6 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 61\n    version 3\n    priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP6}/64\n    }}\n}}\n"
    )
}

fn ip_out(lab: &Lab, node: &str, args: &[&str]) -> String {
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
fn dual_stack(lab: &Lab, nodes: &[&str]) {
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

fn holders6(lab: &Lab, nodes: &[&str]) -> Vec<String> {
    nodes
        .iter()
        .filter(|n| {
            ip_out(lab, n, &["-6", "-o", "addr", "show", "dev", "eth0"])
                .contains(&format!(" {VIP6}/"))
        })
        .map(|n| (*n).to_owned())
        .collect()
}

fn mac(lab: &Lab, node: &str) -> String {
    let link = ip_out(lab, node, &["-o", "link", "show", "dev", "eth0"]);
    link.split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .expect("a MAC")
        .to_owned()
}

/// The client's neighbour entry for the VIP (its link-layer address), after one ping so it
/// has one.
fn client_neigh(lab: &Lab) -> Option<String> {
    let entry = ip_out(lab, "c", &["-6", "neigh", "show", VIP6, "dev", "eth0"]);
    entry
        .split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .map(str::to_owned)
}

fn ping(lab: &Lab) -> bool {
    lab.exec("c", &["ping", "-6", "-c", "1", "-W", "1", VIP6])
        .status
        .success()
}

fn wait_holder(lab: &Lab, who: &str, timeout: Duration) -> bool {
    let want = vec![who.to_owned()];
    lab.wait_until(timeout, || holders6(lab, &["h", "k"]) == want)
        .is_some()
}

/// The client reaches the VIP and its neighbour entry names `who`'s MAC.
fn client_follows(lab: &Lab, who: &str, timeout: Duration) -> bool {
    let want = mac(lab, who);
    lab.wait_until(timeout, || {
        let reached = ping(lab);
        reached && client_neigh(lab).as_deref() == Some(want.as_str())
    })
    .is_some()
}

fn mixed_v6(halabd_priority: u8, keepalived_priority: u8) {
    let mut lab = Lab::new(&["h", "k", "c"]);
    dual_stack(&lab, &["h", "k", "c"]);
    let h = lab.start_halabd("h", &conf_v6(halabd_priority));
    let k = lab.start_keepalived("k", &conf_v6(keepalived_priority));
    let (winner, loser, winner_index, winner_conf) = if halabd_priority > keepalived_priority {
        ("h", "k", h, conf_v6(halabd_priority))
    } else {
        ("k", "h", k, conf_v6(keepalived_priority))
    };
    let converge = master_down(halabd_priority.min(keepalived_priority), 1.0) * 3 + SLACK;
    assert!(
        wait_holder(&lab, winner, converge),
        "no single IPv6 master {winner}: {:?}\n{}",
        holders6(&lab, &["h", "k"]),
        lab.logs()
    );
    // Stable: the loser heard the winner's adverts (each side decodes the other's IPv6 VRRP).
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(holders6(&lab, &["h", "k"]), [winner], "{}", lab.logs());
    assert!(
        client_follows(&lab, winner, SLACK),
        "client's neighbour entry {:?} is not {winner}'s {}\n{}",
        client_neigh(&lab),
        mac(&lab, winner),
        lab.logs()
    );
    // Failover: the master stops (priority 0); the other takes over and announces the VIP.
    lab.daemons[winner_index].signal(Signal::SIGTERM);
    assert!(
        wait_holder(&lab, loser, master_down(100, 1.0) + SLACK),
        "{loser} did not take over: {:?}\n{}",
        holders6(&lab, &["h", "k"]),
        lab.logs()
    );
    assert!(
        client_follows(&lab, loser, SLACK),
        "client's neighbour entry {:?} did not move to {loser}'s {}\n{}",
        client_neigh(&lab),
        mac(&lab, loser),
        lab.logs()
    );
    // Back: the higher priority returns and preempts.
    lab.daemons[winner_index].wait_exit(Duration::from_secs(5));
    if winner == "h" {
        lab.start_halabd("h", &winner_conf);
    } else {
        lab.start_keepalived("k", &winner_conf);
    }
    assert!(
        wait_holder(&lab, winner, master_down(100, 1.0) * 2 + SLACK),
        "{winner} did not preempt back: {:?}\n{}",
        holders6(&lab, &["h", "k"]),
        lab.logs()
    );
    assert!(
        client_follows(&lab, winner, SLACK),
        "client's neighbour entry {:?} did not come back to {winner}'s {}\n{}",
        client_neigh(&lab),
        mac(&lab, winner),
        lab.logs()
    );
}

/// Input: halabd 150, keepalived 100, VRRPv3 over IPv6 at 1 s, a client pinging the VIP.
/// Output: halabd alone holds fd00:99::100; when it stops keepalived takes over and the
/// client's neighbour entry moves to keepalived; halabd restarted preempts and the entry
/// comes back.
#[test]
fn ipv6_mixed_pair_halabd_master_keepalived_backup() {
    mixed_v6(150, 100);
}

/// Input: keepalived 150, halabd 100. Output: halabd follows keepalived's IPv6 adverts (never
/// holds the VIP), takes over when keepalived stops (its neighbour advertisements move the
/// client), and yields when keepalived returns.
#[test]
fn ipv6_mixed_pair_keepalived_master_halabd_backup() {
    mixed_v6(100, 150);
}
