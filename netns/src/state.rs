//! The lab's state file, `STATE/netns.json`: everything teardown needs after a crash of halab,
//! of a daemon or of a node's init. It is written before anything is created (the names) and
//! again as processes start (their PIDs with start times), always by write-then-rename, so it
//! is never half written.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{NetnsError, Result, io_at};
use super::procfs::ProcId;

pub const STATE_FILE: &str = "netns.json";
const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    pub version: u32,
    pub lab: String,
    pub switch_ns: String,
    /// The switch namespace's inode once created: teardown deletes a name only while it still
    /// names the namespace this lab made (not one a later lab made under the same name).
    pub switch_ino: Option<u64>,
    pub nodes: Vec<NodeState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    pub name: String,
    pub netns: String,
    /// The network namespace's inode once named (see [`LabState::switch_ino`]).
    pub netns_ino: Option<u64>,
    /// The node's init as the host sees it: the target of nsenter and `ip netns attach`.
    pub init: Option<ProcId>,
}

impl LabState {
    pub fn new(lab: &str, switch_ns: String, nodes: Vec<NodeState>) -> LabState {
        LabState {
            version: VERSION,
            lab: lab.to_owned(),
            switch_ns,
            switch_ino: None,
            nodes,
        }
    }

    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(STATE_FILE)
    }

    /// Every namespace name this lab may have created, with its inode when known.
    pub fn namespaces(&self) -> impl Iterator<Item = (&str, Option<u64>)> {
        std::iter::once((self.switch_ns.as_str(), self.switch_ino))
            .chain(self.nodes.iter().map(|n| (n.netns.as_str(), n.netns_ino)))
    }

    pub fn save(&self, state_dir: &Path) -> Result<()> {
        let path = Self::path(state_dir);
        let tmp = state_dir.join(format!("{STATE_FILE}.tmp"));
        let json = serde_json::to_vec_pretty(self).map_err(|e| NetnsError::State {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        fs::write(&tmp, json).map_err(io_at(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_at(&path))
    }

    /// `Ok(None)` when the state dir holds no state file.
    pub fn load(state_dir: &Path) -> Result<Option<LabState>> {
        let path = Self::path(state_dir);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(NetnsError::Io { path, source: e }),
        };
        let state: LabState = serde_json::from_slice(&bytes).map_err(|e| NetnsError::State {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if state.version != VERSION {
            let reason = format!(
                "state version {} is not {VERSION}: written by another halab",
                state.version
            );
            return Err(NetnsError::State { path, reason });
        }
        Ok(Some(state))
    }
}
