//! VRRPv3 over IPv6 between halabd and keepalived 2.2.7 in network namespaces: a mixed pair
//! elects, fails over (the master stops: priority 0) and goes back, and a client's neighbour
//! entry for the IPv6 VIP follows the holder (unsolicited neighbour advertisements). Needs root
//! (CI runs as root).

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::ipv6::{self, VIP6, dual_stack, holders6, mac};
use support::{Lab, master_down};

const SLACK: Duration = Duration::from_secs(3);

fn conf_v6(priority: u8) -> String {
    ipv6::conf_v6(priority, "1")
}

fn client_neigh(lab: &Lab) -> Option<String> {
    ipv6::client_neigh(lab, "c")
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

/// Input: two halabd with an IPv4 instance whose `virtual_ipaddress_excluded` holds an IPv6
/// address (keepalived's way to carry both families in one instance). Output: the master
/// holds both addresses, the backup neither; when the master stops, both move together.
#[test]
fn excluded_ipv6_address_moves_with_an_ipv4_instance() {
    let mut lab = Lab::new(&["a", "b"]);
    dual_stack(&lab, &["a", "b"]);
    let conf = |priority: u8| {
        support::instance_conf(
            priority,
            3,
            "0.2",
            &format!("    virtual_ipaddress_excluded {{\n        {VIP6}/64\n    }}\n"),
        )
    };
    lab.start_halabd("a", &conf(150));
    lab.start_halabd("b", &conf(100));
    let both = |node: &str| lab.has_addr(node, support::VIP) && ipv6::has_vip6(&lab, node);
    let neither = |node: &str| !lab.has_addr(node, support::VIP) && !ipv6::has_vip6(&lab, node);
    assert!(
        lab.wait_until(master_down(100, 0.2) * 4 + SLACK, || both("a")
            && neither("b"))
            .is_some(),
        "a does not hold both addresses alone\n{}",
        lab.logs()
    );
    lab.daemons[0].signal(Signal::SIGTERM);
    assert!(
        lab.wait_until(master_down(100, 0.2) + SLACK, || both("b") && neither("a"))
            .is_some(),
        "both addresses did not move to b\n{}",
        lab.logs()
    );
}
