//! halabd's Debian package, built by `halab deb` and read back with dpkg's own tools.
//!
//! Input: the halabd binary of this build. Output: the .deb's control fields, file list and
//! modes, and its extracted contents (the binary runs, the unit starts the packaged binary,
//! the man page is roff with the options).

use std::path::PathBuf;
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn halab_deb_builds_a_package_dpkg_accepts_with_binary_unit_and_man_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let halabd = PathBuf::from(env!("CARGO_BIN_EXE_halab")).with_file_name("halabd");
    let path = run(Command::new(env!("CARGO_BIN_EXE_halab"))
        .args(["deb", "--halabd"])
        .arg(&halabd)
        .arg("--out")
        .arg(dir.path()));
    let deb = PathBuf::from(path.trim());
    let version_line = run(Command::new(&halabd).arg("--version"));
    let version = version_line
        .trim()
        .strip_prefix("halabd ")
        .and_then(|v| v.split(" (").next())
        .expect("halabd VERSION");
    let arch = run(Command::new("dpkg").arg("--print-architecture"));
    assert_eq!(
        deb.file_name().and_then(|n| n.to_str()),
        Some(format!("halabd_{version}_{}.deb", arch.trim()).as_str())
    );

    for (field, want) in [
        ("Package", "halabd"),
        ("Version", version),
        ("Architecture", arch.trim()),
        ("Depends", "libc6"),
    ] {
        let got = run(Command::new("dpkg-deb").arg("--field").arg(&deb).arg(field));
        assert_eq!(got.trim(), want, "{field}");
    }
    let files = run(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    for (mode, path) in [
        ("-rwxr-xr-x root/root", "./usr/sbin/halabd"),
        (
            "-rw-r--r-- root/root",
            "./lib/systemd/system/halabd.service",
        ),
        ("-rw-r--r-- root/root", "./usr/share/man/man8/halabd.8.gz"),
    ] {
        assert!(
            files
                .lines()
                .any(|l| l.starts_with(mode) && l.ends_with(path)),
            "{mode} {path} in:\n{files}"
        );
    }
    let info = run(Command::new("dpkg-deb").arg("--info").arg(&deb));
    assert!(
        info.contains("postinst") && info.contains("prerm"),
        "{info}"
    );

    let x = dir.path().join("x");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    let packaged = run(Command::new(x.join("usr/sbin/halabd")).arg("--version"));
    assert_eq!(packaged.trim(), version_line.trim());
    let unit = std::fs::read_to_string(x.join("lib/systemd/system/halabd.service")).expect("unit");
    assert!(
        unit.contains("\nExecStart=/usr/sbin/halabd -f /etc/keepalived/keepalived.conf"),
        "{unit}"
    );
    assert!(unit.contains("\nWantedBy=multi-user.target"), "{unit}");
    let man = run(Command::new("gzip")
        .arg("-dc")
        .arg(x.join("usr/share/man/man8/halabd.8.gz")));
    assert!(man.starts_with(".TH HALABD 8"), "{man}");
    assert!(man.contains("--config-test"), "{man}");
    // The maintainer scripts start and enable nothing.
    let ctl = dir.path().join("ctl");
    run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&ctl));
    let postinst = std::fs::read_to_string(ctl.join("postinst")).expect("postinst");
    assert!(postinst.contains("systemctl daemon-reload"), "{postinst}");
    for never in [
        "systemctl start",
        "systemctl enable",
        "--now",
        "deb-systemd",
    ] {
        assert!(!postinst.contains(never), "{never} in {postinst}");
    }
}
