//! The halab Vagrant provider (cli/src/provider/vagrant/plugin.rb) under Debian's real
//! Vagrant, without booting a VM: the top-level Vagrantfile loads it, `vagrant status` asks
//! halab each machine's state, and `vagrant ssh-config` gives halab's ssh_info (root, the lab's
//! key, a ProxyCommand through the lab's control namespace). Needs `vagrant` (scripts/setup
//! installs it); fails, not skips, without it.
//!
//! Input: labs/seed000/vagrant with a throwaway state root and vagrant state dir; then a
//! record naming this test's own live process as nginx1's qemu (what `vm up` records).
//! Output: five machines `not created (halab)`; then nginx1 `running (halab)` and its ssh
//! config.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn vagrant(state: &Path, dot: &Path, args: &[&str]) -> Output {
    let out = Command::new("vagrant")
        .args(args)
        .current_dir(root())
        .env("HALAB_LAB", root().join("labs/seed000/vagrant"))
        .env("HALAB_STATE_DIR", state)
        .env("HALAB_BIN", env!("CARGO_BIN_EXE_halab"))
        .env("VAGRANT_DEFAULT_PROVIDER", "halab")
        .env("VAGRANT_DOTFILE_PATH", dot)
        .env("VAGRANT_CHECKPOINT_DISABLE", "1")
        .env("VAGRANT_NO_COLOR", "1")
        .output();
    match out {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "vagrant is not installed: run `bash scripts/setup` (it installs Debian's vagrant), then rerun the tests"
        ),
        Err(e) => panic!("failed to run vagrant: {e}"),
    }
}

fn stdout(o: &Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The start time of a process as `/proc/PID/stat` gives it (what the record holds).
fn start_time(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = stat.rsplit_once(')').expect("stat").1;
    after
        .split_whitespace()
        .nth(19)
        .expect("field 22")
        .parse()
        .expect("number")
}

#[test]
fn vagrant_drives_the_halab_provider_states_and_ssh_config() {
    let t = tempfile::tempdir().expect("tmp");
    let state = t.path().join("state");
    let dot = t.path().join("dot");
    std::fs::create_dir_all(&state).expect("mkdir");

    let status = stdout(&vagrant(&state, &dot, &["status"]), "vagrant status");
    for node in ["nginx1", "nginx2", "loadbalance1", "loadbalance2", "client"] {
        assert!(
            status
                .lines()
                .any(|l| l.starts_with(node) && l.ends_with("not created (halab)")),
            "{node} is not `not created (halab)`:\n{status}"
        );
    }

    // nginx1's VM "runs": its record names a live process with its start time.
    let bed = state.join("tb-seed000vg");
    std::fs::create_dir_all(&bed).expect("mkdir");
    let me = std::process::id();
    std::fs::write(
        bed.join("qemu.json"),
        format!(
            r#"[{{"node": "nginx1", "pid": {me}, "start": {}, "log": "/dev/null"}}]"#,
            start_time(me)
        ),
    )
    .expect("record");
    let key_dir = dot.join("halab");
    std::fs::create_dir_all(&key_dir).expect("mkdir");
    std::fs::write(key_dir.join("id_ed25519"), "not a key\n").expect("key");

    let status = stdout(
        &vagrant(&state, &dot, &["status", "nginx1"]),
        "vagrant status nginx1",
    );
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("nginx1") && l.ends_with("running (halab)")),
        "{status}"
    );
    let config = stdout(
        &vagrant(&state, &dot, &["ssh-config", "nginx1"]),
        "vagrant ssh-config nginx1",
    );
    let settings: Vec<&str> = config.lines().map(str::trim).collect();
    for want in [
        "Host nginx1".to_string(),
        "HostName 192.168.0.131".into(),
        "User root".into(),
        "Port 22".into(),
        format!("IdentityFile {}", key_dir.join("id_ed25519").display()),
        "ProxyCommand nsenter --net=/run/netns/halab-tb-seed000vg.control socat - TCP:%h:%p".into(),
    ] {
        assert!(
            settings.contains(&want.as_str()),
            "no `{want}` in:\n{config}"
        );
    }
    // A machine with no VM has no ssh config.
    let o = vagrant(&state, &dot, &["ssh-config", "nginx2"]);
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
