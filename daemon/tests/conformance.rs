//! The conformance corpus (daemon/tests/conformance/*.conf): each file through `halabd -t -f`
//! and keepalived 2.2.7's `keepalived -t -f` (in a throwaway network namespace that has the
//! interfaces the files name), verdicts compared: both accept or both refuse, except the known
//! differences listed below with their reason. Needs root and keepalived (scripts/setup).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Files where halabd's verdict knowingly differs from keepalived's: (file, halabd accepts,
/// why). Each entry must still differ, so the list stays true.
const KNOWN_DIFFERENCES: &[(&str, bool, &str)] = &[(
    "sample_vrrp.conf",
    false,
    "VI_1 lists 192.168.200.18 twice: keepalived accepts it silently, halabd refuses a \
         duplicate VIP (its protocol core rejects it; RFC 5798 adverts list each address once)",
)];

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/conformance")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    files
}

fn halabd_accepts(file: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_halabd"))
        .args(["-t", "-f"])
        .arg(file)
        .output()
        .expect("run halabd");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// keepalived -t in a new network namespace with eth0 and eth1 (veths, gone with it).
fn keepalived_accepts(file: &Path) -> (bool, String) {
    let script = "ip link add eth0 type veth peer name eth0p && \
                  ip link add eth1 type veth peer name eth1p && \
                  for l in lo eth0 eth0p eth1 eth1p; do ip link set $l up; done && \
                  ip addr add 192.168.1.10/24 dev eth0 && \
                  exec keepalived -t -l -f \"$0\"";
    let out = Command::new("unshare")
        .args(["--net", "sh", "-c", script])
        .arg(file)
        .output()
        .expect("run unshare keepalived");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Input: every corpus file. Output: the same verdict from halabd -t and keepalived -t, or
/// exactly the documented difference.
#[test]
fn halabd_and_keepalived_agree_on_the_corpus() {
    let files = corpus();
    assert!(files.len() >= 8, "corpus too small: {files:?}");
    let mut wrong = Vec::new();
    for file in &files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let (h, h_out) = halabd_accepts(file);
        let (k, k_out) = keepalived_accepts(file);
        let known = KNOWN_DIFFERENCES.iter().find(|(f, _, _)| *f == name);
        let ok = match known {
            Some((_, halabd, _)) => h == *halabd && k != h,
            None => h == k,
        };
        if !ok {
            wrong.push(format!(
                "{name}: halabd {} / keepalived {} (known: {known:?})\n--- halabd\n{h_out}--- keepalived\n{k_out}",
                verdict(h),
                verdict(k)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn verdict(accepts: bool) -> &'static str {
    if accepts { "accepts" } else { "refuses" }
}
