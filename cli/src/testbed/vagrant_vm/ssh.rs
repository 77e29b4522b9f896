//! How vagrant reaches a machine: as root at its address, through the bed's control
//! namespace.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::machine::bed;
use crate::lab::Lab;
use crate::testbed::{TestbedError, control_name, lab_name};
use halab_netns::{self as netns, NETNS_DIR};

/// How vagrant reaches a machine (`vagrant ssh-config`), as the plugin's `ssh_info` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshInfo {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub private_key_path: PathBuf,
    /// From the bed's control namespace: the lab is reachable there only.
    pub proxy_command: String,
}

/// `ssh_info` of `node`: root at its address, the key in `dir`, through the control node.
pub fn ssh_info(
    lab: &Lab,
    node: &str,
    dir: &Path,
    state_root: &Path,
) -> Result<SshInfo, TestbedError> {
    let (p, k) = bed(lab, node, state_root)?;
    let host = &p.hosts[k];
    let control = Path::new(NETNS_DIR).join(netns::names::node_ns(&p.netns.lab, &p.control));
    Ok(SshInfo {
        host: host.address.to_string(),
        port: host.port,
        username: "root".into(),
        private_key_path: std::path::absolute(dir.join("id_ed25519"))
            .unwrap_or_else(|_| dir.join("id_ed25519")),
        proxy_command: format!("nsenter --net={} socat - TCP:%h:%p", control.display()),
    })
}

/// The control node's namespace path of a vagrant lab's bed.
pub fn control_netns(lab: &Lab) -> PathBuf {
    Path::new(NETNS_DIR).join(netns::names::node_ns(
        &lab_name(&lab.name),
        control_name(lab),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::seed000vg;
    use super::*;

    /// Input: a node and an unknown one. Output: root at the node's address through the
    /// bed's control namespace (socat there), the key in vagrant's dir; the unknown node is
    /// an error listing the lab's nodes.
    #[test]
    fn ssh_info_goes_through_the_control_namespace() {
        let l = seed000vg();
        let i = ssh_info(
            &l,
            "loadbalance1",
            Path::new("/v/halab"),
            Path::new("/run/x"),
        )
        .expect("info");
        assert_eq!(
            i,
            SshInfo {
                host: "192.168.0.141".into(),
                port: 22,
                username: "root".into(),
                private_key_path: "/v/halab/id_ed25519".into(),
                proxy_command:
                    "nsenter --net=/run/netns/halab-tb-seed000vg.control socat - TCP:%h:%p".into(),
            }
        );
        assert_eq!(
            control_netns(&l),
            Path::new("/run/netns/halab-tb-seed000vg.control")
        );
        let e = ssh_info(&l, "web9", Path::new("/v"), Path::new("/run/x"))
            .expect_err("unknown")
            .to_string();
        assert!(
            e.contains(
                "no node `web9` (its nodes: nginx1, nginx2, loadbalance1, loadbalance2, client)"
            ),
            "{e}"
        );
    }
}
