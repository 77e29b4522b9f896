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
