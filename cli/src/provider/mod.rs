//! Providers: where a lab's machines come from. `netns` (this machine, namespaces), `ssh`
//! (existing hosts) and `vagrant` (VMs made by vagrant, then reached as ssh hosts). A
//! provider creates or reaches machines and hands the rest of halab a [`Fleet`].

pub mod netns;
pub mod ssh;
pub mod vagrant;

use std::path::Path;
use std::sync::Arc;

use crate::fleet::{Fleet, NetnsFleet};
use crate::lab::Lab;
use crate::lab::model::Provider;

/// Whether halab brought this lab up (and has not taken it down) on this machine.
pub fn is_up(lab: &Lab, state_root: &Path) -> bool {
    let dir = netns::state_dir(state_root, &lab.name);
    match lab.provider {
        Provider::Netns => halab_netns::LabState::path(&dir).exists(),
        Provider::Ssh | Provider::Vagrant => ssh::Record::path(&dir).exists(),
    }
}

/// The running lab's machines.
pub fn open_fleet(lab: &Lab, state_root: &Path) -> Result<Arc<dyn Fleet>, String> {
    let dir = netns::state_dir(state_root, &lab.name);
    match lab.provider {
        Provider::Netns => Ok(Arc::new(NetnsFleet::open(lab, &dir).map_err(|_| {
            format!(
                "lab {} is not up\n  hint: run `halab up` with this lab file first",
                lab.name
            )
        })?)),
        Provider::Ssh | Provider::Vagrant => Ok(Arc::new(ssh::SshFleet::connect(lab, &dir)?)),
    }
}
