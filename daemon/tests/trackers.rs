//! keepalived's trackers beyond track_script / track_interface, for real: `track_file` (halabd
//! and keepalived 2.2.7 run the same scenario), `vrrp_track_process`, `weight N reverse` and
//! `dont_track_primary`, in network namespaces. Needs root (CI runs as root).

mod support;

use std::process::{Child, Command};
use std::time::Duration;

use support::{Kind, Lab, VIP, instance_conf, master_down};

const FAST: &str = "0.1";
const FAST_SECS: f64 = 0.1;
const SLACK: Duration = Duration::from_secs(3);

fn start(lab: &mut Lab, node: &str, kind: Kind, conf: &str) {
    match kind {
        Kind::Halabd => lab.start_halabd(node, conf),
        Kind::Keepalived => lab.start_keepalived(node, conf),
    };
}

/// `node` alone holds the VIP, for a second on end.
fn settles_on(lab: &Lab, node: &str, within: Duration) -> bool {
    lab.wait_single_holder(node, within, Duration::from_secs(1))
}

/// Input: a (150) tracks a file, weight -60 (value 1: 150 -> 90), b is halabd at 100; the
/// file is written 0, 1, 0. Output: a master, then b (a at 90), then a again: the same with a
/// being halabd or keepalived 2.2.7; halabd's API shows priority 90 while the file holds 1.
fn track_file_scenario(kind: Kind) {
    let mut lab = Lab::new(&["a", "b"]);
    let file = lab.dir.path().join("weight");
    let tracker = format!(
        "track_file tf {{\n    file {}\n    weight -60\n    init_file 0 overwrite\n}}\n",
        file.display()
    );
    let track = "    track_file {\n        tf\n    }\n";
    start(
        &mut lab,
        "a",
        kind,
        &(tracker + &instance_conf(150, 3, FAST, track)),
    );
    lab.start_halabd("b", &instance_conf(100, 3, FAST, ""));
    let down = master_down(100, FAST_SECS) * 4 + SLACK;
    assert!(
        settles_on(&lab, "a", down),
        "a never master\n{}",
        lab.logs()
    );
    std::fs::write(&file, "1\n").expect("write 1");
    assert!(
        settles_on(&lab, "b", down),
        "b never took over\n{}",
        lab.logs()
    );
    if kind == Kind::Halabd {
        let a = lab.status("a");
        assert_eq!(a["instances"][0]["effective_priority"], 90, "{a}");
    }
    std::fs::write(&file, "0\n").expect("write 0");
    assert!(
        settles_on(&lab, "a", down),
        "a never came back\n{}",
        lab.logs()
    );
}

#[test]
fn track_file_moves_the_master_in_halabd() {
    track_file_scenario(Kind::Halabd);
}

/// The reference: keepalived 2.2.7 in a's place.
#[test]
fn track_file_moves_the_master_in_keepalived() {
    track_file_scenario(Kind::Keepalived);
}

/// A process of a name no other process has (comm is at most 15 bytes): a copy of sleep.
struct Sleeper {
    child: Child,
}

impl Sleeper {
    fn start(program: &std::path::Path) -> Self {
        let child = Command::new(program)
            .arg("300")
            .spawn()
            .expect("start the tracked process");
        Self { child }
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Input: a (150) tracks a process by name, weight 0 (absent: FAULT); b is at 100. The
/// process starts, then is killed. Output: a in FAULT while it is absent (b master), master
/// once it runs, FAULT again once it is gone.
#[test]
fn track_process_faults_while_the_process_is_absent() {
    let mut lab = Lab::new(&["a", "b"]);
    let name = format!("htp{}", std::process::id() % 100_000);
    let program = lab.dir.path().join(&name);
    std::fs::copy("/bin/sleep", &program).expect("copy sleep");
    let tracker = format!("vrrp_track_process p {{\n    process {name}\n}}\n");
    let track = "    track_process {\n        p\n    }\n";
    lab.start_halabd("a", &(tracker + &instance_conf(150, 3, FAST, track)));
    lab.start_halabd("b", &instance_conf(100, 3, FAST, ""));
    let down = master_down(100, FAST_SECS) * 4 + SLACK;
    assert!(
        settles_on(&lab, "b", down),
        "b never master\n{}",
        lab.logs()
    );
    assert_eq!(lab.status("a")["instances"][0]["state"], "FAULT");
    let sleeper = Sleeper::start(&program);
    assert!(
        settles_on(&lab, "a", down),
        "a never master\n{}",
        lab.logs()
    );
    drop(sleeper);
    assert!(settles_on(&lab, "b", down), "b never back\n{}", lab.logs());
    assert_eq!(lab.status("a")["instances"][0]["state"], "FAULT");
}

/// Input: a (150) tracks a script with `weight 60 reverse` (succeeding: 150 -> 90) and b is
/// at 100; the script then fails. Output: b master while the script succeeds, a once it fails.
#[test]
fn a_reversed_script_weight_counts_the_other_way() {
    let mut lab = Lab::new(&["a", "b"]);
    let flag = lab.dir.path().join("ok");
    std::fs::write(&flag, "").expect("flag");
    let script = format!(
        "global_defs {{\n    script_user root\n}}\nvrrp_script chk {{\n    script \"/usr/bin/test -f {}\"\n    interval 0.2\n    weight 60 reverse\n}}\n",
        flag.display()
    );
    let track = "    track_script {\n        chk\n    }\n";
    let conf =
        instance_conf(150, 3, FAST, track).replace("global_defs {\n    router_id test\n}\n", "");
    lab.start_halabd("a", &(script + &conf));
    lab.start_halabd("b", &instance_conf(100, 3, FAST, ""));
    let down = master_down(100, FAST_SECS) * 4 + SLACK;
    assert!(
        settles_on(&lab, "b", down),
        "b never master\n{}",
        lab.logs()
    );
    assert_eq!(lab.status("a")["instances"][0]["effective_priority"], 90);
    std::fs::remove_file(&flag).expect("rm flag");
    assert!(
        settles_on(&lab, "a", down),
        "a never master\n{}",
        lab.logs()
    );
    assert_eq!(lab.status("a")["instances"][0]["effective_priority"], 150);
}

/// Input: a lone master with `dont_track_primary` loses its link (its bridge port goes
/// down). Output: it stays MASTER and keeps its VIP (keepalived ignores the interface), where
/// without the option it goes to FAULT (netns.rs link_down test).
#[test]
fn dont_track_primary_ignores_the_link_going_down() {
    let mut lab = Lab::new(&["a"]);
    lab.start_halabd(
        "a",
        &instance_conf(150, 3, FAST, "    dont_track_primary\n"),
    );
    let master = lab.wait_until(master_down(150, FAST_SECS) * 4 + SLACK, || {
        lab.status("a")["instances"][0]["state"] == "MASTER"
    });
    assert!(master.is_some(), "{}", lab.logs());
    lab.set_port("a", false);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        lab.status("a")["instances"][0]["state"],
        "MASTER",
        "{}",
        lab.logs()
    );
    assert!(lab.has_addr("a", VIP));
    lab.set_port("a", true);
}
