//! End-to-end: a `preempt: false` lab (seed003: lb-a 150, lb-b 100, both BACKUP, a sync group)
//! ends with its top priority holding the VIPs whatever the timing: an engine counts as
//! started once it listens, and a restore hands the VIPs back to the top (issue #17).

mod common;

use std::time::{Duration, Instant};

use common::{TestLab, heavy, labs_dir, options};
use halab::lab::Lab;
use halab::lab::model::ScriptFile;
use halab::observe;
use halab::scenario::session::{self, EngineChoice};
use halab::services::{self, Service, Stop};

fn seed003_halabd(lab: &mut Lab) {
    EngineChoice::Halabd.apply(lab);
}

/// The nodes holding each of the lab's VIPs, once each holds all of them on one node, or
/// what was seen last at the deadline.
fn holders_within(t: &TestLab, within: Duration) -> (Vec<Vec<String>>, Duration) {
    let fleet = t.fleet();
    let start = Instant::now();
    loop {
        let h: Vec<Vec<String>> = observe::vip_holders(&t.lab, fleet.as_ref())
            .into_values()
            .collect();
        let settled = h.iter().all(|n| n.len() == 1) && h.windows(2).all(|w| w[0] == w[1]);
        if settled && (h[0] == ["lb-b"] || start.elapsed() >= within) {
            return (h, start.elapsed());
        }
        if start.elapsed() >= within {
            return (h, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Input: seed003 with `engine`, its track script's first run taking 1 s (a weight-0 script
/// that has not run holds its instance in INIT, deaf to adverts), and lb-a's engine stopped
/// the moment `up` returns. Output: lb-b heard lb-a's priority-0 advert and holds both VIPs
/// within a skew time (0.61 s), not after its own master-down interval (3.61 s after it
/// left INIT): `up` returned only once lb-b's engine had started its instances.
fn started_once_it_listens(engine: EngineChoice, service: Service) {
    let t = TestLab::up(&labs_dir().join("seed003/lab.yaml"), |lab| {
        engine.apply(lab);
        let s = lab
            .scripts
            .iter_mut()
            .find(|s| s.name == "chk_haproxy")
            .expect("seed003 tracks haproxy");
        s.script = "/etc/keepalived/chk_slow.sh".into();
        s.file = Some(ScriptFile {
            path: s.script.clone(),
            content: "#!/bin/sh\nsleep 1\nexec killall -0 haproxy\n".into(),
        });
    });
    services::stop(&t.machine("lb-a"), service, Stop::Graceful).expect("stop lb-a");
    let (h, after) = holders_within(&t, Duration::from_secs(6));
    assert!(
        h.iter().all(|n| n == &["lb-b"]) && after < Duration::from_millis(2000),
        "lb-b should hold every VIP within 2 s of lb-a's priority 0, saw {h:?} after {after:?}"
    );
}

#[test]
fn a_halabd_engine_counts_as_started_once_it_listens() {
    let _g = heavy();
    started_once_it_listens(EngineChoice::Halabd, Service::Halabd);
}

#[test]
fn a_keepalived_engine_counts_as_started_once_it_listens() {
    let _g = heavy();
    started_once_it_listens(EngineChoice::Keepalived, Service::Keepalived);
}

/// Input: seed003 with halabd left as a scenario that failed half-way leaves it: lb-a's
/// engine stopped, lb-b took the VIPs, lb-a's engine started again (BACKUP: nopreempt).
/// Output: `restore` hands the VIPs back to lb-a, as after `up`, and both engines run.
#[test]
fn a_restore_hands_the_vips_back_to_the_top_priority() {
    let _g = heavy();
    let t = TestLab::up(&labs_dir().join("seed003/lab.yaml"), seed003_halabd);
    let halabd = options(t.state_root.path())
        .halabd
        .to_string_lossy()
        .to_string();
    let a = t.machine("lb-a");
    services::stop(&a, Service::Halabd, Stop::Graceful).expect("stop lb-a");
    let (h, _) = holders_within(&t, Duration::from_secs(10));
    assert!(h.iter().all(|n| n == &["lb-b"]), "lb-b took over: {h:?}");
    services::start(&a, Service::Halabd, &halabd).expect("start lb-a");
    // Past lb-a's master-down interval: nopreempt, lb-b keeps them.
    std::thread::sleep(Duration::from_secs(4));
    let (h, _) = holders_within(&t, Duration::ZERO);
    assert!(
        h.iter().all(|n| n == &["lb-b"]),
        "nopreempt kept lb-b: {h:?}"
    );

    session::restore(&t.lab, t.fleet().as_ref(), &halabd).expect("restore");
    let (h, _) = holders_within(&t, Duration::ZERO);
    assert!(
        h.iter().all(|n| n == &["lb-a"]),
        "restore should leave every VIP on lb-a (150), saw {h:?}"
    );
    for node in ["lb-a", "lb-b"] {
        assert!(
            services::running_pid(&t.machine(node), Service::Halabd).is_some(),
            "{node}'s halabd runs after the restore"
        );
    }
}
