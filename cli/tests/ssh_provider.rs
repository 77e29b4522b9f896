//! `provider: ssh` end to end, as root: seed000's ssh lab provisioned over ssh onto a test bed
//! of sshd-in-namespace hosts (`halab testbed`), from the bed's control namespace.
//!
//! Input: labs/seed000/ssh.yaml under a unique name (variants for the bad cases), the bed's
//! ssh_config and keys. Output: halab's exit codes and messages, what the hosts hold (files,
//! digests, processes) seen through `halab testbed exec`, and the scenario's verdict.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::bed::{Bed, text};

const LB1: &str = "loadbalance1";
const LB2: &str = "loadbalance2";

/// seed000's ssh lab with `edit` applied (the engine, say), on a test bed that is up.
fn bed_up(edit: impl FnOnce(String) -> String) -> Bed {
    let mut bed = Bed::seed000("s", edit);
    let out = bed.up();
    assert!(
        out.status.success(),
        "testbed up: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        bed.netns.starts_with("/run/netns/"),
        "control netns: {:?}",
        text(&out.stdout)
    );
    bed
}

impl Bed {
    fn up_lab(&self, file: &Path, config: Option<&Path>) -> Output {
        self.remote(config, &["up", &file.to_string_lossy()])
    }

    /// A command in a bed host (through the bed, not through the provider under test).
    fn on(&self, node: &str, script: &str) -> String {
        text(&self.exec(node, &["sh", "-c", script]).stdout)
    }

    /// A command on a host over plain ssh from the control namespace (in sshd's namespaces).
    fn ssh_ok(&self, node: &str, script: &str) -> String {
        let out = self.ssh(&[], node, script);
        assert!(
            out.status.success(),
            "ssh {node} {script}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// The digest of a file on a host, or "absent".
    fn digest(&self, node: &str, path: &str) -> String {
        let s = self.on(
            node,
            &format!("sha256sum {path} 2>/dev/null | cut -d' ' -f1"),
        );
        if s.trim().is_empty() {
            "absent".into()
        } else {
            s.trim().to_string()
        }
    }

    /// A variant of the lab file, beside it (so its scenarios are found too).
    fn variant(&self, name: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
        let p = self.files.path().join(name);
        std::fs::write(
            &p,
            edit(std::fs::read_to_string(&self.file).expect("lab file")),
        )
        .expect("write variant");
        p
    }

    /// What each host would lose to a half-applied run: its configs, and no staging dir left.
    fn snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (node, path) in [
            (LB1, "/etc/haproxy/haproxy.cfg"),
            (LB2, "/etc/haproxy/haproxy.cfg"),
            (LB1, "/etc/keepalived/keepalived.conf"),
            ("nginx1", "/etc/nginx/nginx.conf"),
            ("nginx3", "/etc/nginx/nginx.conf"),
            ("client", "/etc/hosts"),
        ] {
            out.push(format!("{node}:{path}={}", self.digest(node, path)));
        }
        for node in [LB1, LB2, "nginx1", "nginx2", "nginx3", "client"] {
            out.push(format!(
                "{node} staged: {}",
                self.on(node, "ls -d /var/tmp/halab-up.* 2>/dev/null")
                    .trim()
            ));
        }
        out
    }
}

fn assert_fails(out: &Output, code: i32, needles: &[&str]) {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code; stdout:\n{}\nstderr:\n{err}",
        text(&out.stdout)
    );
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
}

#[test]
fn seed000_over_ssh_bad_cases_change_nothing_then_failover_passes_and_purge_restores() {
    let _g = common::heavy();
    let bed = bed_up(|t| t);
    let original = bed.snapshot();
    let host_haproxy_cfg = text(
        &Command::new("sha256sum")
            .arg("/etc/haproxy/haproxy.cfg")
            .output()
            .expect("sha256sum")
            .stdout,
    );
    assert_eq!(
        bed.digest(LB1, "/etc/haproxy/haproxy.cfg"),
        host_haproxy_cfg.split_whitespace().next().unwrap_or(""),
        "a fresh host has Debian's haproxy.cfg"
    );

    // Unknown host key: strict checking refuses before anything runs on any host.
    let empty = bed.files.path().join("empty_known_hosts");
    std::fs::write(&empty, "").expect("empty known_hosts");
    let strict = bed.files.path().join("ssh_config_unknown_keys");
    let cfg = std::fs::read_to_string(bed.dir.join("ssh_config")).expect("ssh_config");
    let known = bed.dir.join("known_hosts");
    std::fs::write(
        &strict,
        cfg.replace(
            &known.to_string_lossy().to_string(),
            &empty.to_string_lossy(),
        ),
    )
    .expect("write ssh_config");
    let out = bed.up_lab(&bed.file, Some(&strict));
    assert_fails(
        &out,
        3,
        &[
            "Host key verification failed",
            "not in known_hosts",
            "nothing was changed on any host",
        ],
    );
    assert_eq!(bed.snapshot(), original, "unknown host keys changed a host");

    // Wrong user.
    let wrong_user = bed.variant("wrong-user.yaml", |t| {
        t.replace(
            "\nprovider: ssh\n",
            "\nprovider: ssh\nssh: { user: nobody }\n",
        )
    });
    let out = bed.up_lab(&wrong_user, None);
    assert_fails(
        &out,
        3,
        &["nobody@", "Permission denied", "refused the login"],
    );
    assert_eq!(bed.snapshot(), original, "a refused login changed a host");

    // A host that is down (nothing answers at its address).
    let down = bed.variant("host-down.yaml", |t| {
        t.replace(
            "ssh: { host: 192.168.0.132 }",
            "ssh: { host: 192.168.0.199 }",
        )
    });
    let out = bed.up_lab(&down, None);
    assert_fails(
        &out,
        3,
        &[
            "cannot connect to node nginx2",
            "down or unreachable",
            "nothing was changed on any host",
        ],
    );
    assert_eq!(bed.snapshot(), original, "a host down changed another host");

    // loadbalance2's haproxy rejects the config (the host has no haproxy user): every host
    // staged and checked, none moved anything in.
    let passwd = bed.on(LB2, "grep '^haproxy:' /etc/passwd");
    assert!(
        !passwd.trim().is_empty(),
        "the host has a haproxy user to remove"
    );
    bed.on(LB2, "sed -i '/^haproxy:/d' /etc/passwd");
    let out = bed.up_lab(&bed.file, None);
    assert_fails(
        &out,
        3,
        &[
            "loadbalance2: /etc/haproxy/haproxy.cfg rejected by the host's haproxy",
            "haproxy",
            "nothing was changed on any host",
        ],
    );
    assert_eq!(
        bed.snapshot(),
        original,
        "a config rejected on one host changed a host"
    );
    bed.on(LB2, &format!("echo '{}' >> /etc/passwd", passwd.trim()));

    // A package install that fails: loadbalance2 lacks socat (its program hidden, its dpkg
    // entry gone) and its package manager cannot fetch it (no package lists, no network in
    // the bed, /usr read-only). The bind mount goes through sshd, whose mount namespace the
    // provisioning sessions share.
    bed.on(LB2, "perl -00 -ne 'print unless /^Package: socat$/m' /var/lib/dpkg/status > /var/tmp/status && cp /var/tmp/status /var/lib/dpkg/status && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin && rm -f /var/cache/apt/archives/*.deb");
    bed.ssh_ok(LB2, "mount --bind /dev/null /usr/bin/socat");
    let out = bed.up_lab(&bed.file, None);
    assert_fails(
        &out,
        3,
        &[
            "node loadbalance2: installing socat with apt failed",
            "no file was changed on any host",
        ],
    );
    assert_eq!(bed.snapshot(), original, "a failed install changed a host");
    bed.ssh_ok(LB2, "umount /usr/bin/socat");
    bed.on(
        LB2,
        "cp /var/tmp/status /var/lib/dpkg/status.halab-test; true",
    );

    // The real thing: up, the seed's failover scenario over ssh, a no-op second up.
    let out = bed.up_lab(&bed.file, None);
    assert!(
        out.status.success(),
        "up over ssh failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("is up in"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        bed.digest(LB1, "/etc/haproxy/haproxy.cfg.bak"),
        host_haproxy_cfg.split_whitespace().next().unwrap_or(""),
        "the original kept as .bak"
    );
    assert_eq!(
        bed.on(LB1, "stat -c %a /etc/keepalived/keepalived.conf")
            .trim(),
        "600",
        "the file with auth_pass is 0600"
    );
    let out = bed.remote(None, &["test", &bed.file.to_string_lossy(), "failover"]);
    assert!(
        out.status.success(),
        "failover over ssh:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("15 passed, 0 failed"),
        "{}",
        text(&out.stdout)
    );
    let pid_before = bed.on(LB1, "cat /run/haproxy.pid");
    let out = bed.up_lab(&bed.file, None);
    assert!(out.status.success(), "second up:\n{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("0 changes"),
        "second up changed something:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        bed.on(LB1, "cat /run/haproxy.pid"),
        pid_before,
        "a no-op up restarted haproxy"
    );
    let out = bed.remote(None, &["status", &bed.file.to_string_lossy()]);
    assert!(
        text(&out.stdout).contains("VIP 192.168.0.130   held by loadbalance1"),
        "{}",
        text(&out.stdout)
    );

    // down --purge: services stopped, files back to the originals, halab's dir gone.
    let out = bed.remote(None, &["down", &bed.lab, "--purge"]);
    assert!(
        out.status.success(),
        "down --purge:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        bed.digest(LB1, "/etc/haproxy/haproxy.cfg"),
        host_haproxy_cfg.split_whitespace().next().unwrap_or(""),
        "purge restores the original"
    );
    assert_eq!(
        bed.on(LB1, "pidof haproxy keepalived").trim(),
        "",
        "purge stops the daemons"
    );
    assert_eq!(bed.digest("client", "/var/lib/halab/halab"), "absent");
    assert_eq!(
        bed.snapshot(),
        original,
        "purge leaves the hosts as they were"
    );
}

#[test]
fn seed000_over_ssh_with_halabd() {
    let _g = common::heavy();
    let bed = bed_up(|t| t.replace("\nprovider: ssh\n", "\nprovider: ssh\nengine: halabd\n"));
    let out = bed.up_lab(&bed.file, None);
    assert!(
        out.status.success(),
        "up over ssh (halabd):\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        bed.on(
            LB1,
            "/etc/keepalived/halabd --version >/dev/null && echo ok"
        )
        .trim(),
        "ok",
        "halabd installed on the host"
    );
    let out = bed.remote(None, &["test", &bed.file.to_string_lossy(), "failover"]);
    assert!(
        out.status.success(),
        "failover over ssh (halabd):\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("[halabd] passed"),
        "{}",
        text(&out.stdout)
    );
}

/// Input: seed000's ssh lab with halabd and `preempt: false` (loadbalance1 101,
/// loadbalance2 100: master-down intervals 4 ms apart, a coin toss if both start at once).
/// Output: loadbalance2's engine starts only once loadbalance1 holds the VIP (its halabd log
/// begins after loadbalance1's MASTER line), and loadbalance1 holds it.
#[test]
fn without_preemption_over_ssh_the_top_priority_starts_first() {
    let _g = common::heavy();
    let bed = bed_up(|t| {
        t.replace("\nprovider: ssh\n", "\nprovider: ssh\nengine: halabd\n")
            .replace(
                "    advert_int: 1\n    priorities: { loadbalance1: 101",
                "    advert_int: 1\n    preempt: false\n    priorities: { loadbalance1: 101",
            )
    });
    assert!(
        std::fs::read_to_string(&bed.file)
            .expect("lab file")
            .contains("preempt: false"),
        "the variant has no preemption"
    );
    let out = bed.up_lab(&bed.file, None);
    assert!(
        out.status.success(),
        "up over ssh (nopreempt):\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // RFC 3339 timestamps sort as text.
    let first = |node: &str, needle: &str| -> String {
        bed.on(
            node,
            &format!("grep -m1 '{needle}' /var/log/halabd.log | cut -d' ' -f1"),
        )
        .trim()
        .to_string()
    };
    let master = first(LB1, "Entering MASTER STATE");
    let started = first(LB2, "Starting halabd");
    assert!(
        !master.is_empty() && !started.is_empty() && started > master,
        "loadbalance2's halabd started at {started:?}, loadbalance1 became MASTER at {master:?}"
    );
    assert!(
        bed.on(LB1, "ip -o addr show").contains(" 192.168.0.130/"),
        "loadbalance1 holds the VIP"
    );
}
