//! The netns provider's machinery: a lab on this machine, one set of Linux namespaces per
//! node, independent of the lab model (see docs/netns.md).
//!
//! Each node is like a container without an image: its own network, PID, UTS, mount and IPC
//! namespaces under an init of halab's own ([`init`]), the host's /usr, and private /etc
//! entries, /run, /tmp, /var/log, /var/lib/... from the lab's state dir ([`layout`]). Nodes
//! are wired by veth pairs to bridges in a switch namespace; the root namespace gets no link,
//! route or address. Start reading at [`up`], then [`NodeHandle`] and [`down`].

mod command;
mod down;
mod enter;
mod error;
mod faults;
mod init;
mod lab;
pub mod layout;
mod links;
pub mod names;
mod node;
mod node_fs;
mod plan;
mod procfs;
mod state;
mod up;

pub use command::ExecOutput;
pub use down::{DownReport, down, leftovers};
pub use enter::{NETNS_DIR, in_netns};
pub use error::{NetnsError, Result};
pub use faults::DropRule;
pub use init::{NodeInitArgs, node_init_main};
pub use lab::{LabGuard, LabHandle, UpTimings};
pub use node::{DAEMON_TIMEOUT, EXEC_TIMEOUT, NodeHandle, Pending};
pub use plan::{Cidr, IfPlan, NetPlan, NetnsPlan, NodePlan};
pub use procfs::ProcId;
pub use state::{LabState, NodeState, STATE_FILE};
pub use up::{InitCommand, up};
