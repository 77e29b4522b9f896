//! `halabd -t`: checks a configuration like `keepalived -t`, exit 0 when valid, 1 with every
//! error (file:line) when not. No network needed.

use std::process::Command;

fn halabd_t(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keepalived.conf");
    std::fs::write(&path, text).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_halabd"))
        .args(["-t", "-f"])
        .arg(&path)
        .output()
        .expect("run halabd");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Input: a valid configuration. Output: exit 0 and a summary, notices as warnings.
#[test]
fn valid_configuration_exits_zero() {
    let (code, err) = halabd_t(
        "global_defs {\n smtp_server 10.0.0.1\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n 10.0.0.10\n }\n}\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("configuration ok (1 instance(s)"), "{err}");
    assert!(
        err.contains("warning:") && err.contains(":2: `smtp_server` skipped"),
        "{err}"
    );
}

/// Input: a configuration with two errors. Output: exit 1, both errors with file:line.
#[test]
fn invalid_configuration_exits_one_with_every_error() {
    let (code, err) = halabd_t(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 300\n advert_in 1\n}\n",
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("keepalived.conf:4: 300 is out of range 1..=255"),
        "{err}"
    );
    assert!(
        err.contains("keepalived.conf:5: unknown keyword `advert_in`"),
        "{err}"
    );
    assert!(err.contains("did you mean `advert_int`?"), "{err}");
    assert!(err.contains("2 error(s)"), "{err}");
}

/// Input: a missing file. Output: exit 1.
#[test]
fn missing_file_exits_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_halabd"))
        .args(["-t", "-f", "/nonexistent/keepalived.conf"])
        .output()
        .expect("run halabd");
    assert_eq!(out.status.code(), Some(1));
}

/// Input: a tracked script whose program does not exist. Output: exit 1 with keepalived's
/// message (keepalived -t fails it too); a script that exists passes.
#[test]
fn a_missing_track_script_fails_the_check_like_keepalived() {
    let conf = |script: &str| {
        format!(
            "vrrp_script chk {{\n script \"{script}\"\n}}\nvrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{\n 10.0.0.10\n }}\n track_script {{\n chk\n }}\n}}\n"
        )
    };
    let (code, err) = halabd_t(&conf("/nonexistent/check.sh"));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("Disabling track script chk since not found/accessible"),
        "{err}"
    );
    let (code, err) = halabd_t(&conf("/bin/true"));
    assert_eq!(code, 0, "{err}");
    // keepalived's system() case (`</...`) is never "missing".
    let (code, err) = halabd_t(&conf("</dev/tcp/127.0.0.1/80"));
    assert_eq!(code, 0, "{err}");
}

/// Input: keepalived's command lines. Output: harmless options accepted (with a notice where
/// they are ignored), behaviour-changing ones refused with exit 2, --signum answers numbers.
#[test]
fn keepalived_command_lines_are_accepted_or_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keepalived.conf");
    std::fs::write(
        &path,
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n 10.0.0.10\n }\n}\n",
    )
    .expect("write");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_halabd"))
            .args(args)
            .output()
            .expect("run halabd");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let file = path.to_str().expect("utf-8");
    let (code, _, err) = run(&[
        "-t",
        "-f",
        file,
        "-l",
        "-D",
        "-n",
        "-P",
        "-G",
        "-S",
        "0",
        "-c",
        "/run/checkers.pid",
        "-r",
        "/run/vrrp.pid",
        "-p",
        "/run/keepalived.pid",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("notice: option -c/--checkers_pid"), "{err}");
    let report = dir.path().join("report.txt");
    let (code, _, err) = run(&[&format!("--config-test={}", report.display()), "-f", file]);
    assert_eq!(code, 0, "{err}");
    let copied = std::fs::read_to_string(&report).expect("report written");
    assert!(copied.contains("configuration ok"), "{copied}");
    for refused in [
        vec!["-V"],
        vec!["-C"],
        vec!["--namespace=blue"],
        vec!["-i", "x"],
        vec!["-T"],
    ] {
        let mut args = refused.clone();
        args.extend(["-t", "-f", file]);
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{refused:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
    let (code, out, _) = run(&["--signum=DATA"]);
    assert_eq!((code, out.trim()), (0, "10"));
    let (code, out, _) = run(&["--signum=RELOAD"]);
    assert_eq!((code, out.trim()), (0, "1"));
    let (code, _, _) = run(&["--signum=BOGUS"]);
    assert_eq!(code, 2);
}
