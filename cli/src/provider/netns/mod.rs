//! The netns provider (the local default): each node a set of namespaces on this machine
//! (`halab_netns`), the lab's networks a switch namespace with a bridge per network.
//!
//! [`plan`] lowers the lab model onto `halab_netns`; [`up`] builds the lab or applies what
//! changed ([`applied`] remembers what it was built from); [`down`] tears it down from its
//! state dir; [`machine`] and [`fleet`] are the running lab as the rest of halab sees it.

pub mod applied;
pub mod down;
pub mod fleet;
pub mod machine;
pub mod plan;
pub mod up;

use std::path::Path;
use std::sync::Arc;

use super::{DownReport, Provider};
use crate::apply::{UpError, UpOptions, UpReport};
use crate::fleet::Fleet;
use crate::lab::Lab;
pub use fleet::NetnsFleet;
pub use machine::NetnsMachine;

pub struct Netns;

impl Provider for Netns {
    fn up(&self, lab: &Lab, opts: &mut UpOptions) -> Result<UpReport, UpError> {
        up::up(lab, opts)
    }

    fn down(&self, state_dir: &Path, _purge: bool) -> Result<Option<DownReport>, UpError> {
        Ok(down::down(state_dir)?.map(DownReport::Namespaces))
    }

    fn is_up(&self, state_dir: &Path) -> bool {
        halab_netns::LabState::path(state_dir).exists()
    }

    fn fleet(&self, lab: &Lab, state_dir: &Path) -> Result<Arc<dyn Fleet>, String> {
        Ok(Arc::new(NetnsFleet::open(lab, state_dir).map_err(
            |_| {
                format!(
                    "lab {} is not up\n  hint: run `halab up` with this lab file first",
                    lab.name
                )
            },
        )?))
    }
}
