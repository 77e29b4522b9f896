//! Providers: where a lab's machines come from. `netns` (this machine, namespaces) today;
//! ssh and vagrant are open issues. A provider creates machines and lets halab run commands
//! and put files on them ([`crate::services::Machine`]).

pub mod netns;
