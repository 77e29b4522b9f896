//! halabd for real: daemons in network namespaces joined by a bridge, VIPs on veths, and
//! keepalived 2.2.7 as the peer in mixed pairs. Needs root (CI runs as root).
//!
//! Deadlines derive from the advert interval and are generous (the machine is loaded); each
//! test says what it expects in its first comment.

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::{Lab, VIP, instance_conf, master_down, skew};

/// Fast tests: VRRPv3 at 0.1 s.
const FAST: &str = "0.1";
const FAST_SECS: f64 = 0.1;
/// Slack for a loaded machine on top of protocol times.
const SLACK: Duration = Duration::from_secs(2);

fn fast_pair(lab: &mut Lab) {
    lab.start_halabd("a", &instance_conf(150, 3, FAST, ""));
    lab.start_halabd("b", &instance_conf(100, 3, FAST, ""));
    let converged = lab.wait_single_holder(
        "a",
        master_down(100, FAST_SECS) * 4 + SLACK,
        Duration::from_secs(1),
    );
    assert!(converged, "a never became the only master\n{}", lab.logs());
}

/// Input: halabd at 150 and 100, VRRPv3 0.1 s. Output: exactly one master (150) holds the VIP,
/// stays so, and both APIs report it.
#[test]
fn two_halabd_converge_to_exactly_one_master() {
    let mut lab = Lab::new(&["a", "b"]);
    fast_pair(&mut lab);
    let a = lab.status("a");
    let b = lab.status("b");
    assert_eq!(a["instances"][0]["state"], "MASTER", "{a}");
    assert_eq!(a["instances"][0]["vips_held"], true, "{a}");
    assert_eq!(b["instances"][0]["state"], "BACKUP", "{b}");
    assert_eq!(
        b["instances"][0]["master_address"],
        lab.addr("a").to_string(),
        "{b}"
    );
    assert!(
        a["instances"][0]["counters"]["adverts_sent"]
            .as_u64()
            .unwrap_or(0)
            > 5,
        "{a}"
    );
    assert!(
        b["instances"][0]["counters"]["adverts_received"]
            .as_u64()
            .unwrap_or(0)
            > 5,
        "{b}"
    );
    let metrics = lab.api("a", "/metrics");
    assert!(
        metrics.contains("halabd_vrrp_state{instance=\"VI_1\",state=\"MASTER\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE halabd_vrrp_adverts_sent_total counter"),
        "{metrics}"
    );
}

/// Input: a converged pair; SIGKILL of the master daemon. Output: the backup holds the VIP
/// within Master_Down_Interval (plus slack).
#[test]
fn sigkill_of_the_master_moves_the_vip_within_master_down_time() {
    let mut lab = Lab::new(&["a", "b"]);
    fast_pair(&mut lab);
    lab.daemons[0].signal(Signal::SIGKILL);
    let limit = master_down(100, FAST_SECS) + SLACK;
    let took = lab.wait_until(limit, || lab.has_addr("b", VIP));
    assert!(
        took.is_some(),
        "b did not take the VIP within {limit:?}\n{}",
        lab.logs()
    );
    let b = lab.status("b");
    assert_eq!(b["instances"][0]["state"], "MASTER", "{b}");
}

/// Input: a converged pair; SIGTERM to the master. Output: it sends priority 0, removes the
/// VIP and exits 0; the backup holds the VIP within Skew_Time (plus slack), far sooner than
/// Master_Down_Interval would allow at advert_int 1.
#[test]
fn sigterm_sends_priority_zero_and_the_backup_takes_over_in_skew_time() {
    let mut lab = Lab::new(&["a", "b"]);
    // VRRPv2 at 1 s: Master_Down_Interval is 3.6 s, Skew_Time 0.6 s.
    lab.start_halabd("a", &instance_conf(150, 2, "1", ""));
    lab.start_halabd("b", &instance_conf(100, 2, "1", ""));
    assert!(
        lab.wait_single_holder(
            "a",
            master_down(100, 1.0) * 3 + SLACK,
            Duration::from_secs(2)
        ),
        "no convergence\n{}",
        lab.logs()
    );
    lab.daemons[0].signal(Signal::SIGTERM);
    let limit = skew(100, 1.0) + Duration::from_millis(1500);
    let took = lab.wait_until(limit + SLACK, || lab.has_addr("b", VIP));
    let code = lab.daemons[0].wait_exit(Duration::from_secs(5));
    assert_eq!(code, Some(Some(0)), "halabd did not exit 0\n{}", lab.logs());
    let took = took.unwrap_or_else(|| panic!("b never took over\n{}", lab.logs()));
    assert!(
        took < master_down(100, 1.0),
        "took {took:?}: no priority-0 hand-over\n{}",
        lab.logs()
    );
    assert!(!lab.has_addr("a", VIP), "a kept the VIP after exiting");
    assert!(lab.daemons[0].log_text().contains("(VI_1) sent 0 priority"));
    assert!(
        lab.daemons[1]
            .log_text()
            .contains("(VI_1) Entering MASTER STATE")
    );
}

/// Input: a converged pair; the master is killed (leaving its VIP behind), the backup takes
/// over, then the higher-priority daemon starts again. Output: it first removes the leftover
/// VIP (a backup must not hold it), then preempts back and the other steps down.
#[test]
fn restarting_the_higher_priority_daemon_preempts_back() {
    let mut lab = Lab::new(&["a", "b"]);
    fast_pair(&mut lab);
    lab.daemons[0].signal(Signal::SIGKILL);
    let _ = lab.daemons[0].wait_exit(Duration::from_secs(5));
    // SIGKILL leaves the VIP on a (nobody removed it): what a crash looks like.
    assert!(
        lab.wait_until(master_down(100, FAST_SECS) + SLACK, || lab
            .has_addr("b", VIP))
            .is_some(),
        "{}",
        lab.logs()
    );
    assert!(lab.has_addr("a", VIP), "a crashed daemon leaves its VIP");
    lab.start_halabd("a", &instance_conf(150, 3, FAST, ""));
    assert!(
        lab.wait_single_holder(
            "a",
            master_down(150, FAST_SECS) * 2 + SLACK,
            Duration::from_secs(1)
        ),
        "a did not preempt back\n{}",
        lab.logs()
    );
    let b = lab.status("b");
    assert_eq!(b["instances"][0]["state"], "BACKUP", "{b}");
    assert!(
        lab.daemons[2].log_text().contains("removing leftover VIPs"),
        "{}",
        lab.logs()
    );
}

fn mixed(halabd_priority: u8, keepalived_priority: u8) {
    let mut lab = Lab::new(&["h", "k"]);
    lab.start_halabd("h", &instance_conf(halabd_priority, 2, "1", ""));
    lab.start_keepalived("k", &instance_conf(keepalived_priority, 2, "1", ""));
    let (winner, loser) = if halabd_priority > keepalived_priority {
        ("h", "k")
    } else {
        ("k", "h")
    };
    let converge = master_down(halabd_priority.min(keepalived_priority), 1.0) * 3 + SLACK * 2;
    assert!(
        lab.wait_single_holder(winner, converge, Duration::from_secs(3)),
        "mixed pair did not converge on {winner}\n{}",
        lab.logs()
    );
    // And the other way: the master stops cleanly, the other takes over within Skew_Time.
    let index = usize::from(winner == "k");
    lab.daemons[index].signal(Signal::SIGTERM);
    let took = lab.wait_until(master_down(100, 1.0) + SLACK, || {
        lab.holders(VIP) == [loser.to_owned()]
    });
    assert!(took.is_some(), "{loser} did not take over\n{}", lab.logs());
}

/// Input: halabd 150, keepalived 100 (VRRPv2, 1 s). Output: halabd is the only master, and
/// keepalived takes over when it stops.
#[test]
fn mixed_pair_halabd_master_keepalived_backup() {
    mixed(150, 100);
}

/// Input: keepalived 150, halabd 100. Output: keepalived is the only master, and halabd takes
/// over when keepalived stops.
#[test]
fn mixed_pair_keepalived_master_halabd_backup() {
    mixed(100, 150);
}

/// Input: one halabd master with a VRRPv2 instance (password) and a VRRPv3 one; tcpdump in its
/// namespace. Output: tshark decodes every captured packet as VRRP with a good checksum,
/// TTL 255, the right versions and priorities.
#[test]
fn tshark_decodes_halabd_adverts_with_correct_checksums() {
    let mut lab = Lab::new(&["a"]);
    let conf = "vrrp_instance V2 {\n interface eth0\n virtual_router_id 52\n priority 120\n advert_int 1\n authentication {\n auth_type PASS\n auth_pass s3cret\n }\n virtual_ipaddress {\n 10.99.0.52\n }\n}\n\
                vrrp_instance V3 {\n interface eth0\n virtual_router_id 53\n version 3\n priority 130\n advert_int 0.2\n virtual_ipaddress {\n 10.99.0.53/24\n 10.99.0.54/24\n }\n}\n";
    let pcap = lab.dir.path().join("adverts.pcap");
    let pcap_s = pcap.to_str().expect("utf-8").to_owned();
    let ns = lab.ns("a");
    let mut tcpdump = std::process::Command::new("timeout")
        .args([
            "30",
            "ip",
            "netns",
            "exec",
            &ns,
            "tcpdump",
            "-i",
            "eth0",
            "-U",
            "-c",
            "50",
            "-w",
            &pcap_s,
            "ip proto 112",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tcpdump");
    std::thread::sleep(Duration::from_millis(500));
    lab.start_halabd("a", conf);
    let status = tcpdump.wait().expect("tcpdump exit");
    assert!(
        status.success(),
        "tcpdump did not capture 50 packets in time: {status}\n{}",
        lab.logs()
    );
    let out = support::sh(
        "tshark",
        &[
            "-r",
            &pcap_s,
            "-Y",
            "vrrp",
            "-T",
            "fields",
            "-e",
            "vrrp.version",
            "-e",
            "vrrp.checksum.status",
            "-e",
            "ip.ttl",
            "-e",
            "vrrp.prio",
            "-e",
            "vrrp.virt_rtr_id",
            "-o",
            "vrrp.v3_checksum_as_in_v2:FALSE",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.len() >= 45,
        "tshark saw {} vrrp packets:\n{out}",
        lines.len()
    );
    let mut versions = std::collections::BTreeSet::new();
    for line in &lines {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 5, "{line}");
        // vrrp.checksum.status: 1 = good.
        assert_eq!(f[1], "1", "bad checksum in `{line}`\n{out}");
        assert_eq!(f[2], "255", "{line}");
        match f[0] {
            "2" => assert_eq!((f[3], f[4]), ("120", "52"), "{line}"),
            "3" => assert_eq!((f[3], f[4]), ("130", "53"), "{line}"),
            other => panic!("version {other} in {line}"),
        }
        versions.insert(f[0].to_owned());
    }
    assert_eq!(versions.len(), 2, "both versions captured:\n{out}");
}

/// Input: a master whose VIP someone deletes with `ip addr del`. Output: halabd puts it back.
#[test]
fn a_vip_deleted_while_master_is_restored() {
    let mut lab = Lab::new(&["a", "b"]);
    fast_pair(&mut lab);
    support::sh(
        "ip",
        &[
            "-n",
            &lab.ns("a"),
            "addr",
            "del",
            &format!("{VIP}/24"),
            "dev",
            "eth0",
        ],
    );
    let back = lab.wait_until(SLACK, || lab.has_addr("a", VIP));
    assert!(back.is_some(), "VIP not restored\n{}", lab.logs());
    let a = lab.status("a");
    assert_eq!(a["instances"][0]["counters"]["vips_restored"], 1, "{a}");
    assert_eq!(a["instances"][0]["state"], "MASTER", "{a}");
}

/// Input: the master tracks a script (weight -60: 150 -> 90, below the backup's 100); the
/// script starts failing. Output: the backup holds the VIP within the script interval plus
/// Skew_Time (halab's fast hand-off), and the API shows the script failed.
#[test]
fn a_failing_track_script_hands_over() {
    let mut lab = Lab::new(&["a", "b"]);
    let flag = lab.dir.path().join("healthy");
    std::fs::write(&flag, "").expect("flag");
    let script = format!(
        "vrrp_script chk {{\n    script \"/usr/bin/test -f {}\"\n    interval 0.2\n    weight -60\n    rise 1\n    fall 1\n}}\n",
        flag.display()
    );
    let track = "    track_script {\n        chk\n    }\n";
    lab.start_halabd("a", &(script + &instance_conf(150, 3, FAST, track)));
    lab.start_halabd("b", &instance_conf(100, 3, FAST, ""));
    assert!(
        lab.wait_single_holder(
            "a",
            master_down(100, FAST_SECS) * 4 + SLACK,
            Duration::from_secs(1)
        ),
        "{}",
        lab.logs()
    );
    std::fs::remove_file(&flag).expect("rm flag");
    let took = lab.wait_until(Duration::from_millis(400) + SLACK, || {
        lab.holders(VIP) == ["b".to_owned()]
    });
    assert!(took.is_some(), "no hand-over\n{}", lab.logs());
    let a = lab.status("a");
    assert_eq!(a["instances"][0]["effective_priority"], 90, "{a}");
    assert_eq!(
        a["instances"][0]["tracked_scripts"][0]["state"], "failed",
        "{a}"
    );
    assert_eq!(a["scripts"][0]["last_outcome"], "failure", "{a}");
    // Healthy again: a preempts back.
    std::fs::write(&flag, "").expect("flag");
    assert!(
        lab.wait_single_holder(
            "a",
            master_down(150, FAST_SECS) * 3 + SLACK,
            Duration::from_millis(500)
        ),
        "{}",
        lab.logs()
    );
}

/// Input: a hung track script (sleeps past its timeout), weight 0. Output: it is killed,
/// counts as failed, and the instance goes to FAULT.
#[test]
fn a_hung_track_script_is_killed_and_counts_as_failed() {
    let mut lab = Lab::new(&["a"]);
    let script =
        "vrrp_script hang {\n    script \"/bin/sleep 30\"\n    interval 1\n    timeout 0.3\n}\n";
    let track = "    track_script {\n        hang\n    }\n";
    lab.start_halabd(
        "a",
        &(script.to_owned() + &instance_conf(150, 3, FAST, track)),
    );
    let fault = lab.wait_until(Duration::from_secs(5), || {
        lab.status("a")["instances"][0]["state"] == "FAULT"
    });
    assert!(fault.is_some(), "{}\n{}", lab.status("a"), lab.logs());
    let a = lab.status("a");
    assert_eq!(a["scripts"][0]["last_outcome"], "timed_out", "{a}");
    // No sleep process left behind in the namespace's daemon group beyond the current run.
    assert!(!lab.has_addr("a", VIP));
}

/// Input: the master's link loses carrier (its bridge port goes down). Output: the master goes
/// to FAULT and drops the VIP, the backup takes over; with the link back the master preempts.
#[test]
fn link_down_faults_the_master_and_link_up_recovers() {
    let mut lab = Lab::new(&["a", "b"]);
    fast_pair(&mut lab);
    lab.set_port("a", false);
    let moved = lab.wait_until(master_down(100, FAST_SECS) + SLACK, || {
        lab.holders(VIP) == ["b".to_owned()]
    });
    assert!(moved.is_some(), "{}", lab.logs());
    assert_eq!(lab.status("a")["instances"][0]["state"], "FAULT");
    lab.set_port("a", true);
    assert!(
        lab.wait_single_holder(
            "a",
            master_down(150, FAST_SECS) * 3 + SLACK * 2,
            Duration::from_millis(500)
        ),
        "{}",
        lab.logs()
    );
}

/// Input: two instances on one halabd, both master; SIGHUP after changing only VI_2's
/// priority. Output: VI_1 keeps its state (no new transition, no priority 0), VI_2 restarts
/// with the new priority; an invalid configuration is refused and changes nothing.
#[test]
fn sighup_reload_keeps_unchanged_instances() {
    let mut lab = Lab::new(&["a"]);
    let conf = |p2: u8| {
        format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n version 3\n advert_int 0.1\n priority 150\n virtual_ipaddress {{\n {VIP}/24\n }}\n}}\n\
             vrrp_instance VI_2 {{\n interface eth0\n virtual_router_id 52\n version 3\n advert_int 0.1\n priority {p2}\n virtual_ipaddress {{\n 10.99.0.101/24\n }}\n}}\n"
        )
    };
    lab.start_halabd("a", &conf(120));
    let both = lab.wait_until(Duration::from_secs(5), || {
        let s = lab.status("a");
        s["instances"][0]["state"] == "MASTER" && s["instances"][1]["state"] == "MASTER"
    });
    assert!(both.is_some(), "{}", lab.logs());
    let before = lab.status("a");
    std::fs::write(&lab.daemons[0].conf, conf(130)).expect("rewrite");
    lab.daemons[0].signal(Signal::SIGHUP);
    let reloaded = lab.wait_until(Duration::from_secs(5), || {
        let s = lab.status("a");
        s["daemon"]["reloads"] == 1 && s["instances"][1]["state"] == "MASTER"
    });
    assert!(reloaded.is_some(), "{}\n{}", lab.status("a"), lab.logs());
    let after = lab.status("a");
    let vi1 = |s: &serde_json::Value, k: &str| s["instances"][0]["counters"][k].clone();
    assert_eq!(
        vi1(&before, "transitions"),
        vi1(&after, "transitions"),
        "{after}"
    );
    assert_eq!(vi1(&after, "priority_zero_sent"), 0, "{after}");
    assert_eq!(after["instances"][1]["base_priority"], 130, "{after}");
    assert!(lab.has_addr("a", VIP));

    std::fs::write(&lab.daemons[0].conf, "vrrp_instance broken {\n").expect("rewrite");
    lab.daemons[0].signal(Signal::SIGHUP);
    let refused = lab.wait_until(Duration::from_secs(5), || {
        lab.status("a")["daemon"]["failed_reloads"] == 1
    });
    assert!(refused.is_some(), "{}", lab.logs());
    assert_eq!(
        lab.status("a")["instances"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(lab.has_addr("a", VIP));
}

/// Input: two halabd with unicast_peer (no multicast). Output: one master holds the VIP, and
/// SIGTERM still hands over in Skew_Time.
#[test]
fn unicast_peers_converge_and_hand_over() {
    let mut lab = Lab::new(&["a", "b"]);
    let (a, b) = (lab.addr("a"), lab.addr("b"));
    let uni = |me: std::net::Ipv4Addr, peer: std::net::Ipv4Addr| {
        format!("    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n")
    };
    lab.start_halabd("a", &instance_conf(150, 3, FAST, &uni(a, b)));
    lab.start_halabd("b", &instance_conf(100, 3, FAST, &uni(b, a)));
    assert!(
        lab.wait_single_holder(
            "a",
            master_down(100, FAST_SECS) * 4 + SLACK,
            Duration::from_secs(1)
        ),
        "{}",
        lab.logs()
    );
    lab.daemons[0].signal(Signal::SIGTERM);
    let took = lab.wait_until(master_down(100, FAST_SECS) + SLACK, || {
        lab.holders(VIP) == ["b".to_owned()]
    });
    assert!(took.is_some(), "{}", lab.logs());
}

/// Input: a sync group of two instances on eth0 and eth1; eth1 loses carrier. Output: both
/// instances go to FAULT (the group follows its worst member) and both VIPs leave.
#[test]
fn a_sync_group_faults_together() {
    let mut lab = Lab::new(&["a"]);
    let ns = lab.ns("a");
    // A second interface whose carrier we control: a veth pair inside the node.
    support::sh(
        "ip",
        &[
            "-n", &ns, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
        ],
    );
    support::sh(
        "ip",
        &["-n", &ns, "addr", "add", "10.98.0.1/24", "dev", "eth1"],
    );
    support::sh("ip", &["-n", &ns, "link", "set", "eth1", "up"]);
    support::sh("ip", &["-n", &ns, "link", "set", "eth1p", "up"]);
    let conf = format!(
        "vrrp_sync_group G {{\n group {{\n VI_1\n VI_2\n }}\n}}\n\
         vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n version 3\n advert_int 0.1\n priority 150\n virtual_ipaddress {{\n {VIP}/24\n }}\n}}\n\
         vrrp_instance VI_2 {{\n interface eth1\n virtual_router_id 52\n version 3\n advert_int 0.1\n priority 150\n virtual_ipaddress {{\n 10.98.0.100/24 dev eth1\n }}\n}}\n"
    );
    lab.start_halabd("a", &conf);
    assert!(
        lab.wait_until(Duration::from_secs(5), || lab.has_addr("a", VIP))
            .is_some(),
        "{}",
        lab.logs()
    );
    support::sh("ip", &["-n", &ns, "link", "set", "eth1p", "down"]);
    let faulted = lab.wait_until(Duration::from_secs(5), || {
        let s = lab.status("a");
        s["instances"][0]["state"] == "FAULT" && s["instances"][1]["state"] == "FAULT"
    });
    assert!(faulted.is_some(), "{}\n{}", lab.status("a"), lab.logs());
    assert!(!lab.has_addr("a", VIP));
    assert_eq!(lab.status("a")["sync_groups"][0]["state"], "FAULT");
    support::sh("ip", &["-n", &ns, "link", "set", "eth1p", "up"]);
    assert!(
        lab.wait_until(Duration::from_secs(5), || lab.has_addr("a", VIP))
            .is_some(),
        "{}",
        lab.logs()
    );
}

/// Input: notify scripts on an instance. Output: `notify` is called with keepalived's
/// `INSTANCE NAME STATE PRIORITY`, `notify_master` on mastering.
#[test]
fn notify_scripts_get_keepalived_arguments() {
    let mut lab = Lab::new(&["a"]);
    let out = lab.dir.path().join("notified");
    let script = lab.dir.path().join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display()),
    )
    .expect("script");
    support::sh("chmod", &["755", script.to_str().expect("utf-8")]);
    let extra = format!(
        "    notify \"{s}\"\n    notify_master \"{s} specific\"\n",
        s = script.display()
    );
    lab.start_halabd("a", &instance_conf(150, 3, FAST, &extra));
    let seen = lab.wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(&out)
            .is_ok_and(|t| t.contains("INSTANCE VI_1 MASTER 150") && t.contains("specific"))
    });
    assert!(
        seen.is_some(),
        "{:?}\n{}",
        std::fs::read_to_string(&out),
        lab.logs()
    );
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(text.contains("INSTANCE VI_1 BACKUP 150"), "{text}");
}

/// The VIP of the second network in the sync group tests.
const VIP_B: std::net::Ipv4Addr = std::net::Ipv4Addr::new(10, 98, 0, 100);

fn sync_group_conf(priority: u8) -> String {
    format!(
        "vrrp_sync_group G {{\n group {{\n VI_A\n VI_B\n }}\n}}\n\
         vrrp_instance VI_A {{\n state BACKUP\n interface eth0\n virtual_router_id 61\n version 3\n advert_int 0.2\n priority {priority}\n virtual_ipaddress {{\n {VIP}/24 dev eth0\n }}\n}}\n\
         vrrp_instance VI_B {{\n state BACKUP\n interface eth1\n virtual_router_id 62\n version 3\n advert_int 0.2\n priority {priority}\n virtual_ipaddress {{\n {VIP_B}/24 dev eth1\n }}\n}}\n"
    )
}

/// (node holding VIP on a, node holding VIP_B on b), for messages.
fn vip_holders(lab: &Lab) -> String {
    let on = |dev: &str, ip| {
        ["n1", "n2"]
            .into_iter()
            .filter(|n| lab.has_addr_on(n, dev, ip))
            .collect::<Vec<_>>()
            .join("+")
    };
    format!("a: [{}] b: [{}]", on("eth0", VIP), on("eth1", VIP_B))
}

fn holds_both(lab: &Lab, node: &str) -> bool {
    lab.has_addr_on(node, "eth0", VIP) && lab.has_addr_on(node, "eth1", VIP_B)
}

fn holds_none(lab: &Lab, node: &str) -> bool {
    !lab.has_addr_on(node, "eth0", VIP) && !lab.has_addr_on(node, "eth1", VIP_B)
}

/// `check` holds at every poll for `window`.
fn holds_for(window: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + window;
    while std::time::Instant::now() < end {
        if !check() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// [`sync_group_scenario`], run once more if it failed while the machine held this process
/// off the CPU for 50 ms or more at once (a quarter of the 0.2 s adverts; the scenario
/// runner's stall too). Seen in CI at load 17: keepalived's n2, silent in its log for 4 s,
/// timed out on the adverts queued meanwhile and took both VIPs for an instant after the
/// heal; and keepalived's n1 sent no advert on the healed network for a Master_Down_Interval
/// (0.68 s) while the canary's worst stall stayed under 170 ms, the first bound tried.
fn sync_group_starved_once(n1: support::Kind, n2: support::Kind) {
    support::starved::unless_starved(Duration::from_millis(50), || sync_group_scenario(n1, n2));
}

/// The sync group scenario, keepalived 2.2.7's behaviour (read in vrrp_sync.c, and what
/// `keepalived_sync_group_reference` shows keepalived doing): n1 (150) and n2 (100) each run
/// VI_A on network a (eth0) and VI_B on network b (eth1) in one sync group.
fn sync_group_scenario(n1: support::Kind, n2: support::Kind) {
    use support::Kind;
    let mut lab = Lab::with_networks(&["n1", "n2"], &[("eth1", 98)]);
    for (node, kind, priority) in [("n1", n1, 150), ("n2", n2, 100)] {
        match kind {
            Kind::Halabd => lab.start_halabd(node, &sync_group_conf(priority)),
            Kind::Keepalived => lab.start_keepalived(node, &sync_group_conf(priority)),
        };
    }
    let down = master_down(100, 0.2);
    let settled = || holds_both(&lab, "n1") && holds_none(&lab, "n2");
    let converged = lab.wait_until(down * 6 + SLACK * 2, || {
        settled() && holds_for(Duration::from_secs(1), settled)
    });
    assert!(
        converged.is_some(),
        "n1 never held both VIPs alone: {}\n{}",
        vip_holders(&lab),
        lab.logs()
    );
    let halabd2 = n2 == Kind::Halabd;
    let states = |lab: &Lab| {
        let s = lab.status("n2");
        (
            s["instances"][0]["state"].clone(),
            s["instances"][1]["state"].clone(),
            s["sync_groups"][0]["state"].clone(),
        )
    };

    // 1. VRRP cut on network a only, at n2: n2's VI_A stops hearing n1 and wants MASTER, but
    //    VI_B still hears n1 on network b: the group stays BACKUP (vrrp_sync_can_goto_master,
    //    "prefer backup state to avoid thrashing"). n1 keeps both VIPs.
    lab.cut_vrrp("n2", "eth0");
    assert!(
        holds_for(down * 5, settled),
        "the group left BACKUP on one cut network: {}\n{}",
        vip_holders(&lab),
        lab.logs()
    );
    if halabd2 {
        assert_eq!(
            states(&lab),
            ("BACKUP".into(), "BACKUP".into(), "BACKUP".into()),
            "{}",
            lab.status("n2")
        );
        let log = lab.daemons[1].log_text();
        assert!(
            log.contains(
                "(VI_A) Receive advertisement timeout; sync group G stays BACKUP while VI_B"
            ),
            "{}",
            lab.logs()
        );
    }

    // 2. Network b cut too: now every member wants MASTER and the group goes MASTER together
    //    (n1, hearing nothing, stays master: both hold the VIPs, a split brain by design).
    lab.cut_vrrp("n2", "eth1");
    let both = lab.wait_until(down * 2 + SLACK, || holds_both(&lab, "n2"));
    assert!(
        both.is_some(),
        "n2's group did not go MASTER: {}\n{}",
        vip_holders(&lab),
        lab.logs()
    );
    if halabd2 {
        assert_eq!(
            states(&lab),
            ("MASTER".into(), "MASTER".into(), "MASTER".into()),
            "{}",
            lab.status("n2")
        );
    }

    // 3. Network b heals, a stays cut: n2's VI_B hears n1's better advert and steps down, and
    //    the group forces VI_A to BACKUP although nothing on network a told it to
    //    (vrrp_sync_backup). VI_A then wants MASTER again, but VI_B does not: n2 holds nothing.
    lab.heal_vrrp("n2", "eth1");
    let released = lab.wait_until(SLACK, || holds_none(&lab, "n2"));
    assert!(
        released.is_some(),
        "n2 kept a VIP after network b healed: {}\n{}",
        vip_holders(&lab),
        lab.logs()
    );
    assert!(
        holds_for(down * 4, || holds_none(&lab, "n2")),
        "n2 took a VIP back: {}\n{}",
        vip_holders(&lab),
        lab.logs()
    );
    assert!(holds_both(&lab, "n1"), "{}", vip_holders(&lab));
    if halabd2 {
        assert_eq!(
            states(&lab),
            ("BACKUP".into(), "BACKUP".into(), "BACKUP".into()),
            "{}",
            lab.status("n2")
        );
        assert!(
            lab.daemons[1]
                .log_text()
                .contains("(VI_A) following its sync group"),
            "{}",
            lab.logs()
        );
    }

    // 4. Network a heals: n1 holds both VIPs, n2 is BACKUP on both, and stays so.
    lab.heal_vrrp("n2", "eth0");
    assert!(
        holds_for(down * 4, settled),
        "not settled after healing: {}\n{}",
        vip_holders(&lab),
        lab.logs()
    );
    if halabd2 {
        assert_eq!(
            states(&lab),
            ("BACKUP".into(), "BACKUP".into(), "BACKUP".into()),
            "{}",
            lab.status("n2")
        );
        let s = lab.status("n2");
        assert_eq!(
            s["instances"][0]["master_address"],
            lab.addr("n1").to_string(),
            "{s}"
        );
    }
}

/// Input: two halabd, sync group {VI_A on network a, VI_B on network b}, n1 150, n2 100;
/// VRRP into n2 cut on a, then on b, b healed, a healed. Output: keepalived's sync group
/// behaviour at each step (see `sync_group_scenario`): n2 stays BACKUP with one network cut,
/// goes MASTER on both when both are cut, and both members step down together when one
/// network heals.
#[test]
fn a_sync_group_moves_master_and_backup_together() {
    sync_group_starved_once(support::Kind::Halabd, support::Kind::Halabd);
}

/// Input: the same with keepalived on n1 and halabd on n2. Output: the same.
#[test]
fn a_sync_group_moves_together_with_keepalived_as_the_peer() {
    sync_group_starved_once(support::Kind::Keepalived, support::Kind::Halabd);
}

/// Input: the same with keepalived on both nodes. Output: the same; this is the reference the
/// halabd tests above are held to.
#[test]
fn keepalived_sync_group_reference() {
    sync_group_starved_once(support::Kind::Keepalived, support::Kind::Keepalived);
}
