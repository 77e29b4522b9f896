//! Every signal a keepalived user sends to a running halabd: the dump signals write
//! keepalived's files and leave the master untouched; the stop signals hand over with
//! priority 0 and remove the VIPs. Needs root (network namespaces).

mod support;

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::{Lab, VIP, instance_conf, master_down};

const SLACK: Duration = Duration::from_secs(3);

/// Sends a signal by name (`RTMIN+2` has no nix constant) with util-linux kill.
fn kill(pid: i32, name: &str) {
    let status = std::process::Command::new("/usr/bin/kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -s {name} {pid}");
}

fn wait_file(path: &Path, needle: &str) -> Option<String> {
    let deadline = std::time::Instant::now() + SLACK;
    while std::time::Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.contains(needle)
        {
            return Some(text);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Input: a single halabd master; SIGUSR1, SIGUSR2, SIGRTMIN+2 (SIGJSON), SIGRTMAX-1
/// (SIGSTATS_CLEAR), SIGPIPE, then SIGQUIT. Output: keepalived.data, keepalived.stats and
/// keepalived.json in $TMPDIR with the instance, the daemon alive and still holding the VIP
/// after each; SIGQUIT stops it cleanly (exit 0, priority 0 sent, VIP removed).
#[test]
fn dump_signals_write_files_and_never_stop_the_master() {
    let mut lab = Lab::new(&["a"]);
    lab.start_halabd("a", &instance_conf(150, 3, "0.1", ""));
    assert!(
        lab.wait_single_holder(
            "a",
            master_down(150, 0.1) * 4 + SLACK,
            Duration::from_secs(1)
        ),
        "a never became master\n{}",
        lab.logs()
    );
    let pid = lab.daemons[0].pid();
    let dir = lab.dir.path().to_path_buf();
    // keepalived's SIGSTATS_CLEAR, by number (kill names no RTMAX-N).
    let stats_clear = (nix::libc::SIGRTMAX() - 1).to_string();
    for (signal, file, needle) in [
        (
            "USR1",
            "keepalived.data",
            " VRRP Instance = VI_1\n   State = MASTER\n",
        ),
        (
            "USR2",
            "keepalived.stats",
            "VRRP Instance: VI_1\n  Advertisements:\n",
        ),
        ("RTMIN+2", "keepalived.json", "\"name\": \"VI_1\""),
        (
            stats_clear.as_str(),
            "keepalived.stats",
            "  Became master: 1\n",
        ),
        ("PIPE", "keepalived.data", "State = MASTER"),
    ] {
        kill(pid, signal);
        let text = wait_file(&dir.join(file), needle);
        assert!(
            text.is_some(),
            "SIG{signal}: no {file} with {needle:?}\n{}",
            lab.logs()
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            lab.daemons[0].wait_exit(Duration::from_millis(10)),
            None,
            "SIG{signal} stopped halabd\n{}",
            lab.logs()
        );
        assert!(lab.has_addr("a", VIP), "SIG{signal}: the VIP left");
    }
    // SIGSTATS_CLEAR wrote the counters, then cleared them: the next dump starts again.
    kill(pid, "USR2");
    assert!(
        wait_file(&dir.join("keepalived.stats"), "  Became master: 0\n").is_some(),
        "counters not cleared\n{}",
        lab.logs()
    );
    lab.daemons[0].signal(Signal::SIGQUIT);
    let code = lab.daemons[0].wait_exit(Duration::from_secs(5));
    assert_eq!(
        code,
        Some(Some(0)),
        "SIGQUIT: not a clean stop\n{}",
        lab.logs()
    );
    assert!(!lab.has_addr("a", VIP), "the VIP stayed after SIGQUIT");
    assert!(lab.daemons[0].log_text().contains("(VI_1) sent 0 priority"));
}
