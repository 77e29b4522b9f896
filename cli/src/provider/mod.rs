//! Providers: where a lab's machines come from. `netns` (this machine, namespaces), `ssh`
//! (existing hosts) and `vagrant` (VMs made by vagrant, then reached as ssh hosts). A
//! provider creates or reaches machines and hands the rest of halab a [`Fleet`]; the
//! [`Provider`] trait is the only place that picks one.

pub mod netns;
pub mod ssh;
pub mod vagrant;

use std::path::Path;
use std::sync::Arc;

use crate::apply::{UpError, UpOptions, UpReport};
use crate::fleet::Fleet;
use crate::lab::Lab;
use crate::lab::model::{Engine, Provider as Kind};
use crate::state::state_dir;

/// What a provider does with a lab; each keeps what it knows in the lab's state dir.
pub trait Provider: Sync {
    /// Brings the lab up, or applies what changed to the running lab.
    fn up(&self, lab: &Lab, opts: &mut UpOptions) -> Result<UpReport, UpError>;
    /// Takes the lab down from its state dir alone; None: nothing was up.
    fn down(&self, state_dir: &Path, purge: bool) -> Result<Option<DownReport>, UpError>;
    /// Whether halab brought this lab up (and has not taken it down) on this machine.
    fn is_up(&self, state_dir: &Path) -> bool;
    /// The running lab's machines.
    fn fleet(&self, lab: &Lab, state_dir: &Path) -> Result<Arc<dyn Fleet>, String>;
}

/// What `down` did.
#[derive(Debug)]
pub enum DownReport {
    Namespaces(halab_netns::DownReport),
    Hosts(ssh::down::DownReport),
}

/// The provider a lab file asks for.
pub fn of(kind: Kind) -> &'static dyn Provider {
    match kind {
        Kind::Netns => &netns::Netns,
        Kind::Ssh | Kind::Vagrant => &ssh::Ssh,
    }
}

/// The provider whose state is in `state_dir` (a lab is taken down by its name alone).
fn of_state(state_dir: &Path) -> &'static dyn Provider {
    if ssh::record::Record::path(state_dir).exists() {
        &ssh::Ssh
    } else {
        &netns::Netns
    }
}

/// Brings the lab up, or applies what changed; an engine cannot change on a running lab
/// (that is a new lab), so such an `up` is refused before anything moves.
pub fn up(lab: &Lab, opts: &mut UpOptions) -> Result<UpReport, UpError> {
    let dir = state_dir(&opts.state_root, &lab.name);
    let provider = of(lab.provider);
    if provider.is_up(&dir)
        && let Some(running) = crate::state::running_engines(&dir)
    {
        let changed: Vec<String> = lab
            .lbs()
            .filter_map(|n| {
                let (now, want) = (running.get(&n.name)?, n.engine?);
                (*now != want).then(|| {
                    format!(
                        "{} runs {}, the lab file says {}",
                        n.name,
                        name(*now),
                        name(want)
                    )
                })
            })
            .collect();
        if !changed.is_empty() {
            return Err(UpError::EngineChanged(changed.join("; ")));
        }
    }
    let report = provider.up(lab, opts)?;
    crate::state::save_engines(&dir, lab).map_err(|source| UpError::Write {
        path: dir.clone(),
        source,
    })?;
    Ok(report)
}

fn name(e: Engine) -> String {
    format!("{e:?}").to_lowercase()
}

/// The lab as it runs: the lab file with each LB's engine as recorded when it came up
/// (`halab test --engine mixed --keep` leaves other engines than the file's).
pub fn as_running(lab: &Lab, state_root: &Path) -> Lab {
    let mut lab = lab.clone();
    if let Some(running) = crate::state::running_engines(&state_dir(state_root, &lab.name)) {
        for n in lab.nodes.iter_mut() {
            if let Some(e) = running.get(&n.name) {
                n.engine = Some(*e);
            }
        }
    }
    lab
}

/// Takes the lab named `lab` down, whichever provider brought it up.
pub fn down(state_root: &Path, lab: &str, purge: bool) -> Result<Option<DownReport>, UpError> {
    let dir = state_dir(state_root, lab);
    of_state(&dir).down(&dir, purge)
}

pub fn is_up(lab: &Lab, state_root: &Path) -> bool {
    of(lab.provider).is_up(&state_dir(state_root, &lab.name))
}

pub fn open_fleet(lab: &Lab, state_root: &Path) -> Result<Arc<dyn Fleet>, String> {
    of(lab.provider).fleet(lab, &state_dir(state_root, &lab.name))
}
