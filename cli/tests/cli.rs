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
        let name = format!(
            "c{}{}",
            std::process::id() % 100_000,
            &lab[..lab.len().min(6)]
        );
        let text =
            std::fs::read_to_string(common::labs_dir().join(lab).join("lab.yaml")).expect("lab");
        let text = text.replacen(&format!("name: {lab}"), &format!("name: {name}"), 1);
        std::fs::write(dir.path().join("lab.yaml"), text).expect("write lab");
        let state = tempfile::Builder::new()
            .prefix("halab-cli-")
            .tempdir_in("/run")
            .expect("state");
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
    let before = common::netns_list();
    let up = c.run(&["up", &c.lab()]);
    assert_eq!(up.status.code(), Some(2), "{}", text(&up));
    assert!(
        text(&up).contains("vrid 300 is outside 1..255"),
        "{}",
        text(&up)
    );
    assert_eq!(common::netns_list(), before);
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
        "VMs: qemu (KVM or TCG)",
        "VMs: vagrant + vagrant-libvirt",
    ] {
        assert!(out.contains(p), "{out}");
    }
}
