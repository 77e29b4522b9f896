//! Plans and checks for tests and benches of halab-netns itself: labs of many nodes, and
//! what teardown must leave (nothing).

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use halab_netns::{self as netns, IfPlan, NetPlan, NetnsPlan, NodePlan, ProcId};
use tempfile::TempDir;

/// `count` nodes spread over networks of up to 200 nodes each.
pub fn many_nodes_plan(dir: &TempDir, count: usize) -> NetnsPlan {
    let networks: Vec<NetPlan> = (0..count.div_ceil(200))
        .map(|k| NetPlan {
            name: format!("net{k}"),
            cidr: format!("10.78.{k}.0/24").parse().expect("cidr"),
        })
        .collect();
    NetnsPlan {
        lab: super::unique_lab("d"),
        state_dir: dir.path().join("lab"),
        networks,
        nodes: (0..count)
            .map(|i| NodePlan {
                name: format!("n{i}"),
                hostname: format!("n{i}"),
                interfaces: vec![IfPlan {
                    network: format!("net{}", i / 200),
                    ifname: "eth0".into(),
                    addr: format!("10.78.{}.{}", i / 200, i % 200 + 2)
                        .parse()
                        .expect("addr"),
                    prefix: 24,
                }],
                sysctls: vec![("net.ipv4.ip_nonlocal_bind".into(), "1".into())],
                hosts_file: String::new(),
                host_like: false,
            })
            .collect(),
    }
}

/// The inits of the lab's nodes, to check they are gone after teardown.
pub fn init_procs(lab: &netns::LabHandle) -> Vec<ProcId> {
    lab.nodes()
        .iter()
        .map(|n| ProcId::of(n.init_pid()).expect("init is running"))
        .collect()
}

/// No namespace, state dir or init of the lab is left.
pub fn assert_gone(lab_name: &str, state_dir: &Path, inits: &[ProcId]) {
    let prefix = netns::names::switch_ns(lab_name);
    assert_eq!(
        netns::leftovers(&prefix),
        Vec::<String>::new(),
        "namespaces left"
    );
    assert!(
        !state_dir.exists(),
        "state dir left: {}",
        state_dir.display()
    );
    for p in inits {
        assert!(!p.is_running(), "init {} still runs", p.pid);
    }
}

/// The wiring is complete, not just started: the last of `count` nodes reaches the first.
pub fn assert_last_reaches_first(lab: &netns::LabHandle, count: usize) {
    let first = lab.node("n0").expect("first node");
    let last = lab.node(&format!("n{}", count - 1)).expect("last node");
    let listener = first
        .in_netns(|| TcpListener::bind("10.78.0.2:7000"))
        .expect("enter first")
        .expect("listen");
    last.in_netns(|| {
        TcpStream::connect_timeout(
            &"10.78.0.2:7000".parse().expect("addr"),
            Duration::from_secs(2),
        )
    })
    .expect("enter last")
    .expect("last node reaches the first");
    drop(listener);
}
