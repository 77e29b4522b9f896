//! The `halab` binary end to end, as an operator types it: up, status, curl, exec, a second
//! up, down, with the documented exit codes. State lives in a per-test dir under /run.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::heavy;

struct Cli {
    state: tempfile::TempDir,
    dir: tempfile::TempDir,
    name: String,
}

impl Cli {
    fn new(lab: &str) -> Cli {
        let dir = tempfile::tempdir().expect("tempdir");
        let name = common::unique_lab("c");
        let text =
            std::fs::read_to_string(common::labs_dir().join(lab).join("lab.yaml")).expect("lab");
        let text = text.replacen(&format!("name: {lab}"), &format!("name: {name}"), 1);
        std::fs::write(dir.path().join("lab.yaml"), text).expect("write lab");
        let state = common::state_root("halab-cli-");
        Cli { state, dir, name }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_halab"))
            .args(args)
            .env("HALAB_STATE_DIR", self.state.path())
            .output()
            .expect("run halab")
    }

    fn lab(&self) -> String {
        self.dir.path().to_string_lossy().to_string()
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = self.run(&["down", &self.lab()]);
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn up_status_curl_exec_reup_down_as_an_operator_types_them() {
    let _g = heavy();
    let c = Cli::new("minimal");
    let lab = c.lab();
    let up = c.run(&["up", &lab]);
    assert_eq!(up.status.code(), Some(0), "{}", text(&up));
    let out = text(&up);
    for stage in [
        "render",
        "check configs",
        "namespaces and links",
        "start daemons",
        "ready",
    ] {
        assert!(
            out.contains(stage),
            "up did not report stage {stage}: {out}"
        );
    }

    let st = c.run(&["status", &lab, "--json"]);
    assert_eq!(st.status.code(), Some(0), "{}", text(&st));
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).expect("status JSON");
    let vip = &v["vips"][0];
    assert_eq!(vip["holders"], serde_json::json!(["lb1"]), "{v:#}");
    let lb1 = v["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["name"] == "lb1")
        .expect("lb1");
    assert_eq!(lb1["vrrp"][0]["state"], "MASTER", "{lb1:#}");
    assert_eq!(lb1["vrrp"][0]["consistent"], true);
    let lb2 = v["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["name"] == "lb2")
        .expect("lb2");
    assert_eq!(lb2["vrrp"][0]["state"], "BACKUP", "{lb2:#}");

    // doctor with the lab up: its namespaces are a running lab's, not leftovers; every tool
    // shows a version.
    let doc = c.run(&["doctor", "--json"]);
    let probes: serde_json::Value = serde_json::from_slice(&doc.stdout).expect("doctor JSON");
    let probes = probes.as_array().expect("probes");
    let probe = |name: &str| {
        probes
            .iter()
            .find(|p| p["name"].as_str().is_some_and(|n| n.starts_with(name)))
            .unwrap_or_else(|| panic!("no probe {name}: {probes:?}"))
    };
    let left = probe("leftover lab namespaces")["detail"]
        .as_str()
        .unwrap_or("");
    assert!(
        !left.contains(&format!("halab-{}", c.name)),
        "the running lab's namespaces are called leftovers: {left}"
    );
    assert!(
        probe("running labs")["detail"]
            .as_str()
            .unwrap_or("")
            .contains(&c.name),
        "{probes:?}"
    );
    let procps = probe("procps")["detail"].as_str().unwrap_or("");
    assert!(
        procps
            .split_once(": ")
            .is_some_and(|(_, v)| !v.trim().is_empty()),
        "procps shows no version: {procps}"
    );

    let curl = c.run(&["curl", &lab, "-n", "6"]);
    assert_eq!(curl.status.code(), Some(0), "{}", text(&curl));
    let out = String::from_utf8_lossy(&curl.stdout).to_string();
    assert!(
        out.contains("3 x 200 web1") && out.contains("3 x 200 web2"),
        "{out}"
    );

    let ex = c.run(&["exec", &lab, "lb2", "--", "hostname"]);
    assert_eq!(String::from_utf8_lossy(&ex.stdout).trim(), "lb2");
    let ex = c.run(&["exec", &lab, "lb2", "--", "sh", "-c", "exit 7"]);
    assert_eq!(
        ex.status.code(),
        Some(7),
        "exec passes the command's exit code through"
    );
    let ex = c.run(&["exec", &lab, "lb9", "--", "true"]);
    assert_eq!(
        ex.status.code(),
        Some(2),
        "an unknown node is bad input: {}",
        text(&ex)
    );

    let again = c.run(&["up", &lab]);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again).contains("0 changes"), "{}", text(&again));

    let down = c.run(&["down", &lab]);
    assert_eq!(down.status.code(), Some(0), "{}", text(&down));
    assert!(!c.state.path().join(&c.name).exists());
    let down = c.run(&["down", &lab]);
    assert_eq!(
        down.status.code(),
        Some(0),
        "down is idempotent: {}",
        text(&down)
    );
    let st = c.run(&["status", &lab]);
    assert_eq!(
        st.status.code(),
        Some(3),
        "status of a lab that is not up is a lab error"
    );
}

#[test]
fn bad_input_exits_2_and_changes_nothing() {
    let c = Cli::new("minimal");
    let bad = Path::new(&c.lab()).join("lab.yaml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&bad)
            .expect("read")
            .replace("vrid: 51", "vrid: 300"),
    )
    .expect("write");
    // Only this lab's namespaces: other tests run beside this one and make their own.
    let ours = || -> Vec<String> {
        let prefix = format!("halab-{}", c.name);
        common::netns_list()
            .into_iter()
            .filter(|n| n.starts_with(&prefix))
            .collect()
    };
    let before = ours();
    let up = c.run(&["up", &c.lab()]);
    assert_eq!(up.status.code(), Some(2), "{}", text(&up));
    assert!(
        text(&up).contains("vrid 300 is outside 1..255"),
        "{}",
        text(&up)
    );
    assert_eq!(ours(), before);
    assert!(before.is_empty(), "{before:?}");
    assert!(!c.state.path().join(&c.name).exists());
}

#[test]
fn doctor_lists_every_probe() {
    let c = Cli::new("minimal");
    let d = c.run(&["doctor"]);
    let out = text(&d);
    for p in [
        "root",
        "haproxy",
        "nginx",
        "keepalived",
        "nftables",
        "leftover lab namespaces",
        "systemd hosts (testbed --systemd)",
        "VMs: KVM",
        "VM hosts (testbed --vm, qemu)",
        "provider: vagrant (halab provider)",
    ] {
        assert!(out.contains(p), "{out}");
    }
}

/// Input: `halab test` over a directory of labs (a suite) with arguments that cannot run.
/// Output: exit code 2 (bad input) and a message naming the problem, before any lab is up.
#[test]
fn a_suite_refuses_bad_arguments_before_anything_runs() {
    let cli = Cli::new("minimal");
    let labs = common::labs_dir().to_string_lossy().to_string();
    for (args, needle) in [
        (vec!["--jobs", "0"], "--jobs 0 runs nothing"),
        (
            vec!["--engine", "keepalived,bogus"],
            "unknown engine `bogus`",
        ),
        (vec!["--keep"], "--keep keeps one lab"),
        (
            vec!["no-such-scenario"],
            "no scenario `no-such-scenario` in any of the labs",
        ),
    ] {
        let mut all = vec!["test", labs.as_str(), "--engine", "keepalived,halabd"];
        if args[0] == "--engine" {
            all.truncate(2);
        }
        all.extend(args.iter().copied());
        let out = cli.run(&all);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {}", text(&out));
        assert!(text(&out).contains(needle), "{all:?}: {}", text(&out));
    }
}

/// Input: the README's command table and each command's `--help`.
/// Output: every option a command takes is named in its README row (`curl --vip` was not).
#[test]
fn the_readme_names_every_option_of_each_command() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let mut missing = Vec::new();
    let mut rows = 0;
    for row in readme.lines().filter(|l| l.starts_with("| `halab ")) {
        let Some(cmd) = row["| `halab ".len()..].split([' ', '`']).next() else {
            continue;
        };
        rows += 1;
        let help = Command::new(env!("CARGO_BIN_EXE_halab"))
            .args([cmd, "--help"])
            .output()
            .expect("halab runs");
        let help = String::from_utf8_lossy(&help.stdout).to_string();
        for word in help.split_whitespace() {
            let opt = word.trim_end_matches([',', '.']);
            let is_long = opt.starts_with("--")
                && opt.len() > 2
                && opt[2..].chars().all(|c| c.is_ascii_lowercase() || c == '-');
            if is_long && opt != "--help" && !row.contains(opt) {
                missing.push(format!("halab {cmd}: {opt}"));
            }
        }
    }
    assert!(rows >= 8, "the README's command table has {rows} rows");
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "README rows without these options: {missing:?}"
    );
}

/// Input: a lab with one valid scenario and one broken one.
/// Output: `--check` names the broken file's line and runs nothing; a scenario given by its
/// path is taken; `halab test` runs the valid scenario and still exits 2 for the broken one.
#[test]
fn a_broken_scenario_does_not_block_the_others() {
    let _g = heavy();
    let c = Cli::new("minimal");
    let dir = c.dir.path().join("scenarios");
    std::fs::create_dir_all(&dir).expect("scenarios dir");
    std::fs::write(
        dir.join("good.yaml"),
        "steps:\n  - vip: { holder: lb1 }\n  - outage: { max_gap: 2s }\n",
    )
    .expect("write good");
    std::fs::write(
        dir.join("broken.yaml"),
        "steps:\n  - vip: { holder: lb9 }\n",
    )
    .expect("write broken");
    let good = dir.join("good.yaml").to_string_lossy().to_string();

    let check = c.run(&["test", "--check", &c.lab()]);
    assert_eq!(check.status.code(), Some(2), "{}", text(&check));
    let out = text(&check);
    assert!(
        out.contains("broken.yaml:2:") && out.contains("lb9"),
        "{out}"
    );
    assert!(out.contains("ok ") && out.contains("good.yaml"), "{out}");

    let by_path = c.run(&["test", "--check", &good]);
    assert_eq!(by_path.status.code(), Some(0), "{}", text(&by_path));

    let run = c.run(&["test", &c.lab()]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(2), "{out}");
    assert!(
        out.contains("good") && out.contains("broken.yaml:2:"),
        "{out}"
    );
    let json = c.run(&["test", "--json", &good]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(v[0]["passed"], true, "{v:#}");
}

/// Input: `halab test --engine mixed --keep` on labs/minimal (its file: keepalived on both).
/// Output: `status` describes what runs (lb2's report comes from halabd and agrees with its
/// interfaces), and the next `up` refuses the changed engine with a sentence, not debug text.
#[test]
fn a_kept_mixed_lab_is_described_by_what_runs() {
    let _g = heavy();
    let c = Cli::new("minimal");
    let dir = c.dir.path().join("scenarios");
    std::fs::create_dir_all(&dir).expect("scenarios dir");
    std::fs::write(
        dir.join("holder.yaml"),
        "steps:\n  - vip: { holder: lb1 }\n",
    )
    .expect("write scenario");
    let t = c.run(&["test", "--engine", "mixed", "--keep", &c.lab()]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t));
    assert!(
        text(&t).contains("mixed: lb1 keepalived, lb2 halabd"),
        "{}",
        text(&t)
    );

    let st = c.run(&["status", &c.lab(), "--json"]);
    assert_eq!(st.status.code(), Some(0), "{}", text(&st));
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).expect("status JSON");
    let node = |name: &str| {
        v["nodes"]
            .as_array()
            .and_then(|a| a.iter().find(|n| n["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name}: {v:#}"))
    };
    let lb2 = node("lb2");
    assert_eq!(lb2["vrrp"][0]["source"], "halabd", "{lb2:#}");
    assert_eq!(lb2["vrrp"][0]["consistent"], true, "{lb2:#}");
    let running: Vec<&str> = lb2["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter(|s| s["running"] == true)
        .filter_map(|s| s["service"].as_str())
        .collect();
    assert!(running.contains(&"halabd"), "{lb2:#}");

    let up = c.run(&["up", &c.lab()]);
    let out = text(&up);
    assert_eq!(up.status.code(), Some(3), "{out}");
    assert!(
        out.contains("lb2 runs halabd, the lab file says keepalived") && !out.contains("Some("),
        "{out}"
    );
}
