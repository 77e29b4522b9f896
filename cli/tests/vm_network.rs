//! The VM test bed's networking (`halab testbed up --vm`, `testbed/qemu.rs`) without a VM, as
//! root: what the node namespace gets before qemu starts, and that none of it reaches the
//! root namespace, while it exists or after.
//!
//! Input: the net script of a VM with one NIC (`eth0`, 10.9.9.2/24), run in a throwaway
//! network namespace (`unshare --net`) holding an `eth0` veth with that address, as a test bed
//! node does. Output: the links and addresses of that namespace, and the root namespace's
//! links during and after.

use std::process::Command;

use halab::testbed::qemu::{Nic, Vm, net_script};

fn root_links() -> String {
    let out = Command::new("ip")
        .args(["-o", "link"])
        .output()
        .expect("ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_tap_and_bridge_live_and_die_in_the_node_namespace() {
    let vm = Vm {
        node: "lb1".into(),
        hostname: "lb1".into(),
        netns: "/run/netns/unused".into(),
        nics: vec![Nic {
            ifname: "eth0".into(),
            address: "10.9.9.2".parse().expect("ip"),
            prefix: 24,
        }],
        memory_mib: 448,
        host_key: "/unused".into(),
        authorized_keys: "/unused".into(),
        dir: "/unused".into(),
    };
    // The last part: the root namespace's links (this test's), while this one and its tap exist.
    let script = format!(
        "set -e\nip link add eth0 type veth peer name peer0\nip addr add 10.9.9.2/24 dev eth0\n\
         {}\nip -o link\necho ---\nip -o addr\necho ---\nnsenter --net=/proc/{}/ns/net ip -o link",
        net_script(&vm),
        std::process::id()
    );
    let out = Command::new("unshare")
        .args(["--net", "sh", "-c", &script])
        .output()
        .expect("unshare");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parts: Vec<&str> = text.split("---\n").collect();
    let [links, addrs, during] = parts.as_slice() else {
        panic!("{text}")
    };
    let line = |name: &str| {
        links
            .lines()
            .find(|l| {
                l.split(':')
                    .nth(1)
                    .is_some_and(|n| n.trim().starts_with(name))
            })
            .unwrap_or_else(|| panic!("no {name} in {links}"))
            .to_owned()
    };
    assert!(line("vmtap0").contains("master vmbr0"), "{links}");
    assert!(line("eth0").contains("master vmbr0"), "{links}");
    assert!(line("vmbr0").contains("UP"), "{links}");
    // The VM holds the address now: the namespace keeps none on the lab network.
    assert!(!addrs.contains("10.9.9.2"), "{addrs}");
    // The root namespace never had them, and the kernel deleted them with the namespace
    // (a tap is not moved back to the root namespace as a physical device would be).
    assert!(during.contains(": lo:"), "{during}");
    let after = root_links();
    for dev in ["vmtap0", "vmbr0", "peer0"] {
        for (when, links) in [("during", *during), ("after", after.as_str())] {
            assert!(
                !links.contains(&format!(": {dev}")),
                "{dev} {when}: {links}"
            );
        }
    }
}
