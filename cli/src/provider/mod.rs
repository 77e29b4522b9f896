//! Providers: where a lab's machines come from. `netns` (this machine, namespaces) today;
//! ssh is an open issue; `vagrant` has its vagrant half (VMs from the Vagrantfile, their ssh
//! config), the rest is the ssh provider. A provider creates machines and lets halab run
//! commands and put files on them ([`crate::services::Machine`]).

pub mod netns;
pub mod vagrant;
