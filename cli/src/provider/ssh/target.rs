//! How to reach each host: the lab file's `ssh` sections, or the `vagrant ssh-config` of a
//! vagrant lab (`vagrant up` brings its VMs up first).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::lab::Lab;
use crate::lab::model::{Node, Provider};
use crate::provider::vagrant;

/// The ssh config file to use instead of ~/.ssh/config (`ssh -F`).
pub const SSH_CONFIG_ENV: &str = "HALAB_SSH_CONFIG";

/// How to reach one host: the lab file's `ssh` section, resolved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Target {
    pub node: String,
    pub host: String,
    pub user: String,
    pub port: u16,
    pub identity_file: Option<String>,
    pub jump: Option<String>,
    pub config_file: Option<PathBuf>,
    pub accept_new_host_keys: bool,
}

impl Target {
    pub fn for_node(lab: &Lab, n: &Node, config_file: Option<&Path>) -> Option<Target> {
        let s = n.ssh.as_ref()?;
        Some(Target {
            node: n.name.clone(),
            host: s.host.clone(),
            user: s.user.clone(),
            port: s.port,
            identity_file: s.identity_file.clone(),
            jump: s.jump.clone(),
            config_file: config_file.map(Path::to_path_buf),
            accept_new_host_keys: lab.ssh.accept_new_host_keys,
        })
    }

    pub(super) fn describe(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

/// The ssh config file for this run: `$HALAB_SSH_CONFIG`, else ssh's own default.
pub fn config_file() -> Option<PathBuf> {
    std::env::var_os(SSH_CONFIG_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no Vagrantfile in {} or above\n  hint: set HALAB_VAGRANTFILE_DIR to the directory of halab's Vagrantfile",
        dir.display()
    )]
    NoVagrantfile { dir: PathBuf },
    #[error(
        "{}: {source}\n  hint: run `halab up` for this lab first (it runs `vagrant up`)",
        path.display()
    )]
    NoSshConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    /// What vagrant (or its ssh-config) said.
    #[error("{0}")]
    Vagrant(String),
}

/// vagrant's `ssh-config` for a vagrant lab, one `Host NODE` block per node, kept in the
/// lab's state dir.
pub(super) const VAGRANT_SSH_CONFIG: &str = "vagrant-ssh-config";

/// Where the Vagrantfile is: `$HALAB_VAGRANTFILE_DIR`, else the first directory holding one
/// from the lab file's directory upwards (the repository's top level).
pub fn vagrantfile_dir(lab: &Lab) -> Result<PathBuf, TargetError> {
    if let Some(d) = std::env::var_os("HALAB_VAGRANTFILE_DIR") {
        return Ok(PathBuf::from(d));
    }
    let file = std::path::absolute(&lab.file).map_err(|source| TargetError::Io {
        path: lab.file.clone(),
        source,
    })?;
    file.ancestors()
        .skip(1)
        .find(|d| d.join("Vagrantfile").is_file())
        .map(Path::to_path_buf)
        .ok_or(TargetError::NoVagrantfile { dir: file })
}

/// Every host of the lab and how to reach it. A vagrant lab's come from the `vagrant
/// ssh-config` that `up` saved (`bring_up_vms` writes it).
pub fn resolve_targets(lab: &Lab, state_dir: &Path) -> Result<Vec<Target>, TargetError> {
    if lab.provider != Provider::Vagrant {
        let config = config_file();
        return Ok(lab
            .nodes
            .iter()
            .filter_map(|n| Target::for_node(lab, n, config.as_deref()))
            .collect());
    }
    let path = state_dir.join(VAGRANT_SSH_CONFIG);
    let text = std::fs::read_to_string(&path).map_err(|source| TargetError::NoSshConfig {
        path: path.clone(),
        source,
    })?;
    let hosts = vagrant::parse_ssh_config(&text).map_err(TargetError::Vagrant)?;
    Ok(vagrant::targets(lab, &hosts)
        .map_err(TargetError::Vagrant)?
        .into_iter()
        .map(|t| Target {
            node: t.node.clone(),
            host: t.node,
            user: t.user,
            port: t.port,
            identity_file: None,
            jump: None,
            config_file: Some(path.clone()),
            accept_new_host_keys: lab.ssh.accept_new_host_keys,
        })
        .collect())
}

/// `vagrant up`, then its `ssh-config` saved for the ssh provider.
pub(super) fn bring_up_vms(
    lab: &Lab,
    state_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(), TargetError> {
    let dir = vagrantfile_dir(lab)?;
    progress(&format!("  vagrant up (Vagrantfile in {})", dir.display()));
    vagrant::vagrant_up(&dir, lab).map_err(TargetError::Vagrant)?;
    let text = vagrant::vagrant_ssh_config(&dir, lab).map_err(TargetError::Vagrant)?;
    let mut config = vagrant::ssh_config_for_lab(lab, &text).map_err(TargetError::Vagrant)?;
    if vagrant::provider() == vagrant::HALAB_PROVIDER {
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        let known =
            vagrant::halab_key_dir(&dir, &lab.name).join(crate::testbed::vagrant_vm::KNOWN_HOSTS);
        config = vagrant::pin_known_hosts(&config, &known);
    }
    std::fs::create_dir_all(state_dir).map_err(|source| TargetError::Io {
        path: state_dir.to_path_buf(),
        source,
    })?;
    let path = state_dir.join(VAGRANT_SSH_CONFIG);
    crate::state::write_private(&path, 0o600, config.as_bytes())
        .map_err(|source| TargetError::Io { path, source })
}

/// The client node the probe runs on over ssh, if the lab reaches it (an `ssh` section, or a
/// vagrant VM); else the probe runs on this machine.
pub fn remote_client<'a>(lab: &'a Lab, targets: &BTreeMap<String, Target>) -> Option<&'a Node> {
    lab.client().filter(|c| targets.contains_key(&c.name))
}
