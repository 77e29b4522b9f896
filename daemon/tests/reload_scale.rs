//! SIGHUP reload at scale: two halabd with 200 VRRPv3 instances each; one instance's priority
//! changes on the master and it is reloaded. Needs root (CI runs as root). The 1000-instance
//! figure is the scale benchmark's (`benches/scale.rs --reload`).

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::Lab;

const N: usize = 200;
/// The instance whose configuration changes.
const CHANGED: usize = 7;

/// `n` instances on eth0 (VRIDs 1..=n, one /32 VIP each, 10.200.0.0/16); `changed` gets
/// `changed_priority` instead of `priority`.
fn config(n: usize, priority: u8, changed_priority: u8) -> String {
    let mut out = String::new();
    for i in 0..n {
        let p = if i == CHANGED {
            changed_priority
        } else {
            priority
        };
        out.push_str(&format!(
            "vrrp_instance VI_{i} {{\n state BACKUP\n interface eth0\n virtual_router_id {}\n version 3\n priority {p}\n advert_int 1\n virtual_ipaddress {{\n  {} dev eth0\n }}\n}}\n",
            i + 1,
            vip(i)
        ));
    }
    out
}

fn vip(i: usize) -> String {
    format!("10.200.{}.{}/32", i / 250, i % 250 + 1)
}

/// `ip monitor address` in a node, killed on drop.
struct Monitor {
    child: Child,
    out: std::path::PathBuf,
}

impl Monitor {
    fn start(lab: &Lab, node: &str) -> Self {
        let out = lab.dir.path().join(format!("{node}-monitor.txt"));
        let file = std::fs::File::create(&out).expect("monitor file");
        let child = Command::new("ip")
            .args(["-n", &lab.ns(node), "monitor", "address"])
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("ip monitor");
        Self { child, out }
    }

    /// (added, deleted) VIP lines so far, as `a.b.c.d/32`.
    fn events(&self) -> (Vec<String>, Vec<String>) {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let mut added = Vec::new();
        let mut deleted = Vec::new();
        for line in text.lines().filter(|l| l.contains(" inet 10.200.")) {
            let Some(addr) = line.split_whitespace().skip_while(|w| *w != "inet").nth(1) else {
                continue;
            };
            if line.starts_with("Deleted") {
                deleted.push(addr.to_owned());
            } else {
                added.push(addr.to_owned());
            }
        }
        (added, deleted)
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

fn vips_on(lab: &Lab, node: &str) -> usize {
    let out = lab.exec(node, &["ip", "-4", "-o", "addr", "show"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(" inet 10.200."))
        .count()
}

/// Per instance: (state, transitions), from the API.
fn states(lab: &Lab, node: &str) -> Vec<(String, u64)> {
    let status = lab.status(node);
    status["instances"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|i| {
                    (
                        i["state"].as_str().unwrap_or("").to_owned(),
                        i["counters"]["transitions"].as_u64().unwrap_or(u64::MAX),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Input: halabd on a (priority 101) and b (100), 200 VRRPv3 instances each at 1 s, converged
/// (a holds the 200 VIPs); then a's configuration gives VI_7 priority 90 and a gets SIGHUP.
/// Output: VI_7 moves to b (the reload took effect, and the monitors saw it); the other 199
/// make no transition on either node, a deletes none of their VIPs and b adds none.
#[test]
fn sighup_of_a_200_instance_config_with_one_change_moves_only_that_one() {
    let mut lab = Lab::new(&["a", "b"]);
    lab.halabd_log = "info";
    lab.start_halabd("a", &config(N, 101, 101));
    lab.start_halabd("b", &config(N, 100, 100));
    let converged = lab.wait_until(Duration::from_secs(30), || {
        vips_on(&lab, "a") == N && vips_on(&lab, "b") == 0
    });
    assert!(
        converged.is_some(),
        "a holds {} and b {} of {N} VIPs\n{}",
        vips_on(&lab, "a"),
        vips_on(&lab, "b"),
        lab.logs()
    );
    let monitor_a = Monitor::start(&lab, "a");
    let monitor_b = Monitor::start(&lab, "b");
    std::thread::sleep(Duration::from_millis(500));
    let before = (states(&lab, "a"), states(&lab, "b"));
    assert_eq!(before.0.len(), N, "{}", lab.logs());
    assert!(
        before.0.iter().all(|(s, _)| s == "MASTER") && before.1.iter().all(|(s, _)| s == "BACKUP"),
        "{before:?}"
    );

    std::fs::write(&lab.daemons[0].conf, config(N, 101, 90)).expect("rewrite");
    let reloaded_at = Instant::now();
    lab.daemons[0].signal(Signal::SIGHUP);
    let moved = lab.wait_until(Duration::from_secs(15), || {
        lab.status("a")["daemon"]["reloads"] == 1
            && states(&lab, "b")
                .get(CHANGED)
                .is_some_and(|(s, _)| s == "MASTER")
    });
    assert!(moved.is_some(), "VI_7 did not move to b\n{}", lab.logs());
    // Several advert intervals after the reload: anything the reload disturbed shows by now.
    let settle = Duration::from_secs(3).saturating_sub(reloaded_at.elapsed());
    std::thread::sleep(settle);
    let after = (states(&lab, "a"), states(&lab, "b"));
    let (added_a, deleted_a) = monitor_a.events();
    let (added_b, deleted_b) = monitor_b.events();
    let changed_vip = vip(CHANGED);
    assert!(
        added_b.contains(&changed_vip) && deleted_a.contains(&changed_vip),
        "the monitors missed VI_7 moving: a deleted {deleted_a:?}, b added {added_b:?}"
    );
    for i in (0..N).filter(|&i| i != CHANGED) {
        assert_eq!(before.0[i], after.0[i], "VI_{i} on a\n{}", lab.logs());
        assert_eq!(before.1[i], after.1[i], "VI_{i} on b\n{}", lab.logs());
    }
    let others = |list: &[String]| -> Vec<String> {
        list.iter()
            .filter(|v| **v != changed_vip)
            .cloned()
            .collect()
    };
    assert_eq!(others(&deleted_a), Vec::<String>::new(), "a deleted VIPs");
    assert_eq!(others(&added_a), Vec::<String>::new(), "a added VIPs");
    assert_eq!(others(&added_b), Vec::<String>::new(), "b added VIPs");
    assert_eq!(others(&deleted_b), Vec::<String>::new(), "b deleted VIPs");
    assert_eq!(vips_on(&lab, "a"), N - 1);
    assert_eq!(vips_on(&lab, "b"), 1);
}
