//! The wire-visible keepalived directives in mixed groups: halabd and keepalived 2.2.7 side by
//! side in network namespaces, each group with `use_vmac`, unicast peers (with a TTL range),
//! or `vrrp_strict`; a client node beside them. Needs root (CI runs as root).
//!
//! Each group elects, fails over (the master's switch port goes down) and heals (the port
//! comes back: the better router preempts, one master again), with halabd as the better
//! router and with keepalived as the better router. VRRPv3 at 0.1 s; deadlines derive from it
//! and are generous (the machine is loaded).

mod support;

use std::net::Ipv4Addr;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::{Kind, Lab, VIP, master_down};

const ADVERT: &str = "0.1";
const ADVERT_SECS: f64 = 0.1;
const SLACK: Duration = Duration::from_secs(3);
/// How long one master must hold before the group counts as settled.
const STABLE: Duration = Duration::from_millis(800);

/// One feature's configuration for a node.
struct Feature {
    /// Lines for `global_defs`.
    global: &'static str,
    /// Lines for the instance (given the node's and its peer's address).
    instance: fn(me: Ipv4Addr, peer: Ipv4Addr) -> String,
    /// Where the master holds the VIP.
    vip_dev: &'static str,
}

fn conf(feature: &Feature, priority: u8, me: Ipv4Addr, peer: Ipv4Addr) -> String {
    format!(
        "global_defs {{\n    router_id test\n{global}\n}}\n\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    version 3\n    priority {priority}\n    advert_int {ADVERT}\n{instance}\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n",
        global = feature.global,
        instance = (feature.instance)(me, peer),
    )
}

/// Which of `nodes` hold the VIP on `dev`.
fn holders(lab: &Lab, nodes: &[&str], dev: &str) -> Vec<String> {
    nodes
        .iter()
        .filter(|n| lab.has_addr_on(n, dev, VIP))
        .map(|n| (*n).to_owned())
        .collect()
}

/// Waits until `node` alone holds the VIP on `dev`, and still does `STABLE` later.
fn settles_on(lab: &Lab, node: &str, dev: &str, timeout: Duration) -> bool {
    let want = vec![node.to_owned()];
    let end = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < end {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if lab
            .wait_until(left, || holders(lab, &["h", "k"], dev) == want)
            .is_none()
        {
            return false;
        }
        let held = std::time::Instant::now();
        while held.elapsed() < STABLE && holders(lab, &["h", "k"], dev) == want {
            std::thread::sleep(Duration::from_millis(20));
        }
        if held.elapsed() >= STABLE {
            return true;
        }
    }
    false
}

/// The group: halabd on h, keepalived on k, a client on c; the better router (150) is h when
/// `halabd_wins`, else k. Elects, fails over, heals; `check` runs on each settled state
/// with the master's and the backup's node names.
fn mixed_group(feature: &Feature, halabd_wins: bool, check: impl Fn(&Lab, &str, &str)) {
    let mut lab = Lab::new(&["h", "k", "c"]);
    let (h, k) = (lab.addr("h"), lab.addr("k"));
    let (ph, pk) = if halabd_wins { (150, 100) } else { (100, 150) };
    lab.start_halabd("h", &conf(feature, ph, h, k));
    lab.start_keepalived("k", &conf(feature, pk, k, h));
    let (better, worse) = if halabd_wins { ("h", "k") } else { ("k", "h") };
    let converge = master_down(100, ADVERT_SECS) * 10 + SLACK * 2;
    // Elects.
    assert!(
        settles_on(&lab, better, feature.vip_dev, converge),
        "the group did not elect {better}: holders {:?}\n{}",
        holders(&lab, &["h", "k"], feature.vip_dev),
        lab.logs()
    );
    check(&lab, better, worse);
    // Fails over: the master's cable is pulled.
    lab.set_port(better, false);
    let moved = lab.wait_until(master_down(100, ADVERT_SECS) + SLACK, || {
        holders(&lab, &["h", "k"], feature.vip_dev) == [worse.to_owned()]
    });
    // The figure (run with --nocapture): cable pulled -> VIP on the other router.
    eprintln!(
        "FIGURE {} failover {better}->{worse}: {} ms (Master_Down_Interval {} ms)",
        feature.vip_dev,
        moved.map_or(u128::MAX, |d| d.as_millis()),
        master_down(100, ADVERT_SECS).as_millis()
    );
    assert!(
        settles_on(
            &lab,
            worse,
            feature.vip_dev,
            master_down(100, ADVERT_SECS) + SLACK
        ),
        "{worse} did not take over from {better}: holders {:?}\n{}",
        holders(&lab, &["h", "k"], feature.vip_dev),
        lab.logs()
    );
    check(&lab, worse, better);
    // Heals: the cable is back, the better router preempts, one master again.
    lab.set_port(better, true);
    assert!(
        settles_on(&lab, better, feature.vip_dev, converge),
        "the group did not heal back to {better}: holders {:?}\n{}",
        holders(&lab, &["h", "k"], feature.vip_dev),
        lab.logs()
    );
    check(&lab, better, worse);
    // halabd stops cleanly: its VIPs and what it made (VMAC, nft table) are gone.
    let halabd = lab
        .daemons
        .iter()
        .position(|d| d.kind == Kind::Halabd)
        .expect("halabd");
    lab.daemons[halabd].signal(Signal::SIGTERM);
    assert!(
        lab.daemons[halabd]
            .wait_exit(Duration::from_secs(10))
            .is_some(),
        "halabd did not stop\n{}",
        lab.logs()
    );
    let links = lab.exec("h", &["ip", "-o", "link", "show"]);
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(!links.contains("vrrp.51"), "VMAC left behind:\n{links}");
    let table = lab.exec("h", &["nft", "list", "table", "ip", "keepalived"]);
    assert!(
        !table.status.success(),
        "nft table left behind:\n{}",
        String::from_utf8_lossy(&table.stdout)
    );
    assert!(holders(&lab, &["h"], feature.vip_dev).is_empty());
}

// ---- use_vmac ----

const VMAC: Feature = Feature {
    global: "",
    instance: |_, _| "    use_vmac".to_owned(),
    vip_dev: "vrrp.51",
};

/// The master's VMAC is the RFC 5798 MAC, the client learns the VIP at it, and the backup
/// has its VMAC too (keepalived creates it at start) without the VIP.
fn vmac_check(lab: &Lab, master: &str, backup: &str) {
    for node in [master, backup] {
        let link = lab.exec(node, &["ip", "-o", "link", "show", "vrrp.51"]);
        let link = String::from_utf8_lossy(&link.stdout);
        assert!(
            link.contains("00:00:5e:00:01:33"),
            "{node}: vrrp.51 is not the VMAC: {link}\n{}",
            lab.logs()
        );
    }
    // The client asks for the VIP (its cache flushed): the master answers from the VMAC. (It
    // then learns the VIP at the master's eth0 MAC from the master's own ARP request for the
    // client, sent from eth0 with the VIP as source: keepalived 2.2.7 does exactly the same.)
    let script = format!(
        "timeout 5 tcpdump -l -n -e -i eth0 -c 1 'arp and ether src 00:00:5e:00:01:33 and arp[6:2] = 2' 2>/dev/null & \
         sleep 0.5; ip neigh flush dev eth0; ping -c 1 -W 2 {VIP} >/dev/null; r=$?; wait; exit $r"
    );
    let out = lab.exec("c", &["sh", "-c", &script]);
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client cannot reach the VIP on {master}\n{}",
        lab.logs()
    );
    assert!(
        seen.contains("Reply 10.99.0.100 is-at 00:00:5e:00:01:33"),
        "no ARP reply from the VMAC on {master} (backup {backup}):\n{seen}\n{}",
        lab.logs()
    );
}

/// Input: halabd 150 and keepalived 100, both `use_vmac`. Output: halabd is master with the
/// VIP on vrrp.51 (MAC 00:00:5e:00:01:33), the client reaches it there; its cable pulled,
/// keepalived takes over; back, halabd preempts; halabd stopped, its VMAC is gone.
#[test]
fn vmac_mixed_group_halabd_master() {
    mixed_group(&VMAC, true, vmac_check);
}

/// Input: the same with keepalived 150 and halabd 100. Output: the same, roles swapped.
#[test]
fn vmac_mixed_group_keepalived_master() {
    mixed_group(&VMAC, false, vmac_check);
}

// ---- unicast peers, with a TTL range on each peer ----

const UNICAST: Feature = Feature {
    global: "",
    // Each sends with TTL 252 (`unicast_ttl`), within the other's min_ttl 250.
    instance: |me, peer| {
        format!(
            "    unicast_src_ip {me}\n    unicast_ttl 252\n    unicast_peer {{\n        {peer} min_ttl 250 max_ttl 255\n    }}"
        )
    },
    vip_dev: "eth0",
};

/// No VRRP multicast on the wire: the client node, in the same broadcast domain, sees none.
fn unicast_check(lab: &Lab, master: &str, backup: &str) {
    // The master's adverts reach the backup with `unicast_ttl` (unless the backup's cable is
    // the one pulled).
    let link = lab.exec(backup, &["ip", "link", "show", "eth0"]);
    if String::from_utf8_lossy(&link.stdout).contains("NO-CARRIER") {
        return;
    }
    let src = lab.addr(master).to_string();
    let filter = format!("ip proto 112 and src {src}");
    let out = lab.exec(
        backup,
        &[
            "timeout", "2", "tcpdump", "-n", "-v", "-i", "eth0", "-c", "2", &filter,
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ttl 252"),
        "{master}'s adverts at {backup} without unicast_ttl 252:\n{text}"
    );
    // The client joins nothing; a unicast advert to h or k never reaches c's stack, and a
    // multicast one would. Count VRRP at c's interface for 0.5 s.
    let out = lab.exec(
        "c",
        &[
            "timeout",
            "0.5",
            "tcpdump",
            "-n",
            "-i",
            "eth0",
            "-c",
            "5",
            "ip proto 112 and dst 224.0.0.18",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("VRRP"),
        "multicast VRRP seen with unicast peers:\n{text}"
    );
}

/// Input: halabd 150 and keepalived 100 with unicast_src_ip and a unicast_peer with
/// min_ttl 250 (the source check on). Output: elects halabd, fails over to keepalived,
/// heals back; no multicast adverts on the wire.
#[test]
fn unicast_mixed_group_halabd_master() {
    mixed_group(&UNICAST, true, unicast_check);
}

/// Input: the same, keepalived 150. Output: the same, roles swapped.
#[test]
fn unicast_mixed_group_keepalived_master() {
    mixed_group(&UNICAST, false, unicast_check);
}

// ---- vrrp_strict ----

const STRICT: Feature = Feature {
    global: "    vrrp_strict",
    instance: |_, _| String::new(),
    vip_dev: "eth0",
};

/// Strict mode: no accept mode for a non-owner, so the master drops traffic to the VIP with
/// keepalived's nftables set; the backup's set is empty. Same table on both daemons.
fn strict_check(lab: &Lab, master: &str, backup: &str) {
    let set = |node: &str| {
        let out = lab.exec(node, &["nft", "list", "set", "ip", "keepalived", "vips"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let vip = VIP.to_string();
    let ok = lab.wait_until(SLACK, || {
        set(master).contains(&vip) && !set(backup).contains(&vip)
    });
    assert!(
        ok.is_some(),
        "drop set: master {master}: {}\nbackup {backup}: {}\n{}",
        set(master),
        set(backup),
        lab.logs()
    );
    let ping = lab.exec("c", &["ping", "-c", "1", "-W", "1", &vip]);
    assert!(
        !ping.status.success(),
        "the VIP answered on {master} although strict mode has no accept mode"
    );
}

/// Input: halabd 150 and keepalived 100 under `vrrp_strict`. Output: elects halabd, which
/// drops traffic to the VIP (no accept mode) as keepalived does; fails over and heals.
#[test]
fn strict_mixed_group_halabd_master() {
    mixed_group(&STRICT, true, strict_check);
}

/// Input: the same, keepalived 150. Output: the same, roles swapped.
#[test]
fn strict_mixed_group_keepalived_master() {
    mixed_group(&STRICT, false, strict_check);
}

// ---- one halabd: garp spacing and VIP options ----

/// Input: halabd alone with `vrrp_garp_interval 0.2`, `garp_master_repeat 3`, and a VIP with
/// `brd 10.99.0.127 scope link label eth0:vip` (a /32: the kernel wants a secondary address
/// in a subnet to have its primary's scope). Output: becoming master it sends its 3
/// gratuitous ARPs at least 0.15 s apart (a capture on the client), and the VIP carries the
/// broadcast, scope and label asked for.
#[test]
fn garp_interval_spaces_the_arps_and_vip_options_reach_the_kernel() {
    let mut lab = Lab::new(&["h", "c"]);
    let capture = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ns("c"),
            "timeout",
            "6",
            "tcpdump",
            "-l",
            "-n",
            "-tt",
            "-i",
            "eth0",
            "-c",
            "3",
            "arp and ether src not 00:00:00:00:00:00 and arp[6:2] = 1 and arp[14:4] = arp[24:4]",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tcpdump");
    std::thread::sleep(Duration::from_millis(700));
    lab.start_halabd(
        "h",
        &format!(
            "global_defs {{\n    vrrp_garp_interval 0.2\n}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    version 3\n    advert_int {ADVERT}\n    garp_master_repeat 3\n    garp_master_delay 0\n    virtual_ipaddress {{\n        {VIP}/32 brd 10.99.0.127 scope link label eth0:vip\n    }}\n}}\n"
        ),
    );
    let out = capture.wait_with_output().expect("tcpdump output");
    let text = String::from_utf8_lossy(&out.stdout);
    let times: Vec<f64> = text
        .lines()
        .filter(|l| l.contains(&VIP.to_string()))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(
        times.len(),
        3,
        "three gratuitous ARPs:\n{text}\n{}",
        lab.logs()
    );
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= 0.15,
            "gratuitous ARPs {:.3} s apart:\n{text}",
            pair[1] - pair[0]
        );
    }
    let addr = lab.exec("h", &["ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
    let addr = String::from_utf8_lossy(&addr.stdout);
    let line = addr
        .lines()
        .find(|l| l.contains(&format!("{VIP}/32")))
        .unwrap_or_else(|| panic!("no VIP:\n{addr}\n{}", lab.logs()));
    assert!(line.contains("brd 10.99.0.127"), "{line}");
    assert!(line.contains("scope link"), "{line}");
    assert!(line.contains("eth0:vip"), "{line}");
}
