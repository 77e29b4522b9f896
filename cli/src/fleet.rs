//! A running lab's machines, whichever provider made them: what `status`, `exec`, `curl`,
//! readiness and the scenario runner need, and nothing provider-specific beyond it.
//! Each provider has its own in its folder: `provider::netns::NetnsFleet` reads its nodes from
//! the host, `provider::ssh::SshFleet` runs the same commands on the hosts over ssh.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::lab::Lab;
use crate::probe::Reply;
use crate::probe::sampling::Shared;
use crate::services::Machine;

/// A node of a running lab as a [`Machine`] (boxed: each provider has its own).
pub type MachineBox = Box<dyn Machine + Send + Sync>;

pub trait Fleet: Send + Sync {
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
    /// [`crate::probe::sampling`]) from where the lab's client is, until `sh.stop`; blocks.
    fn probe_loop(&self, sh: Arc<Shared>, target: SocketAddr, t0: std::time::Instant);

    /// `ip -o addr show` on a node: the IPv4 and IPv6 addresses on its interfaces.
    fn addresses(&self, node: &str) -> Vec<IpAddr> {
        self.machine(node)
            .ok()
            .and_then(|m| m.exec(&["ip", "-o", "addr", "show"]).ok())
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

    /// `ip neigh show IP` where the client is: (MAC, state) of its neighbour entry (ARP for
    /// IPv4, NDP for IPv6).
    fn client_arp(&self, lab: &Lab, ip: IpAddr) -> Option<(String, String)>;

    /// haproxy's `show stat` CSV from a node's admin socket.
    fn haproxy_stat(&self, node: &str) -> Result<String, String>;

    /// Plugs or pulls a node's cable (the switch side of its link); a provider that cannot
    /// says why and what to use instead.
    fn cable(&self, lab: &Lab, node: &str, interface: Option<&str>, up: bool)
    -> Result<(), String>;

    /// Every cable plugged in again (a provider that cannot pull one has none pulled).
    fn plug_all(&self, lab: &Lab) -> Result<(), String>;
}

pub fn parse_addresses(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.find(|x| *x == "inet" || *x == "inet6")?;
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

#[cfg(test)]
mod tests {
    #[test]
    fn reads_ip_output() {
        // Input: `ip -o addr show` with IPv4 and IPv6 lines, `ip neigh show` for both.
        // Output: every address; the MAC and state of either kind of neighbour entry.
        let addr = "2: eth0    inet 192.168.0.141/24 brd 192.168.0.255 scope global eth0\\       valid_lft forever\n2: eth0    inet 192.168.0.130/32 scope global eth0\n2: eth0    inet6 fd00:30::100/128 scope global nodad \\       valid_lft forever\n2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever\n";
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("address");
        assert_eq!(
            super::parse_addresses(addr),
            vec![
                ip("192.168.0.141"),
                ip("192.168.0.130"),
                ip("fd00:30::100"),
                ip("fe80::1")
            ]
        );
        let neigh = "192.168.0.130 dev eth0 lladdr 02:00:00:00:00:05 REACHABLE\n";
        assert_eq!(
            super::parse_arp(neigh),
            Some(("02:00:00:00:00:05".to_string(), "REACHABLE".to_string()))
        );
        let ndp = "fd00:30::100 dev eth0 lladdr 02:00:00:00:00:06 router STALE\n";
        assert_eq!(
            super::parse_arp(ndp),
            Some(("02:00:00:00:00:06".to_string(), "STALE".to_string()))
        );
        assert_eq!(super::parse_arp("192.168.0.130 dev eth0 FAILED\n"), None);
    }
}
