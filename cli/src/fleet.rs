//! A running lab's machines, whichever provider made them: what `status`, `exec`, `curl`,
//! readiness and the scenario runner need, and nothing provider-specific beyond it.
//!
//! [`NetnsFleet`] reads its nodes from the host (`ip -n NS`, the admin socket through the
//! node's /run, threads that enter the client's namespace); the ssh provider's fleet runs the
//! same commands on the hosts over ssh (`crate::provider::ssh::SshFleet`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::lab::Lab;
use crate::probe::{self, Reply};
use crate::provider::netns::NetnsMachine;
use crate::scenario::sampler::Shared;
use crate::services::Machine;
use halab_netns::LabHandle;

/// A node of a running lab as a [`Machine`] (boxed: each provider has its own).
pub type MachineBox = Box<dyn Machine + Send + Sync>;

pub trait Fleet: Send + Sync {
    /// `netns`, `ssh`.
    fn provider(&self) -> &'static str;

    fn machine(&self, node: &str) -> Result<MachineBox, String>;

    /// One HTTP GET from where the lab's client is.
    fn client_get(
        &self,
        target: SocketAddr,
        path: &str,
        timeout: Duration,
        headers: &[(String, String)],
    ) -> Result<Reply, String>;

    /// Runs the scenario probe (a GET through `target` every 10 ms, see
    /// `scenario::sampler`) from where the lab's client is, until `sh.stop`; blocks.
    fn probe_loop(&self, sh: Arc<Shared>, target: SocketAddr, t0: std::time::Instant);

    /// `ip -o -4 addr show` on a node: the IPv4 addresses on its interfaces.
    fn addresses(&self, node: &str) -> Vec<Ipv4Addr> {
        self.machine(node)
            .ok()
            .and_then(|m| m.exec(&["ip", "-o", "-4", "addr", "show"]).ok())
            .map(|o| parse_addresses(&o.stdout))
            .unwrap_or_default()
    }

    /// `ip -o link show` on a node.
    fn links(&self, node: &str) -> String {
        self.machine(node)
            .ok()
            .and_then(|m| m.exec(&["ip", "-o", "link", "show"]).ok())
            .map(|o| o.stdout)
            .unwrap_or_default()
    }

    /// `ip neigh show IP` where the client is: (MAC, state) of its ARP entry.
    fn client_arp(&self, lab: &Lab, ip: Ipv4Addr) -> Option<(String, String)>;

    /// haproxy's `show stat` CSV from a node's admin socket.
    fn haproxy_stat(&self, node: &str) -> Result<String, String>;

    /// Plugs or pulls a node's cable (the switch side of its link).
    fn cable(&self, lab: &Lab, node: &str, interface: Option<&str>, up: bool)
    -> Result<(), String>;
}

pub fn parse_addresses(text: &str) -> Vec<Ipv4Addr> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.find(|x| *x == "inet")?;
            w.next()?.split('/').next()?.parse().ok()
        })
        .collect()
}

pub fn parse_arp(text: &str) -> Option<(String, String)> {
    let line = text.lines().next()?;
    let w: Vec<&str> = line.split_whitespace().collect();
    let mac = w
        .iter()
        .position(|x| *x == "lladdr")
        .and_then(|i| w.get(i + 1))?;
    Some((mac.to_string(), w.last().unwrap_or(&"").to_string()))
}

/// Runs `ip -n NS ARGS` and returns stdout (empty on failure: callers treat it as "nothing").
fn ip_in(ns: &str, args: &[&str]) -> String {
    Command::new("ip")
        .arg("-n")
        .arg(ns)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default()
}

/// The netns provider's lab, read from the host.
pub struct NetnsFleet {
    pub handle: LabHandle,
    /// The lab's client node, where probes run.
    client: Option<String>,
}

impl NetnsFleet {
    pub fn new(lab: &Lab, handle: LabHandle) -> NetnsFleet {
        NetnsFleet {
            handle,
            client: lab.client().map(|c| c.name.clone()),
        }
    }

    pub fn open(lab: &Lab, state_dir: &Path) -> Result<NetnsFleet, String> {
        LabHandle::open(state_dir)
            .map(|h| NetnsFleet::new(lab, h))
            .map_err(|e| e.to_string())
    }

    fn netns(&self, node: &str) -> Option<String> {
        self.handle.node(node).ok().map(|h| h.netns().to_string())
    }

    fn client(&self) -> Result<halab_netns::NodeHandle, String> {
        let name = self.client.as_deref().ok_or("the lab has no client node")?;
        self.handle.node(name).map_err(|e| e.to_string())
    }
}

impl Fleet for NetnsFleet {
    fn provider(&self) -> &'static str {
        "netns"
    }

    fn machine(&self, node: &str) -> Result<MachineBox, String> {
        Ok(Box::new(NetnsMachine(
            self.handle.node(node).map_err(|e| e.to_string())?,
        )))
    }

    fn client_get(
        &self,
        target: SocketAddr,
        path: &str,
        timeout: Duration,
        headers: &[(String, String)],
    ) -> Result<Reply, String> {
        let client = self.client()?;
        let (path, headers) = (path.to_string(), headers.to_vec());
        client
            .in_netns(move || probe::get_with(target, &path, timeout, None, &headers))
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    fn probe_loop(&self, sh: Arc<Shared>, target: SocketAddr, t0: std::time::Instant) {
        let Ok(client) = self.client() else { return };
        let _ = client.in_netns(|| crate::scenario::sampler::probe_loop(&sh, target, t0));
    }

    fn addresses(&self, node: &str) -> Vec<Ipv4Addr> {
        self.netns(node)
            .map(|ns| parse_addresses(&ip_in(&ns, &["-o", "-4", "addr", "show"])))
            .unwrap_or_default()
    }

    fn links(&self, node: &str) -> String {
        self.netns(node)
            .map(|ns| ip_in(&ns, &["-o", "link", "show"]))
            .unwrap_or_default()
    }

    fn client_arp(&self, lab: &Lab, ip: Ipv4Addr) -> Option<(String, String)> {
        let _ = lab;
        let ns = self.netns(self.client.as_deref()?)?;
        parse_arp(&ip_in(&ns, &["neigh", "show", &ip.to_string()]))
    }

    fn haproxy_stat(&self, node: &str) -> Result<String, String> {
        use std::io::{Read, Write};
        let h = self.handle.node(node).map_err(|e| e.to_string())?;
        let sock = h
            .host_path("/run/haproxy-admin.sock")
            .ok_or("no admin socket path")?;
        let mut s = std::os::unix::net::UnixStream::connect(&sock)
            .map_err(|e| format!("haproxy's admin socket on {node}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| e.to_string())?;
        s.write_all(b"show stat\n").map_err(|e| e.to_string())?;
        let mut text = String::new();
        s.take(4 << 20)
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
        Ok(text)
    }

    fn cable(
        &self,
        lab: &Lab,
        node: &str,
        interface: Option<&str>,
        up: bool,
    ) -> Result<(), String> {
        crate::scenario::faults::netns_cable(&self.handle, lab, node, interface, up)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_ip_output() {
        let addr = "2: eth0    inet 192.168.0.141/24 brd 192.168.0.255 scope global eth0\\       valid_lft forever\n2: eth0    inet 192.168.0.130/32 scope global eth0\n";
        assert_eq!(
            super::parse_addresses(addr),
            vec![
                std::net::Ipv4Addr::new(192, 168, 0, 141),
                std::net::Ipv4Addr::new(192, 168, 0, 130)
            ]
        );
        let neigh = "192.168.0.130 dev eth0 lladdr 02:00:00:00:00:05 REACHABLE\n";
        assert_eq!(
            super::parse_arp(neigh),
            Some(("02:00:00:00:00:05".to_string(), "REACHABLE".to_string()))
        );
        assert_eq!(super::parse_arp("192.168.0.130 dev eth0 FAILED\n"), None);
    }
}
