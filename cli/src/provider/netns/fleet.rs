//! The netns provider's [`Fleet`]: a lab read from the host (`ip -n NS`, the admin socket
//! through the node's /run, threads that enter the client's namespace).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use super::machine::NetnsMachine;
use crate::fleet::{Fleet, MachineBox, parse_addresses, parse_arp};
use crate::lab::Lab;
use crate::probe::sampling::{Shared, probe_loop};
use crate::probe::{self, Reply};
use halab_netns::{LabHandle, names};

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
        let _ = client.in_netns(|| probe_loop(&sh, target, t0));
    }

    fn addresses(&self, node: &str) -> Vec<IpAddr> {
        self.netns(node)
            .map(|ns| parse_addresses(&ip_in(&ns, &["-o", "addr", "show"])))
            .unwrap_or_default()
    }

    fn links(&self, node: &str) -> String {
        self.netns(node)
            .map(|ns| ip_in(&ns, &["-o", "link", "show"]))
            .unwrap_or_default()
    }

    fn client_arp(&self, lab: &Lab, ip: IpAddr) -> Option<(String, String)> {
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
        cable(&self.handle, lab, node, interface, up)
    }

    fn plug_all(&self, lab: &Lab) -> Result<(), String> {
        for n in &lab.nodes {
            cable(&self.handle, lab, &n.name, None, true)?;
        }
        Ok(())
    }
}

/// The netns provider's cable: the node's port on the lab switch goes down, so the node
/// sees its carrier drop, as when a cable is pulled.
fn cable(
    handle: &LabHandle,
    lab: &Lab,
    node: &str,
    interface: Option<&str>,
    up: bool,
) -> Result<(), String> {
    let idx = lab
        .nodes
        .iter()
        .position(|n| n.name == node)
        .ok_or_else(|| format!("no node {node}"))?;
    let n = &lab.nodes[idx];
    let ifaces: Vec<usize> = n
        .interfaces
        .iter()
        .enumerate()
        .filter(|(_, i)| interface.is_none_or(|x| x == i.name))
        .map(|(k, _)| k)
        .collect();
    for k in ifaces {
        let port = names::switch_port(idx, k);
        let out = std::process::Command::new("ip")
            .args([
                "-n",
                handle.switch_ns(),
                "link",
                "set",
                &port,
                if up { "up" } else { "down" },
            ])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "ip link set {port} on the switch: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(())
}
