//! keepalived's notify FIFOs on a running halabd: the lines it writes on becoming master and
//! on stopping, the FIFO script it starts, and the FIFOs it removes. Needs root (network
//! namespaces).

mod support;

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::{Lab, master_down};

const SLACK: Duration = Duration::from_secs(3);

/// Input: halabd with `notify_fifo` (read by the test) and a different `vrrp_notify_fifo` whose
/// script copies what it reads to a file, one instance in sync group G1. Output: halabd makes
/// both FIFOs; each gets keepalived's lines for BACKUP then MASTER (instance and group); the
/// script got the FIFO path as `$1`; SIGHUP writes the current states again
/// (`fifo_write_vrrp_states_on_reload`); SIGTERM writes the STOP line and removes both FIFOs.
#[test]
fn fifo_lines_on_master_and_stop() {
    let mut lab = Lab::new(&["a"]);
    let dir = lab.dir.path().to_path_buf();
    let global = dir.join("global.fifo");
    let vrrp = dir.join("vrrp.fifo");
    let copy = dir.join("copy.txt");
    let script = dir.join("fifo.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"fifo $1\" > {copy}\nwhile read -r line; do echo \"$line\" >> {copy}; done < \"$1\"\n",
            copy = copy.display()
        ),
    )
    .expect("test setup");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("test setup");
    let conf = format!(
        "global_defs {{\n    router_id test\n    notify_fifo {global}\n    vrrp_notify_fifo {vrrp}\n    vrrp_notify_fifo_script {script}\n    fifo_write_vrrp_states_on_reload\n}}\n\n\
         vrrp_sync_group G1 {{\n    group {{\n        VI_1\n    }}\n}}\n\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    version 3\n    priority 150\n    advert_int 0.1\n    virtual_ipaddress {{\n        {vip}/24 dev eth0\n    }}\n}}\n",
        global = global.display(),
        vrrp = vrrp.display(),
        script = script.display(),
        vip = support::VIP,
    );
    lab.start_halabd("a", &conf);
    assert!(
        lab.wait_single_holder(
            "a",
            master_down(150, 0.1) * 4 + SLACK,
            Duration::from_secs(1)
        ),
        "a never became master\n{}",
        lab.logs()
    );
    for fifo in [&global, &vrrp] {
        let meta = std::fs::metadata(fifo).unwrap_or_else(|e| panic!("{}: {e}", fifo.display()));
        assert!(
            meta.file_type().is_fifo(),
            "{} is not a FIFO",
            fifo.display()
        );
    }
    let expected = "INSTANCE \"VI_1\" BACKUP 150\nINSTANCE \"VI_1\" MASTER 150\n";
    // The script's copy: its argument, then the lines in order (group lines interleaved).
    let deadline = Instant::now() + SLACK;
    let mut copied = String::new();
    while Instant::now() < deadline {
        copied = std::fs::read_to_string(&copy).unwrap_or_default();
        if copied.contains("GROUP \"G1\" MASTER 0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        copied.starts_with(&format!("fifo {}\n", vrrp.display())),
        "script's argument: {copied:?}\n{}",
        lab.logs()
    );
    let instance_lines = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("INSTANCE"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    assert_eq!(instance_lines(&copied), expected, "{copied:?}");
    assert!(copied.contains("GROUP \"G1\" BACKUP 0\n"), "{copied:?}");
    assert!(copied.contains("GROUP \"G1\" MASTER 0\n"), "{copied:?}");
    // The global FIFO, read here: keep it open over the stop, so its last lines stay readable.
    let mut reader = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&global)
        .expect("test setup");
    // fifo_write_vrrp_states_on_reload: SIGHUP with the same file writes the current states.
    lab.daemons[0].signal(Signal::SIGHUP);
    let deadline = Instant::now() + SLACK;
    while Instant::now() < deadline && !lab.daemons[0].log_text().contains("Configuration reloaded")
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    lab.daemons[0].signal(Signal::SIGTERM);
    assert_eq!(
        lab.daemons[0].wait_exit(Duration::from_secs(5)),
        Some(Some(0)),
        "SIGTERM: not a clean stop\n{}",
        lab.logs()
    );
    let mut text = String::new();
    let _ = reader.read_to_string(&mut text);
    assert_eq!(
        instance_lines(&text),
        format!("{expected}INSTANCE \"VI_1\" MASTER 150\nINSTANCE \"VI_1\" STOP 150\n"),
        "{text:?}"
    );
    assert!(text.contains("GROUP \"G1\" MASTER 0\n"), "{text:?}");
    assert!(!global.exists() && !vrrp.exists(), "FIFOs left behind");
}

/// Input: `vrrp_notify_priority_changes` and `vrrp_notify_fifo` (read by the test), one
/// instance at priority 150 tracking a file with weight 1 (value 0); once master, the file
/// says 10, then, after the backup-side check below, 3. Output: keepalived's lines
/// `INSTANCE "VI_1" MASTER_PRIORITY 160` then `... 153` (keepalived 2.2.7
/// `send_instance_priority_notifies`), for halabd and for keepalived alike; with the setting
/// off (a sync group's `notify_priority_changes false` over the global one) no such line.
fn priority_changes_to_the_fifo(kind: support::Kind, group_off: bool) -> String {
    let mut lab = Lab::new(&["a"]);
    let dir = lab.dir.path().to_path_buf();
    let fifo = dir.join("vrrp.fifo");
    let tracked = dir.join("weight");
    std::fs::write(&tracked, "0\n").expect("test setup");
    let group = if group_off {
        "vrrp_sync_group G1 {\n    group {\n        VI_1\n    }\n    notify_priority_changes false\n}\n"
    } else {
        ""
    };
    let conf = format!(
        "global_defs {{\n    router_id test\n    vrrp_notify_fifo {fifo}\n    vrrp_notify_priority_changes\n}}\n\n\
         track_file tf {{\n    file {tracked}\n    weight 1\n}}\n{group}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    version 3\n    priority 150\n    advert_int 0.1\n    track_file {{\n        tf\n    }}\n    virtual_ipaddress {{\n        {vip}/24 dev eth0\n    }}\n}}\n",
        fifo = fifo.display(),
        tracked = tracked.display(),
        vip = support::VIP,
    );
    // keepalived opens a FIFO it did not make; halabd makes one if missing. Made here, read
    // here (read-write and non-blocking, so neither side waits for the other).
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644))
        .expect("test setup");
    let mut reader = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&fifo)
        .expect("test setup");
    match kind {
        support::Kind::Halabd => lab.start_halabd("a", &conf),
        support::Kind::Keepalived => lab.start_keepalived("a", &conf),
    };
    assert!(
        lab.wait_single_holder(
            "a",
            master_down(150, 0.1) * 4 + SLACK,
            Duration::from_secs(1)
        ),
        "a never became master\n{}",
        lab.logs()
    );
    let mut text = String::new();
    let mut read_until = |text: &mut String, want: &str| {
        let deadline = Instant::now() + SLACK;
        while Instant::now() < deadline && !text.contains(want) {
            let mut chunk = String::new();
            let _ = reader.read_to_string(&mut chunk);
            text.push_str(&chunk);
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    read_until(&mut text, "MASTER 150\n");
    std::fs::write(&tracked, "10\n").expect("test setup");
    read_until(&mut text, "MASTER_PRIORITY 160\n");
    std::fs::write(&tracked, "3\n").expect("test setup");
    read_until(&mut text, "MASTER_PRIORITY 153\n");
    // Long enough for a line that should not come.
    std::thread::sleep(Duration::from_millis(500));
    read_until(&mut text, "");
    lab.daemons[0].signal(Signal::SIGTERM);
    let _ = lab.daemons[0].wait_exit(Duration::from_secs(5));
    assert!(
        text.contains("INSTANCE \"VI_1\" MASTER 150\n"),
        "{text:?}\n{}",
        lab.logs()
    );
    text.lines()
        .filter(|l| l.contains("PRIORITY"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn halabd_writes_priority_changes_to_the_fifo() {
    let lines = priority_changes_to_the_fifo(support::Kind::Halabd, false);
    assert_eq!(
        lines,
        "INSTANCE \"VI_1\" MASTER_PRIORITY 160\nINSTANCE \"VI_1\" MASTER_PRIORITY 153\n"
    );
}

#[test]
fn halabd_sync_group_setting_overrides_the_global_one() {
    let lines = priority_changes_to_the_fifo(support::Kind::Halabd, true);
    assert_eq!(lines, "");
}

#[test]
fn keepalived_writes_the_same_priority_lines() {
    let lines = priority_changes_to_the_fifo(support::Kind::Keepalived, false);
    assert_eq!(
        lines,
        "INSTANCE \"VI_1\" MASTER_PRIORITY 160\nINSTANCE \"VI_1\" MASTER_PRIORITY 153\n"
    );
}
