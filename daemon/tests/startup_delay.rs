//! keepalived's `vrrp_startup_delay` in a halab-netns lab, halabd and keepalived 2.2.7 as the
//! backup: started before its master (the order in which a backup without the delay takes
//! the VIP for a moment), it never adds the VIP; alone, it still takes over, after the delay
//! plus Master_Down_Interval. Needs root (CI runs as root).

mod support;

use std::time::{Duration, Instant};

use support::{AddrMonitor, Kind, Lab, VIP, instance_conf, master_down};

/// VRRPv3 at 0.1 s: Master_Down_Interval 0.36 s at priority 100.
const ADVERT: &str = "0.1";
const ADVERT_SECS: f64 = 0.1;
/// The backup's vrrp_startup_delay, seconds.
const DELAY_SECS: u64 = 3;
/// How long the backup runs alone before its master starts: longer than its
/// Master_Down_Interval (without the delay it would be master by then), well inside the delay.
const MASTER_LATE: Duration = Duration::from_millis(800);
/// Slack for a loaded machine on top of protocol times (upper bounds only).
const SLACK: Duration = Duration::from_secs(10);

fn delayed_conf(priority: u8) -> String {
    let conf = instance_conf(priority, 3, ADVERT, "");
    let delayed = conf.replacen(
        "    router_id test\n",
        &format!("    router_id test\n    vrrp_startup_delay {DELAY_SECS}\n"),
        1,
    );
    assert_ne!(conf, delayed, "the delay must be in global_defs");
    delayed
}

fn start(lab: &mut Lab, kind: Kind, node: &str, conf: &str) {
    match kind {
        Kind::Halabd => lab.start_halabd(node, conf),
        Kind::Keepalived => lab.start_keepalived(node, conf),
    };
}

/// Input: the backup (priority 100, vrrp_startup_delay 3) started 0.8 s before its master
/// (halabd, priority 150), VRRPv3 0.1 s. Output: the master holds the VIP and `ip monitor` on
/// the backup never saw the VIP added (halabd's API: never became master).
fn backup_started_first_never_adds_the_vip(backup: Kind) {
    let mut lab = Lab::new(&["a", "b"]);
    let monitor = AddrMonitor::start(&lab, "b");
    start(&mut lab, backup, "b", &delayed_conf(100));
    std::thread::sleep(MASTER_LATE);
    lab.start_halabd("a", &instance_conf(150, 3, ADVERT, ""));
    let converged = lab.wait_single_holder(
        "a",
        Duration::from_secs(DELAY_SECS) + master_down(100, ADVERT_SECS) + SLACK,
        Duration::from_secs(1),
    );
    assert!(converged, "a never became the only master\n{}", lab.logs());
    // Past the backup's delay and Master_Down_Interval: nothing may have come late.
    let delay_over = Duration::from_secs(DELAY_SECS) + master_down(100, ADVERT_SECS);
    std::thread::sleep(delay_over.saturating_sub(MASTER_LATE));
    assert_eq!(lab.holders(VIP), ["a"], "{}", lab.logs());
    assert_eq!(
        monitor.added(VIP),
        0,
        "the backup added the VIP at start:\n{}\n{}",
        monitor.text(),
        lab.logs()
    );
    if backup == Kind::Halabd {
        let b = lab.status("b");
        assert_eq!(b["instances"][0]["state"], "BACKUP", "{b}");
        assert_eq!(b["instances"][0]["counters"]["became_master"], 0, "{b}");
        assert_eq!(
            b["instances"][0]["master_address"],
            lab.addr("a").to_string(),
            "{b}"
        );
    }
}

/// Input: the backup alone (vrrp_startup_delay 3, priority 100). Output: it takes the VIP,
/// not before the delay has passed (measured from before it was spawned), and within the
/// delay plus Master_Down_Interval plus slack.
fn alone_it_takes_over_after_delay_plus_master_down(backup: Kind) {
    let mut lab = Lab::new(&["b"]);
    let monitor = AddrMonitor::start(&lab, "b");
    let spawned = Instant::now();
    start(&mut lab, backup, "b", &delayed_conf(100));
    let limit = Duration::from_secs(DELAY_SECS) + master_down(100, ADVERT_SECS) + SLACK;
    let took = lab.wait_until(limit, || monitor.added(VIP) > 0);
    let took = took.map(|_| spawned.elapsed());
    let Some(took) = took else {
        panic!("the backup never took over alone\n{}", lab.logs());
    };
    assert!(
        took >= Duration::from_secs(DELAY_SECS),
        "the backup took over {took:?} after its start, inside its {DELAY_SECS} s delay\n{}",
        lab.logs()
    );
    assert!(lab.has_addr("b", VIP), "{}", lab.logs());
}

#[test]
fn halabd_backup_with_startup_delay_never_adds_the_vip_at_start() {
    backup_started_first_never_adds_the_vip(Kind::Halabd);
}

#[test]
fn keepalived_backup_with_startup_delay_never_adds_the_vip_at_start() {
    backup_started_first_never_adds_the_vip(Kind::Keepalived);
}

#[test]
fn halabd_backup_alone_takes_over_after_its_startup_delay() {
    alone_it_takes_over_after_delay_plus_master_down(Kind::Halabd);
}

#[test]
fn keepalived_backup_alone_takes_over_after_its_startup_delay() {
    alone_it_takes_over_after_delay_plus_master_down(Kind::Keepalived);
}
