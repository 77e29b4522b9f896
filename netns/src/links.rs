//! The lab's links, all made with `ip -batch` (one process for many operations): the switch
//! namespace and its bridges, the nodes' namespace names, the veth pairs, addresses, and the
//! sysctls (no process at all). Nothing is ever created in the root namespace.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use super::command::{Running, ip_batch};
use super::enter::{self, named_ns_inode};
use super::error::{NetnsError, Result};
use super::names;
use super::plan::{NetnsPlan, NodePlan};
use super::state::LabState;

/// How long one `ip -batch` may take.
const IP_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `ip` batches and reports the failing line, not just its number.
fn finish_batch(running: Running, lines: &[String], deadline: Instant) -> Result<()> {
    running
        .finish_ok(deadline, IP_TIMEOUT)
        .map(drop)
        .map_err(|e| match e {
            NetnsError::Command {
                cmd,
                status,
                stderr,
            } => {
                let line = stderr
                    .rsplit_once("-:")
                    .and_then(|(_, n)| n.trim().parse::<usize>().ok())
                    .and_then(|n| lines.get(n.wrapping_sub(1)));
                let stderr = match line {
                    Some(line) => format!("{stderr} (line `{line}`)"),
                    None => stderr,
                };
                NetnsError::Command {
                    cmd,
                    status,
                    stderr,
                }
            }
            other => other,
        })
}

fn run_batch(netns: Option<&str>, lines: &[String]) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    finish_batch(ip_batch(netns, lines)?, lines, Instant::now() + IP_TIMEOUT)
}

/// An interface alias is free text for people; keep it one batch word.
fn alias(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.:/".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub(crate) fn build_switch(plan: &NetnsPlan, switch: &str) -> Result<()> {
    run_batch(None, &[format!("netns add {switch}")])?;
    let mut lines = vec!["link set lo up".to_owned()];
    for (k, net) in plan.networks.iter().enumerate() {
        let br = names::bridge(k);
        // No STP and no forward delay: ports forward at once. No multicast snooping: VRRP
        // adverts must flood to every port.
        lines.push(format!(
            "link add {br} type bridge forward_delay 0 stp_state 0 mcast_snooping 0"
        ));
        lines.push(format!("link set {br} alias {}", alias(&net.name)));
        lines.push(format!("link set {br} up"));
    }
    run_batch(Some(switch), &lines)
}

/// Names each node's network namespace after its init (`ip netns attach`), in one batch.
pub(crate) fn attach(state: &mut LabState) -> Result<()> {
    let lines: Vec<String> = state
        .nodes
        .iter()
        .filter_map(|n| {
            n.init
                .map(|p| format!("netns attach {} {}", n.netns, p.pid))
        })
        .collect();
    run_batch(None, &lines)?;
    for node in &mut state.nodes {
        node.netns_ino = named_ns_inode(&node.netns);
    }
    Ok(())
}

/// Is this the node's first entry for its link? Later ones (dual stack) only add an address.
fn first_of_link(node: &NodePlan, j: usize) -> bool {
    let ifname = &node.interfaces[j].ifname;
    !node.interfaces[..j].iter().any(|i| &i.ifname == ifname)
}

pub(crate) fn wire(plan: &NetnsPlan, state: &LabState) -> Result<()> {
    no_dad(plan, state)?;
    let mut veths = Vec::new();
    for (i, (node, ns)) in plan.nodes.iter().zip(&state.nodes).enumerate() {
        for (j, intf) in node.interfaces.iter().enumerate() {
            let Some(k) = plan.networks.iter().position(|n| n.name == intf.network) else {
                continue;
            };
            if !first_of_link(node, j) {
                continue;
            }
            let port = names::switch_port(i, j);
            veths.push(format!(
                "link add {port} type veth peer name {} netns {}",
                intf.ifname, ns.netns
            ));
            veths.push(format!(
                "link set {port} alias {}",
                alias(&format!("{}:{}", node.name, intf.ifname))
            ));
            veths.push(format!("link set {port} master {} up", names::bridge(k)));
        }
    }
    run_batch(Some(&state.switch_ns), &veths)?;
    let deadline = Instant::now() + IP_TIMEOUT;
    let mut running = Vec::new();
    for (node, ns) in plan.nodes.iter().zip(&state.nodes) {
        let mut lines = vec!["link set lo up".to_owned()];
        for (j, intf) in node.interfaces.iter().enumerate() {
            // No duplicate address detection for IPv6: the lab owns its addresses, and DAD
            // would keep them unusable for a second or two.
            let nodad = if intf.addr.is_ipv6() { " nodad" } else { "" };
            lines.push(format!(
                "addr add {}/{} dev {}{nodad}",
                intf.addr, intf.prefix, intf.ifname
            ));
            if first_of_link(node, j) {
                lines.push(format!("link set {} up", intf.ifname));
            }
        }
        running.push((ip_batch(Some(&ns.netns), &lines)?, lines));
    }
    let mut first_err = None;
    for (r, lines) in running {
        if let Err(e) = finish_batch(r, &lines, deadline) {
            first_err.get_or_insert(e);
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    apply_sysctls(plan, state)
}

/// On nodes with an IPv6 address: no duplicate address detection on the links created from
/// now on, the kernel's own link-local address included (`nodad` covers only the addresses
/// the plan adds). VRRPv3 over IPv6 sends from the link-local address, and a tentative one
/// would hold every advert back for a second or two after the link comes up.
fn no_dad(plan: &NetnsPlan, state: &LabState) -> Result<()> {
    const KEY: &str = "net.ipv6.conf.default.accept_dad";
    std::thread::scope(|s| {
        let workers: Vec<_> = plan
            .nodes
            .iter()
            .zip(&state.nodes)
            .filter(|(n, _)| n.interfaces.iter().any(|i| i.addr.is_ipv6()))
            .map(|(node, ns)| {
                s.spawn(move || enter::in_netns(&ns.netns, || write_sysctl(&node.name, KEY, "0")))
            })
            .collect();
        workers.into_iter().try_for_each(|w| match w.join() {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        })
    })
}

/// Writes each node's sysctls from a thread inside its network namespace: /proc/sys/net
/// shows the namespace of the thread that opens it, and no process is spawned. All nodes at
/// once: entering a namespace costs milliseconds on a loaded machine.
fn apply_sysctls(plan: &NetnsPlan, state: &LabState) -> Result<()> {
    let nodes = plan
        .nodes
        .iter()
        .zip(&state.nodes)
        .filter(|(n, _)| !n.sysctls.is_empty());
    std::thread::scope(|s| {
        let workers: Vec<_> = nodes
            .map(|(node, ns)| s.spawn(move || enter::in_netns(&ns.netns, || write_sysctls(node))))
            .collect();
        workers.into_iter().try_for_each(|w| match w.join() {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        })
    })
}

fn write_sysctls(node: &NodePlan) -> Result<()> {
    for (key, value) in &node.sysctls {
        write_sysctl(&node.name, key, value)?;
    }
    Ok(())
}

fn write_sysctl(node: &str, key: &str, value: &str) -> Result<()> {
    let path = Path::new("/proc/sys").join(key.replace('.', "/"));
    fs::write(&path, value).map_err(|source| NetnsError::Sysctl {
        node: node.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
        source,
    })
}
