//! End-to-end: `halab chaos` on real labs. A short seeded run on seed000 finds nothing and
//! reports what it did; a deliberately broken lab is caught, and its finding shrunk to a
//! scenario file with the one fault that matters, which `halab test` then fails on; the same
//! broken lab is caught with `--engine mixed`, and over ssh on the test bed with each engine
//! (keepalived, halabd, mixed: the ssh lab file's `engine` fields).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::bed::Bed;
use common::{heavy, labs_dir, state_root, unique_lab};
use halab::chaos::schedule::{Episode, FaultKind, Generator};

fn halab(state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_halab"))
        .args(args)
        .env("HALAB_STATE_DIR", state)
        .output()
        .expect("run halab")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// seed000 under another name (and whatever `edit` changes), in a temporary directory.
fn lab_copy(dir: &Path, tag: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let orig = std::fs::read_to_string(labs_dir().join("seed000/lab.yaml")).expect("seed000");
    let renamed = orig.replacen("name: seed000", &format!("name: {}", unique_lab(tag)), 1);
    let path = dir.join("lab.yaml");
    std::fs::write(&path, edit(renamed)).expect("write lab");
    path
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "chaos --json printed no JSON ({e}):\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// Input: seed000 as shipped, 8 episodes of seed 42 with keepalived. Output: exit 0, no
/// finding, the 8 episodes the generator draws for that seed, in order, each with the
/// outage the probe measured, and nothing of the lab left behind.
#[test]
fn a_short_run_on_seed000_finds_nothing_and_says_what_it_did() {
    let _g = heavy();
    let state = state_root("chaos-ok");
    let dir = tempfile::tempdir().expect("tmp");
    let lab_file = lab_copy(dir.path(), "chok", |t| t);
    let out = halab(
        state.path(),
        &[
            "chaos",
            lab_file.to_str().expect("utf-8"),
            "--faults",
            "8",
            "--seed",
            "42",
            "--json",
            "--out",
            dir.path().join("out").to_str().expect("utf-8"),
        ],
    );
    let r = json(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        serde_json::to_string_pretty(&r["episodes"]).unwrap_or_default(),
        text(&out.stderr)
    );
    let lab = halab::lab::load(&lab_file).expect("lab");
    let want: Vec<Episode> = Generator::new(&lab, 42).take(8);
    let got: Vec<Episode> = r["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .map(|e| serde_json::from_value(e["episode"].clone()).expect("episode"))
        .collect();
    assert_eq!(got, want);
    for e in r["episodes"].as_array().expect("episodes") {
        assert!(e["findings"].as_array().is_some_and(Vec::is_empty), "{e:#}");
        assert!(e["outage_during_ms"].is_u64(), "{e:#}");
    }
    assert!(r["faults_per_minute"].as_f64().is_some_and(|f| f > 0.0));
    assert!(!r["longest_outage"].as_object().expect("map").is_empty());
    // The instance is gone: no state dir left.
    let left: Vec<_> = std::fs::read_dir(state.path())
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// The first seed whose episode 0 is one harmless fault (not a tracked kill) and whose
/// episode 1 kills haproxy on loadbalance1.
fn seed_with_tracked_kill_second(lab: &halab::lab::Lab) -> u64 {
    (0..10_000)
        .find(|&s| {
            let e = Generator::new(lab, s).take(2);
            e[0].faults.len() == 1
                && e[0].faults[0].kind != FaultKind::TrackedKill
                && e[1].faults[0].kind == FaultKind::TrackedKill
                && e[1].faults[0].node.as_deref() == Some("loadbalance1")
        })
        .expect("a seed")
}

/// seed000's edit that breaks it: loadbalance1's priority 110, so its track script's weight
/// (2) can no longer take it below loadbalance2 (100 + 2).
fn master_keeps_the_vip_without_haproxy(t: String) -> String {
    let edited = t.replace(
        "priorities: { loadbalance1: 101, loadbalance2: 100 }",
        "priorities: { loadbalance1: 110, loadbalance2: 100 }",
    );
    assert_ne!(edited, t, "the edit took");
    edited
}

/// The episodes of a chaos `--json` report that found something, by number, and the first
/// finding's invariant of each.
fn found(r: &serde_json::Value) -> Vec<(u64, String)> {
    r["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .filter(|e| e["findings"].as_array().is_some_and(|f| !f.is_empty()))
        .map(|e| {
            (
                e["number"].as_u64().expect("number"),
                e["findings"][0]["invariant"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// Input: seed000 with the master's priority raised to 110: its track script's weight (2)
/// can no longer take it below loadbalance2 (100 + 2), so when haproxy dies on it the VIP
/// stays on a node that cannot serve. Two episodes, the second a kill of haproxy on
/// loadbalance1. Output: exit 1, "client served" broken at fault 1, a replay file with both
/// faults, a shrunk file with that one kill alone, and `halab test` of the shrunk file
/// failing on the same outage.
#[test]
fn a_broken_lab_is_caught_and_shrunk_to_the_fault_that_matters() {
    let _g = heavy();
    let state = state_root("chaos-bad");
    let dir = tempfile::tempdir().expect("tmp");
    let lab_file = lab_copy(dir.path(), "chbd", |t| {
        t.replace(
            "priorities: { loadbalance1: 101, loadbalance2: 100 }",
            "priorities: { loadbalance1: 110, loadbalance2: 100 }",
        )
    });
    let lab = halab::lab::load(&lab_file).expect("lab");
    assert_eq!(lab.vrrp[0].members[0].priority, 110, "the edit took");
    let seed = seed_with_tracked_kill_second(&lab);
    let out_dir = dir.path().join("out");
    let out = halab(
        state.path(),
        &[
            "chaos",
            lab_file.to_str().expect("utf-8"),
            "--faults",
            "2",
            "--seed",
            &seed.to_string(),
            "--json",
            "--shrink-budget",
            "4",
            "--out",
            out_dir.to_str().expect("utf-8"),
        ],
    );
    let r = json(&out);
    assert_eq!(out.status.code(), Some(1), "{r:#}\n{}", text(&out.stderr));
    let eps = r["episodes"].as_array().expect("episodes");
    assert_eq!(eps.len(), 2, "stops at the finding: {r:#}");
    assert!(
        eps[0]["findings"].as_array().is_some_and(Vec::is_empty),
        "{r:#}"
    );
    assert_eq!(eps[1]["findings"][0]["invariant"], "client_served", "{r:#}");
    let sh = &r["shrink"];
    assert_eq!(sh["invariant"], "client_served", "{r:#}");
    assert_eq!(sh["reproduced"], true, "{r:#}");
    assert_eq!(sh["episodes"], serde_json::json!([1]), "{r:#}");
    assert_eq!(sh["faults"], 1, "{r:#}");
    let replay =
        std::fs::read_to_string(sh["replay_file"].as_str().expect("path")).expect("replay");
    assert!(
        replay.contains("# fault 0:") && replay.contains("# fault 1:"),
        "{replay}"
    );
    let shrunk_path = sh["shrunk_file"].as_str().expect("path").to_string();
    let shrunk = std::fs::read_to_string(&shrunk_path).expect("shrunk");
    assert!(!shrunk.contains("# fault 0:"), "{shrunk}");
    assert!(
        shrunk.contains("  - kill: { node: loadbalance1, service: haproxy }"),
        "{shrunk}"
    );
    // Only the kill and its repair act on a daemon.
    let actions = shrunk
        .lines()
        .filter(|l| {
            [
                "  - kill:",
                "  - stop:",
                "  - freeze:",
                "  - partition:",
                "  - loss:",
                "  - link_down:",
                "  - reload:",
            ]
            .iter()
            .any(|a| l.starts_with(a))
        })
        .count();
    assert_eq!(actions, 1, "{shrunk}");
    // The shrunk file is a scenario `halab test` runs, and fails on the same outage.
    let t = halab(
        state.path(),
        &["test", lab_file.to_str().expect("utf-8"), &shrunk_path],
    );
    assert_eq!(
        t.status.code(),
        Some(1),
        "{}\n{}",
        text(&t.stdout),
        text(&t.stderr)
    );
    assert!(text(&t.stdout).contains("outage"), "{}", text(&t.stdout));
}

/// Input: seed000 with halabd, seed 5's first 4 episodes (a partition, a crash, a reload,
/// then a crash of loadbalance1 overlapping 40% VRRP loss: the episode whose settled moment
/// used to disagree), each run again through halab-sim (`--differential`). Output: exit 0,
/// every episode compared, and the simulator's VIP holders the lab's at both moments. A
/// mapping that drops a fault (the partition mapped to nothing) makes the simulator keep the
/// VIP on loadbalance1 alone while the lab has both holders in force: a difference (tried).
#[test]
fn the_simulator_predicts_the_lab_s_vip_holders() {
    let _g = heavy();
    let state = state_root("chaos-diff");
    let dir = tempfile::tempdir().expect("tmp");
    let lab_file = lab_copy(dir.path(), "chdf", |t| t);
    let out = halab(
        state.path(),
        &[
            "chaos",
            lab_file.to_str().expect("utf-8"),
            "--engine",
            "halabd",
            "--faults",
            "4",
            "--seed",
            "5",
            "--differential",
            "--json",
            "--out",
            dir.path().join("out").to_str().expect("utf-8"),
        ],
    );
    let r = json(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}\n{}", text(&out.stderr));
    let eps = r["episodes"].as_array().expect("episodes");
    assert_eq!(eps.len(), 4, "{r:#}");
    assert_eq!(eps[3]["kind"], "crash+vrrp_loss", "{r:#}");
    for e in eps {
        let d = e["differences"].as_array().unwrap_or_else(|| {
            panic!("episode {} not compared: {e:#}", e["number"]);
        });
        assert!(d.is_empty(), "the simulator and the lab differ: {e:#}");
    }
}

/// Input: the broken seed000 (priority 110, see above) with `--engine mixed` (loadbalance1
/// keepalived, loadbalance2 halabd), two episodes, the second a kill of haproxy on
/// loadbalance1. Output: exit 1, the engine reported as mixed, "client served" broken at
/// fault 1 only, and the shrink reproducing it with that kill alone.
#[test]
fn mixed_engines_catch_the_broken_lab() {
    let _g = heavy();
    let state = state_root("chaos-mixed");
    let dir = tempfile::tempdir().expect("tmp");
    let lab_file = lab_copy(dir.path(), "chmx", master_keeps_the_vip_without_haproxy);
    let lab = halab::lab::load(&lab_file).expect("lab");
    let seed = seed_with_tracked_kill_second(&lab);
    let out = halab(
        state.path(),
        &[
            "chaos",
            lab_file.to_str().expect("utf-8"),
            "--engine",
            "mixed",
            "--faults",
            "2",
            "--seed",
            &seed.to_string(),
            "--json",
            "--shrink-budget",
            "2",
            "--out",
            dir.path().join("out").to_str().expect("utf-8"),
        ],
    );
    let r = json(&out);
    assert_eq!(out.status.code(), Some(1), "{r:#}\n{}", text(&out.stderr));
    assert!(
        r["engine"].as_str().is_some_and(|e| e.starts_with("mixed")),
        "{r:#}"
    );
    assert_eq!(found(&r), vec![(1, "client_served".to_string())], "{r:#}");
    assert_eq!(r["shrink"]["reproduced"], true, "{r:#}");
    assert_eq!(r["shrink"]["episodes"], serde_json::json!([1]), "{r:#}");
}

/// The VRRP engines of an ssh lab: the lab file's `engine` fields, as `halab up` reads them
/// (`halab up` has no `--engine`; `halab chaos` on a running lab takes none either).
#[derive(Clone, Copy)]
enum SshEngines {
    /// No `engine` field: keepalived on both LBs.
    Keepalived,
    /// `engine: halabd` at the top: halabd on both.
    Halabd,
    /// `engine: halabd` on loadbalance2 alone (what `--engine mixed` does on netns).
    Mixed,
}

impl SshEngines {
    fn edit(self, t: String) -> String {
        let edited = match self {
            SshEngines::Keepalived => return t,
            SshEngines::Halabd => {
                t.replacen("\nprovider: ssh\n", "\nprovider: ssh\nengine: halabd\n", 1)
            }
            SshEngines::Mixed => t.replacen(
                "router_id: haproxy2,",
                "router_id: haproxy2, engine: halabd,",
                1,
            ),
        };
        assert_ne!(edited, t, "the engine edit took");
        edited
    }

    /// The engine chaos reports, and each LB's VRRP daemon.
    fn expected(self) -> (&'static str, [(&'static str, &'static str); 2]) {
        match self {
            SshEngines::Keepalived => (
                "keepalived",
                [
                    ("loadbalance1", "keepalived"),
                    ("loadbalance2", "keepalived"),
                ],
            ),
            SshEngines::Halabd => (
                "halabd",
                [("loadbalance1", "halabd"), ("loadbalance2", "halabd")],
            ),
            SshEngines::Mixed => (
                "mixed: loadbalance1 keepalived, loadbalance2 halabd",
                [("loadbalance1", "keepalived"), ("loadbalance2", "halabd")],
            ),
        }
    }
}

/// Input: the broken seed000 as an ssh lab (labs/seed000/ssh.yaml, priority 110) with
/// `engines`, brought up over ssh on the test bed; `halab chaos` from the bed's control
/// namespace on the running lab, two episodes of a seed whose second kills haproxy on
/// loadbalance1. Output: exit 1, the engines reported as the lab file gives them, both
/// episodes run over ssh (their outages measured by the client host's probe), "client
/// served" broken at fault 1 only, the shrink reproducing it with that kill alone, no cable
/// cut drawn, and the lab still up afterwards (chaos leaves a running lab running), each LB
/// running its engine's daemon and not the other's.
fn chaos_over_ssh_catches_the_broken_lab_with(tag: &str, engines: SshEngines) {
    let mut bed = Bed::seed000(tag, |t| {
        engines.edit(master_keeps_the_vip_without_haproxy(t))
    });
    let out = bed.up();
    assert!(
        out.status.success(),
        "testbed up: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let file = bed.file.to_string_lossy().into_owned();
    let up = bed.remote(None, &["up", &file]);
    assert!(
        up.status.success(),
        "up over ssh: {}{}",
        text(&up.stdout),
        text(&up.stderr)
    );
    let lab = halab::lab::load(&bed.file).expect("lab");
    let seed = seed_with_tracked_kill_second(&lab);
    let out_dir = bed.files.path().join("out");
    let out = bed.remote(
        None,
        &[
            "chaos",
            &file,
            "--faults",
            "2",
            "--seed",
            &seed.to_string(),
            "--json",
            "--shrink-budget",
            "2",
            "--out",
            out_dir.to_str().expect("utf-8"),
        ],
    );
    let r = json(&out);
    assert_eq!(out.status.code(), Some(1), "{r:#}\n{}", text(&out.stderr));
    let (label, daemons) = engines.expected();
    assert_eq!(r["engine"], label, "{r:#}");
    let eps = r["episodes"].as_array().expect("episodes");
    assert_eq!(eps.len(), 2, "{r:#}");
    for e in eps {
        assert!(e["outage_during_ms"].is_u64(), "{e:#}");
        assert_ne!(e["kind"], "cable_cut", "{e:#}");
    }
    assert_eq!(found(&r), vec![(1, "client_served".to_string())], "{r:#}");
    assert_eq!(r["shrink"]["reproduced"], true, "{r:#}");
    assert_eq!(r["shrink"]["episodes"], serde_json::json!([1]), "{r:#}");
    let st = bed.remote(None, &["status", &file]);
    assert!(
        st.status.success(),
        "status after chaos: {}{}",
        text(&st.stdout),
        text(&st.stderr)
    );
    for (node, daemon) in daemons {
        let other = if daemon == "halabd" {
            "keepalived"
        } else {
            "halabd"
        };
        let script = format!(
            "kill -0 \"$(cat /run/{daemon}.pid)\" && echo {daemon}; test -e /run/{other}.pid && echo {other}"
        );
        let ps = bed.exec(node, &["sh", "-c", &script]);
        assert_eq!(
            text(&ps.stdout).trim(),
            daemon,
            "{node}'s VRRP daemon after chaos: {}",
            text(&ps.stderr)
        );
    }
}

#[test]
fn chaos_over_ssh_catches_the_broken_lab() {
    let _g = heavy();
    chaos_over_ssh_catches_the_broken_lab_with("chs", SshEngines::Keepalived);
}

#[test]
fn chaos_over_ssh_with_halabd_catches_the_broken_lab() {
    let _g = heavy();
    chaos_over_ssh_catches_the_broken_lab_with("chsh", SshEngines::Halabd);
}

#[test]
fn chaos_over_ssh_with_mixed_engines_catches_the_broken_lab() {
    let _g = heavy();
    chaos_over_ssh_catches_the_broken_lab_with("chsm", SshEngines::Mixed);
}
