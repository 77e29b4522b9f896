//! `provider: ssh` on hosts with systemd as PID 1: seed000's ssh lab provisioned over ssh onto
//! a `halab testbed up --systemd` bed (Debian 12 containers booted by systemd-nspawn in the
//! bed's namespaces, packages from a local apt repository in the image).
//!
//! Input: labs/seed000/ssh.yaml under a unique name, with `engine: halabd`, then a haproxy
//! change, then `engine: keepalived`. Output: what systemd, apt and journald say on the hosts
//! (seen through `halab testbed exec`), the failover scenario's verdict, and that `down
//! --purge` leaves each host as it was.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tempfile::TempDir;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

const LB1: &str = "loadbalance1";
const LB2: &str = "loadbalance2";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A systemd test bed, torn down on Drop (the ssh lab's record first).
struct Bed {
    lab: String,
    file: PathBuf,
    dir: PathBuf,
    netns: String,
    state_root: TempDir,
    files: TempDir,
}

impl Bed {
    fn up() -> Bed {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let lab = format!("sd{}x{n}", std::process::id() % 100_000);
        let files = tempfile::tempdir().expect("tempdir");
        let src =
            std::fs::read_to_string(common::labs_dir().join("seed000/ssh.yaml")).expect("ssh.yaml");
        let file = files.path().join("ssh.yaml");
        std::fs::write(&file, src.replace("name: seed000", &format!("name: {lab}")))
            .expect("write the lab file");
        std::os::unix::fs::symlink(
            common::labs_dir()
                .join("seed000/scenarios")
                .canonicalize()
                .expect("scenarios"),
            files.path().join("scenarios"),
        )
        .expect("symlink scenarios");
        let state_root = tempfile::Builder::new()
            .prefix("halab-sd-test-")
            .tempdir_in("/run")
            .expect("state root");
        let mut bed = Bed {
            lab,
            dir: files.path().join("bed"),
            file,
            netns: String::new(),
            state_root,
            files,
        };
        let start = Instant::now();
        let out = bed.halab(&[
            "testbed",
            "up",
            &bed.file.to_string_lossy(),
            "--dir",
            &bed.dir.to_string_lossy(),
            "--systemd",
        ]);
        assert!(
            out.status.success(),
            "testbed up --systemd: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        eprintln!(
            "systemd test bed up in {:.1} s: {}",
            start.elapsed().as_secs_f64(),
            text(&out.stderr)
        );
        bed.netns = text(&out.stdout).trim().to_string();
        assert!(bed.netns.starts_with("/run/netns/"), "{}", bed.netns);
        bed
    }

    fn halab(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_halab"))
            .env("HALAB_STATE_DIR", self.state_root.path())
            .args(args)
            .output()
            .expect("run halab")
    }

    /// halab in the control namespace, with the bed's ssh_config.
    fn remote(&self, args: &[&str]) -> Output {
        Command::new("timeout")
            .args([
                "600",
                "nsenter",
                &format!("--net={}", self.netns),
                env!("CARGO_BIN_EXE_halab"),
            ])
            .args(args)
            .env("HALAB_STATE_DIR", self.state_root.path())
            .env("HALAB_SSH_CONFIG", self.dir.join("ssh_config"))
            .env(
                "HALABD",
                PathBuf::from(env!("CARGO_BIN_EXE_halab")).with_file_name("halabd"),
            )
            .output()
            .expect("run halab in the control namespace")
    }

    /// Its stdout, then its stderr.
    fn must(&self, args: &[&str]) -> String {
        let out = self.remote(args);
        assert!(
            out.status.success(),
            "halab {args:?}:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout) + &text(&out.stderr)
    }

    /// A command in a host's container (through the bed, not through the provider).
    fn on(&self, node: &str, script: &str) -> String {
        let out = self.halab(&[
            "testbed",
            "exec",
            &self.file.to_string_lossy(),
            node,
            "--",
            "sh",
            "-c",
            script,
        ]);
        text(&out.stdout).trim().to_string()
    }

    fn variant(&self, name: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
        let p = self.files.path().join(name);
        std::fs::write(
            &p,
            edit(std::fs::read_to_string(&self.file).expect("lab file")),
        )
        .expect("write variant");
        p
    }

    /// What `down --purge` must give back: files, packages, units, halab's dir.
    fn snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        for node in [LB1, LB2, "nginx1", "client"] {
            out.push(format!(
                "{node}: {}",
                self.on(
                    node,
                    "sha256sum /etc/hosts /etc/haproxy/haproxy.cfg /etc/keepalived/keepalived.conf \
                     /etc/nginx/nginx.conf /etc/systemd/system/halabd.service /etc/sysctl.d/90-halab.conf 2>&1; \
                     dpkg-query -W -f='${Package} ${Status}\\n' haproxy keepalived nginx-light nginx-common socat halabd 2>&1; \
                     ls /var/lib/halab 2>&1; ls /etc/systemd/system/multi-user.target.wants; \
                     systemctl is-active haproxy keepalived halabd nginx 2>&1"
                )
            ));
        }
        out
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = self.remote(&["down", &self.lab]);
        let _ = self.halab(&["testbed", "down", &self.file.to_string_lossy()]);
    }
}

#[test]
fn seed000_over_ssh_on_systemd_hosts_halabd_as_a_service_reload_failover_purge() {
    let _g = common::heavy();
    let bed = Bed::up();
    assert_eq!(bed.on(LB1, "systemctl is-system-running"), "running");
    assert_eq!(bed.on(LB1, "hostname"), LB1);
    // The image's only apt source is its local repository; the stack is not installed.
    assert_eq!(
        bed.on(LB1, "cat /etc/apt/sources.list.d/*.list"),
        "deb [trusted=yes] file:/srv/halab-repo ./"
    );
    assert!(
        bed.on(LB1, "dpkg-query -W -f='${Status}' haproxy 2>&1")
            .contains("no packages found"),
        "a fresh host has no haproxy"
    );
    let original = bed.snapshot();

    // halabd as a systemd service.
    let halabd = bed.variant("halabd.yaml", |t| {
        t.replace("\nprovider: ssh\n", "\nprovider: ssh\nengine: halabd\n")
    });
    let halabd = halabd.to_string_lossy().to_string();
    let up = bed.must(&["up", &halabd]);
    assert!(up.contains("is up in"), "{up}");
    for lb in [LB1, LB2] {
        assert_eq!(
            bed.on(
                lb,
                "for p in haproxy socat keepalived; do echo $p $(dpkg-query -W -f='${Status}' $p 2>/dev/null); done"
            ),
            "haproxy install ok installed\nsocat install ok installed\nkeepalived",
            "{lb}: packages installed with apt from the local repository"
        );
        assert_eq!(
            bed.on(
                lb,
                "systemctl is-active halabd haproxy; systemctl is-enabled halabd haproxy"
            ),
            "active\nactive\nenabled\nenabled",
            "{lb}: units running and enabled"
        );
        // halabd from its Debian package: the package's binary and unit, no bare binary.
        assert_eq!(
            bed.on(lb, "dpkg-query -W -f='${Status}' halabd; test -e /etc/keepalived/halabd || echo ' no bare binary'"),
            "install ok installed no bare binary",
            "{lb}: halabd installed as a package"
        );
        let status = bed.on(lb, "systemctl status halabd --no-pager");
        assert!(
            status.contains("Active: active (running)")
                && status.contains("/lib/systemd/system/halabd.service; enabled")
                && status.contains("/usr/sbin/halabd -f /etc/keepalived/keepalived.conf"),
            "{lb}: {status}"
        );
        let journal = bed.on(lb, "journalctl -u halabd --no-pager -o cat");
        assert!(
            journal.contains("(VI_1) starting on eth0") && journal.contains("Entering"),
            "{lb}: journald has halabd's log:\n{journal}"
        );
    }
    assert_eq!(
        bed.on(
            "nginx1",
            "systemctl is-active nginx; systemctl is-enabled nginx"
        ),
        "active\nenabled"
    );

    // A haproxy change: `systemctl reload`, the same master process.
    let pid = bed.on(LB1, "systemctl show -p MainPID --value haproxy");
    let changed = bed.variant("halabd-maxconn.yaml", |t| {
        t.replace("\nprovider: ssh\n", "\nprovider: ssh\nengine: halabd\n")
            .replace("    maxconn: 3000", "    maxconn: 2999")
    });
    let up = bed.must(&["up", &changed.to_string_lossy()]);
    assert!(
        up.contains("2 changes") && up.contains("/etc/haproxy/haproxy.cfg"),
        "{up}"
    );
    assert_eq!(
        bed.on(LB1, "systemctl show -p MainPID --value haproxy"),
        pid,
        "a reload keeps haproxy's master"
    );
    assert!(
        bed.on(LB1, "journalctl -u haproxy --no-pager -o cat")
            .contains("Reloaded haproxy.service"),
        "systemd reloaded haproxy"
    );
    assert!(
        bed.on(LB1, "grep -cE 'maxconn +2999' /etc/haproxy/haproxy.cfg") == "1",
        "the new config is live"
    );

    let out = bed.must(&["test", &changed.to_string_lossy(), "failover"]);
    assert!(
        out.contains("[halabd] passed: 15 passed, 0 failed"),
        "{out}"
    );

    let down = bed.must(&["down", &bed.lab, "--purge"]);
    assert!(down.contains("packages removed"), "{down}");
    assert_eq!(
        bed.snapshot(),
        original,
        "down --purge leaves the hosts as they were"
    );

    // The keepalived engine on the same hosts.
    let file = bed.file.to_string_lossy().to_string();
    bed.must(&["up", &file]);
    assert_eq!(
        bed.on(
            LB1,
            "systemctl is-active keepalived; systemctl is-enabled keepalived"
        ),
        "active\nenabled"
    );
    let out = bed.must(&["test", &file, "failover"]);
    assert!(
        out.contains("[keepalived] passed: 15 passed, 0 failed"),
        "{out}"
    );
    bed.must(&["down", &bed.lab, "--purge"]);
    assert_eq!(bed.snapshot(), original, "purge after keepalived");
}

#[test]
fn testbed_down_stops_the_containers_and_removes_their_cgroups() {
    let bed = Bed::up();
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            bed.state_root
                .path()
                .join(format!("tb-{}", bed.lab))
                .join("nspawn.json"),
        )
        .expect("nspawn.json"),
    )
    .expect("json");
    let containers = record.as_array().expect("a list").clone();
    assert_eq!(containers.len(), 6, "one container per host");
    let pids: Vec<i64> = containers
        .iter()
        .flat_map(|c| [c["nspawn_pid"].as_i64(), c["leader"].as_i64()])
        .map(|p| p.expect("pid"))
        .collect();
    let cgroups: Vec<PathBuf> = containers
        .iter()
        .flat_map(|c| c["cgroups"].as_array().expect("cgroups").clone())
        .map(|p| PathBuf::from(p.as_str().expect("path")))
        .collect();
    assert!(cgroups.iter().all(|d| d.is_dir()));
    let out = bed.halab(&["testbed", "down", &bed.file.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for p in pids {
        assert!(
            !Path::new(&format!("/proc/{p}")).exists()
                || std::fs::read_to_string(format!("/proc/{p}/status"))
                    .is_ok_and(|s| s.contains("State:\tZ")),
            "pid {p} still runs"
        );
    }
    for d in cgroups {
        assert!(!d.exists(), "{} left behind", d.display());
    }
}

/// Input: the bed with keepalived under systemd (Debian's unit, `Type=notify`: `systemctl
/// start` returns once the parent has forked its VRRP child), `preempt: false` (so `up` starts
/// loadbalance2 once loadbalance1 holds the VIP, and returns after it), and a weight-0 track
/// script whose runs take 3 s (interval 5: keepalived's script timeout is the interval).
/// keepalived holds an instance in a silent FAULT, deaf to adverts, until such a script has
/// run once; `up` used to return 0.8 s after starting loadbalance2. loadbalance1's keepalived
/// is stopped the moment `up` returns. Output: loadbalance2 heard its priority-0 advert and
/// holds the VIP within a skew time (0.61 s), not after its master-down interval (3.61 s)
/// once the script ran: `start` returned only once loadbalance2's instance had started
/// (issue #17's cause, on systemd).
#[test]
fn on_a_systemd_host_keepalived_counts_as_started_once_it_listens() {
    let _g = common::heavy();
    let bed = Bed::up();
    let lab = bed.variant("slow-script.yaml", |t| {
        let slow = "  haproxy:\n    script: /etc/keepalived/chk_slow.sh\n    interval: 5\n    \
                    file:\n      path: /etc/keepalived/chk_slow.sh\n      content: |\n        \
                    #!/bin/sh\n        sleep 3\n        exec killall -0 haproxy\n";
        t.replace(
            "  haproxy:\n    script: \"killall -0 haproxy\"\n    interval: 2\n    weight: 2\n",
            slow,
        )
        .replace(
            "    advert_int: 1\n    priorities: { loadbalance1: 101",
            "    advert_int: 1\n    preempt: false\n    priorities: { loadbalance1: 101",
        )
    });
    let text_of = std::fs::read_to_string(&lab).expect("variant");
    assert!(
        text_of.contains("chk_slow.sh") && text_of.contains("preempt: false"),
        "the variant applies: {text_of}"
    );
    bed.must(&["up", &lab.to_string_lossy()]);
    bed.on(LB1, "systemctl stop keepalived");
    let stopped = Instant::now();
    let holds = || bed.on(LB2, "ip -o addr show").contains(" 192.168.0.130/");
    while !holds() && stopped.elapsed() < std::time::Duration::from_secs(8) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let after = stopped.elapsed();
    assert!(
        holds() && after < std::time::Duration::from_millis(2500),
        "loadbalance2 should hold the VIP within 2.5 s of loadbalance1's priority 0, held: {} after {after:?}",
        holds()
    );
    bed.must(&["down", &bed.lab]);
}
