//! The seed's problem, with the real Debian haproxy and keepalived (as root): a track script
//! looking for haproxy by name on lb1 must not see lb2's haproxy.
//!
//! Input: two load balancer nodes on one network; haproxy runs on lb2 only; both run
//! keepalived with lb1 preferred (priority 150 vs 100) and tracking `killall -0 haproxy`.
//! Output: `pidof haproxy` and `killall -0 haproxy` fail on lb1 and succeed on lb2; the VIP
//! lands on lb2, never on lb1; once lb2's haproxy is killed by its pidfile, the VIP leaves lb2.
//!
//! Not `script "/usr/bin/pidof haproxy"`: keepalived 2.2.7 resolves the script's symlinks and
//! runs `/usr/sbin/killall5 haproxy`, which always fails (seen with strace).

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::{init_cmd, unique_lab};
use halab_netns::{self as netns, IfPlan, NetPlan, NetnsPlan, NodeHandle, NodePlan};
use nix::sys::signal::Signal;

const HAPROXY_CFG: &str = "\
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 10.77.10.3:8080
    default_backend be
backend be
    server s1 127.0.0.1:9
";

fn keepalived_conf(priority: u8) -> String {
    format!(
        "global_defs {{
    script_user root
}}
vrrp_script chk_haproxy {{
    script \"/usr/bin/killall -0 haproxy\"
    interval 1
    fall 1
    rise 1
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        10.77.10.100/24
    }}
    track_script {{
        chk_haproxy
    }}
}}
"
    )
}

fn node(name: &str, addr: &str) -> NodePlan {
    NodePlan {
        name: name.into(),
        hostname: name.into(),
        interfaces: vec![IfPlan {
            network: "lan".into(),
            ifname: "eth0".into(),
            addr: addr.parse().expect("addr"),
            prefix: 24,
        }],
        sysctls: vec![("net.ipv4.ip_nonlocal_bind".into(), "1".into())],
        hosts_file: "127.0.0.1 localhost\n".into(),
        host_like: false,
    }
}

fn has_vip(node: &NodeHandle) -> bool {
    node.exec(&["ip", "-o", "addr", "show", "dev", "eth0"])
        .expect("ip addr")
        .stdout
        .contains("10.77.10.100/")
}

/// What the nodes run and their addresses, for a failure message (keepalived logs to syslog,
/// which the nodes do not have).
fn state(nodes: &[&NodeHandle]) -> String {
    let mut text = String::new();
    for node in nodes {
        let ps = node
            .exec(&["ps", "-eo", "pid,stat,args"])
            .map(|o| o.stdout)
            .unwrap_or_default();
        let ip = node
            .exec(&["ip", "-o", "addr"])
            .map(|o| o.stdout)
            .unwrap_or_default();
        text += &format!("--- {}:\n{ps}{ip}", node.name());
    }
    text
}

#[test]
fn track_script_pidof_sees_only_its_own_node() {
    for tool in ["/usr/sbin/haproxy", "/usr/sbin/keepalived"] {
        assert!(
            std::path::Path::new(tool).exists(),
            "{tool} is not installed: apt-get install haproxy keepalived"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = NetnsPlan {
        lab: unique_lab("k"),
        state_dir: dir.path().join("lab"),
        networks: vec![NetPlan {
            name: "lan".into(),
            cidr: "10.77.10.0/24".parse().expect("cidr"),
        }],
        nodes: vec![node("lb1", "10.77.10.2"), node("lb2", "10.77.10.3")],
    };
    for (name, priority) in [("lb1", 150), ("lb2", 100)] {
        let etc = netns::layout::node_root(&plan.state_dir, name).join("etc");
        fs::create_dir_all(etc.join("keepalived")).expect("mkdir");
        fs::write(
            etc.join("keepalived/keepalived.conf"),
            keepalived_conf(priority),
        )
        .expect("conf");
        fs::create_dir_all(etc.join("haproxy")).expect("mkdir");
        fs::write(etc.join("haproxy/haproxy.cfg"), HAPROXY_CFG).expect("cfg");
    }
    let lab = netns::up(&plan, &init_cmd()).expect("up").into_guard();
    let (lb1, lb2) = (lab.node("lb1").expect("lb1"), lab.node("lb2").expect("lb2"));

    lb2.spawn_daemon(
        &[
            "haproxy",
            "-D",
            "-p",
            "/run/haproxy.pid",
            "-f",
            "/etc/haproxy/haproxy.cfg",
        ],
        "/run/haproxy.pid",
    )
    .expect("haproxy on lb2");
    for check in [&["pidof", "haproxy"][..], &["killall", "-0", "haproxy"][..]] {
        assert!(
            lb2.exec(check).expect("check").success(),
            "lb2 sees its haproxy: {check:?}"
        );
        assert!(
            !lb1.exec(check).expect("check").success(),
            "lb1 must not see lb2's haproxy: {check:?}"
        );
    }

    for lb in [&lb1, &lb2] {
        let args = [
            "keepalived",
            "-f",
            "/etc/keepalived/keepalived.conf",
            "-p",
            "/run/keepalived.pid",
        ];
        lb.spawn_daemon(&args, "/run/keepalived.pid")
            .expect("keepalived");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !has_vip(&lb2) {
        assert!(
            !has_vip(&lb1),
            "lb1 took the VIP although its haproxy is not running"
        );
        assert!(
            Instant::now() < deadline,
            "the VIP did not land on lb2 within 10 s:\n{}",
            state(&[&lb1, &lb2])
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !has_vip(&lb1),
        "lb1 took the VIP although its haproxy is not running"
    );

    assert!(
        lb2.signal_pidfile("/run/haproxy.pid", Signal::SIGKILL)
            .expect("kill haproxy")
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while has_vip(&lb2) {
        assert!(
            Instant::now() < deadline,
            "the VIP stayed on lb2 after its haproxy died"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!has_vip(&lb1));
    let report = lab.down().expect("down");
    assert_eq!(
        report.killed, 0,
        "keepalived did not stop on SIGTERM: {report:?}"
    );
}
