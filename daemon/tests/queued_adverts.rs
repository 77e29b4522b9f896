//! Adverts already queued count before timers: a backup that could not run for longer than
//! Master_Down_Interval (starved of CPU on a loaded machine; here frozen with SIGSTOP) finds,
//! when it runs again, both its Master_Down_Timers due and the master's adverts waiting in its
//! socket. It must read the adverts first and stay backup. Needs root (CI runs as root).

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::Lab;

const N: usize = 100;

/// `n` VRRPv3 instances on eth0 at `advert_int 1` (VRIDs 1..=n, one /32 VIP each).
fn config(n: usize, priority: u8) -> String {
    let mut out = String::new();
    for i in 0..n {
        out.push_str(&format!(
            "vrrp_instance VI_{i} {{\n state BACKUP\n interface eth0\n virtual_router_id {}\n version 3\n priority {priority}\n advert_int 1\n virtual_ipaddress {{\n  10.200.0.{}/32 dev eth0\n }}\n}}\n",
            i + 1,
            i + 1
        ));
    }
    out
}

/// Per instance: (state, times it became master), from the API.
fn states(lab: &Lab, node: &str) -> Vec<(String, u64)> {
    lab.status(node)["instances"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|i| {
                    (
                        i["state"].as_str().unwrap_or("").to_owned(),
                        i["counters"]["became_master"].as_u64().unwrap_or(u64::MAX),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Input: halabd on a (priority 101) and b (100), 100 instances each at 1 s, converged (a
/// master of all); b frozen (SIGSTOP) for 5 s, longer than Master_Down_Interval (3.6 s), while
/// a goes on advertising, then thawed (SIGCONT). Output: b becomes master of none of them (its
/// due Master_Down_Timers find the queued adverts read first) and a stays master of all.
#[test]
fn a_backup_that_could_not_run_reads_queued_adverts_before_its_timers_fire() {
    let mut lab = Lab::new(&["a", "b"]);
    lab.halabd_log = "info";
    lab.start_halabd("a", &config(N, 101));
    lab.start_halabd("b", &config(N, 100));
    let all = |list: &[(String, u64)], state: &str| {
        list.len() == N && list.iter().all(|(s, _)| s == state)
    };
    let converged = lab.wait_until(Duration::from_secs(30), || {
        all(&states(&lab, "a"), "MASTER") && all(&states(&lab, "b"), "BACKUP")
    });
    assert!(converged.is_some(), "not converged\n{}", lab.logs());
    // Both start as backup: b may have been master for a moment at start; count from here.
    let before = (states(&lab, "a"), states(&lab, "b"));

    lab.daemons[1].signal(Signal::SIGSTOP);
    std::thread::sleep(Duration::from_secs(5));
    lab.daemons[1].signal(Signal::SIGCONT);
    // Long enough for b to have handled what was due and queued, shorter than a
    // Master_Down_Interval, so nothing later can hide a takeover.
    std::thread::sleep(Duration::from_millis(1500));

    let after = (states(&lab, "a"), states(&lab, "b"));
    let took_over: Vec<usize> = (0..N)
        .filter(|&i| after.1.get(i).map(|x| x.1) != before.1.get(i).map(|x| x.1))
        .collect();
    assert!(
        took_over.is_empty(),
        "b became master of {} instances after its pause (first: VI_{})\n{}",
        took_over.len(),
        took_over.first().copied().unwrap_or(0),
        lab.logs()
    );
    assert!(all(&after.0, "MASTER"), "{:?}\n{}", after.0, lab.logs());
    assert!(all(&after.1, "BACKUP"), "{:?}\n{}", after.1, lab.logs());
    assert_eq!(before.0, after.0, "a's instances moved");
}
