//! The netns provider: the lab model lowered onto `halab_netns` (namespaces, links, inits),
//! and a [`Machine`] for each node.

use std::path::{Path, PathBuf};

use crate::lab::Lab;
use crate::render::Artefact;
use crate::services::{Machine, Output};
use halab_netns::{self as netns, Cidr, IfPlan, NetPlan, NetnsPlan, NodeHandle, NodePlan};

/// Where running labs keep their state: `$HALAB_STATE_DIR` or /run/halab (gone at reboot,
/// like the namespaces themselves).
pub fn state_root() -> PathBuf {
    std::env::var_os("HALAB_STATE_DIR").map_or_else(|| PathBuf::from("/run/halab"), PathBuf::from)
}

pub fn state_dir(root: &Path, lab: &str) -> PathBuf {
    root.join(lab)
}

/// The namespaces and links the lab needs; `/etc/hosts` comes from the rendered files.
pub fn plan(lab: &Lab, state_dir: &Path, artefacts: &[Artefact]) -> NetnsPlan {
    let networks = lab
        .networks
        .iter()
        .map(|n| NetPlan {
            name: n.name.clone(),
            cidr: Cidr {
                addr: n.cidr.addr.into(),
                prefix: n.cidr.prefix,
            },
        })
        .collect();
    let nodes = lab
        .nodes
        .iter()
        .map(|n| NodePlan {
            name: n.name.clone(),
            hostname: n.hostname.clone(),
            interfaces: n
                .interfaces
                .iter()
                .map(|i| IfPlan {
                    network: i.network.clone(),
                    ifname: i.name.clone(),
                    addr: i.address.into(),
                    prefix: i.prefix,
                })
                .collect(),
            sysctls: n
                .sysctl
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            hosts_file: artefacts
                .iter()
                .find(|a| a.node == n.name && a.path == "/etc/hosts")
                .map(|a| String::from_utf8_lossy(&a.bytes).to_string())
                .unwrap_or_else(|| format!("127.0.0.1\tlocalhost\n127.0.1.1\t{}\n", n.hostname)),
            host_like: false,
        })
        .collect();
    NetnsPlan {
        lab: lab.name.clone(),
        state_dir: state_dir.to_path_buf(),
        networks,
        nodes,
    }
}

/// Where a node path lives in the node's root dir before the node exists (the init mounts
/// `etc/<entry>` over `/etc/<entry>` and `www` over `/var/www`). None: not for this provider
/// (systemd units, the sysctl drop-in: the plan applies sysctls itself).
pub fn staged_path(state_dir: &Path, node: &str, path: &str) -> Option<PathBuf> {
    let root = netns::layout::node_root(state_dir, node);
    if path.starts_with("/etc/systemd/")
        || path.starts_with("/etc/sysctl.d/")
        || path == "/etc/hosts"
    {
        return None;
    }
    if let Some(rest) = path.strip_prefix("/etc/") {
        return Some(root.join("etc").join(rest));
    }
    path.strip_prefix("/var/www/")
        .map(|rest| root.join("www").join(rest))
}

/// Writes `bytes` at `path` with `mode`, never readable by others on the way (write to a
/// 0600 temporary, chmod, rename).
pub fn write_private(path: &Path, mode: u32, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    let tmp = path.with_extension("halab-new");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, path)
}

/// A running node as a [`Machine`].
pub struct NetnsMachine(pub NodeHandle);

impl Machine for NetnsMachine {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn exec(&self, argv: &[&str]) -> Result<Output, String> {
        let out = self.0.exec(argv).map_err(|e| e.to_string())?;
        Ok(Output {
            code: out.code(),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn write_file(&self, path: &str, mode: u32, bytes: &[u8]) -> Result<(), String> {
        let host = self
            .0
            .host_path(path)
            .ok_or_else(|| format!("{path} is not reachable in node {}", self.0.name()))?;
        write_private(&host, mode, bytes)
            .map_err(|e| format!("failed to write {path} on {}: {e}", self.0.name()))
    }

    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        let Some(host) = self.0.host_path(path) else {
            return Ok(None);
        };
        match std::fs::read(&host) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("failed to read {path} on {}: {e}", self.0.name())),
        }
    }
}
