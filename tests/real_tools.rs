//! Rendered configs pass the real tools, and the checks do reject what the tools reject.
//!
//! Needs root (each check runs in a private mount + network namespace) and the Debian
//! packages haproxy, keepalived and nginx-light: CI installs them and runs as root.

use std::collections::HashMap;

use halab::check::check_all;
use halab::lab;
use halab::render::{self, Templates};
use halab_e2e::{labs, root};

/// The halabd that checks `engine: halabd` nodes: `$HALABD`, else the one cargo built beside
/// this test's deps dir.
fn halabd() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target dir");
    halab::apply::halabd_beside(&dir.join("halab"))
}

#[test]
fn every_lab_passes_haproxy_keepalived_and_nginx_checks() {
    let t = Templates::embedded().expect("templates");
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in labs() {
        let lab =
            lab::load_with_env(&dir.join("lab.yaml"), &HashMap::new()).expect("lab validates");
        let artefacts = render::render(&lab, &t).expect("render");
        for r in check_all(&lab, &artefacts, &halabd()) {
            checked += 1;
            if let Err(e) = r.result {
                failures.push(format!("{}: {} on {}: {e}", dir.display(), r.path, r.node));
            }
        }
    }
    assert!(
        checked >= 20,
        "expected every lab's configs to be checked, got {checked}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Renders labs/minimal with one template replaced, and returns the check results of the
/// files `tool` checks.
fn check_with_override(
    template: &str,
    edit: impl Fn(&str) -> String,
    tool: &str,
) -> Vec<Result<(), String>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let original = render::EMBEDDED
        .iter()
        .find(|(n, _)| *n == template)
        .expect("template exists")
        .1;
    std::fs::write(dir.path().join(template), edit(original)).expect("write override");
    let t = Templates::with_overrides(Some(dir.path())).expect("templates");
    let lab = lab::load_with_env(&root().join("labs/minimal/lab.yaml"), &HashMap::new())
        .expect("minimal validates");
    let artefacts = render::render(&lab, &t).expect("render");
    check_all(&lab, &artefacts, &halabd())
        .into_iter()
        .filter(|r| r.tool == tool)
        .map(|r| r.result)
        .collect()
}

#[test]
fn haproxy_check_rejects_an_unknown_keyword() {
    let results = check_with_override(
        "haproxy.cfg.j2",
        |s| s.replace("    retries ", "    retriez "),
        "haproxy",
    );
    assert!(!results.is_empty(), "no haproxy.cfg was checked");
    for r in results {
        let e = r.expect_err("haproxy -c must reject `retriez`");
        assert!(e.contains("retriez"), "{e}");
    }
}

#[test]
fn haproxy_check_treats_a_warning_as_failure() {
    // A frontend without timeouts makes haproxy -c warn but exit 0.
    let results = check_with_override(
        "haproxy.cfg.j2",
        |s| s.replace("    timeout {{", "    #timeout {{"),
        "haproxy",
    );
    assert!(!results.is_empty(), "no haproxy.cfg was checked");
    for r in results {
        let e = r.expect_err("a warning is a failure");
        assert!(e.contains("WARNING"), "{e}");
    }
}

#[test]
fn keepalived_check_rejects_an_unknown_keyword_and_a_missing_interface() {
    let results = check_with_override(
        "keepalived.conf.j2",
        |s| s.replace("    priority {{", "    priorty {{"),
        "keepalived",
    );
    assert!(!results.is_empty());
    for r in results {
        let e = r.expect_err("keepalived -t must reject `priorty`");
        assert!(e.contains("priorty"), "{e}");
    }
    let results = check_with_override(
        "keepalived.conf.j2",
        |s| s.replace("    interface {{ v.interface }}", "    interface nosuchif0"),
        "keepalived",
    );
    assert!(!results.is_empty(), "no keepalived.conf was checked");
    for r in results {
        let e = r.expect_err("keepalived warns about a missing interface");
        assert!(e.contains("nosuchif0"), "{e}");
    }
}

#[test]
fn nginx_check_rejects_a_bad_directive() {
    let results = check_with_override(
        "nginx.conf.j2",
        |s| s.replace("worker_processes 1;", "worker_processes one;"),
        "nginx",
    );
    assert!(!results.is_empty());
    for r in results {
        let e = r.expect_err("nginx -t must reject it");
        assert!(e.contains("worker_processes"), "{e}");
    }
}

/// The host's mounts but /run/netns, where other tests' labs pin their namespaces meanwhile
/// (`ip netns add` also makes /run/netns a mount of its own). A check runs in a throwaway
/// `unshare` and pins none; what it could leak is a bind mount over /etc or a tmpfs on /run.
fn host_mounts() -> String {
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .filter(|l| {
            l.split(' ')
                .nth(4)
                .is_none_or(|point| !point.starts_with("/run/netns"))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn checks_leave_the_host_untouched() {
    let before = host_mounts();
    let links_before = std::process::Command::new("ip")
        .args(["-o", "link"])
        .output()
        .expect("ip")
        .stdout;
    let lab = lab::load_with_env(&root().join("labs/minimal/lab.yaml"), &HashMap::new())
        .expect("minimal");
    let artefacts = render::render(&lab, &Templates::embedded().expect("t")).expect("render");
    let results = check_all(&lab, &artefacts, &halabd());
    assert!(!results.is_empty(), "nothing was checked");
    assert!(results.iter().all(|r| r.result.is_ok()));
    assert_eq!(before, host_mounts(), "a check changed the host's mounts");
    let links_after = std::process::Command::new("ip")
        .args(["-o", "link"])
        .output()
        .expect("ip")
        .stdout;
    assert_eq!(
        links_before, links_after,
        "a check changed the host's links"
    );
}

/// Input: two LBs running halabd with a 0.2 s track script (docs/halabd.md allows decimals).
/// Output: `validate` accepts it, and so does the real check (`halabd -t`, not keepalived's
/// whole-second rule): the same verdict before anything runs.
#[test]
fn a_halabd_lab_is_checked_by_halabd_with_the_verdict_validate_gave() {
    let text = "name: subsecond\nengine: halabd\nnetworks:\n  - { name: lan, cidr: 10.10.0.0/24 }\nnodes:\n  - { name: lb1, role: lb, address: 10.10.0.11 }\n  - { name: lb2, role: lb, address: 10.10.0.12 }\n  - { name: web1, role: web, address: 10.10.0.21 }\nscripts:\n  chk_haproxy: { script: \"killall -0 haproxy\", interval: 0.2, weight: -20 }\nvrrp:\n  - { vrid: 51, vips: [10.10.0.10], track_scripts: [chk_haproxy] }\n";
    let lab = lab::parse(
        std::path::Path::new("subsecond.yaml"),
        text,
        &HashMap::new(),
    )
    .expect("validate accepts a 0.2 s interval on halabd LBs");
    let artefacts =
        render::render(&lab, &Templates::embedded().expect("templates")).expect("render");
    let results = check_all(&lab, &artefacts, &halabd());
    let vrrp: Vec<_> = results
        .iter()
        .filter(|r| r.path == "/etc/keepalived/keepalived.conf")
        .collect();
    assert_eq!(vrrp.len(), 2, "{results:?}");
    for r in vrrp {
        assert_eq!(r.tool, "halabd", "{r:?}");
        assert!(r.result.is_ok(), "{r:?}");
    }
}
