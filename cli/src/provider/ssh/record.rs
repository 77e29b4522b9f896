//! The record of what halab did on each host (`ssh.json` in the lab's state dir), so `down`
//! stops exactly that and `down --purge` removes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::facts::Facts;
use super::target::Target;
use crate::apply::UpError;
use crate::lab::model::Provider;
use crate::services::Service;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HostRecord {
    pub target: Option<Target>,
    pub facts: Facts,
    /// Packages halab installed (down --purge removes them).
    pub installed: Vec<String>,
    /// Files halab wrote, with whether it kept the original as FILE.bak.
    pub files: BTreeMap<String, bool>,
    /// Services halab started.
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub lab: String,
    pub provider: Option<Provider>,
    /// The lab file (`down` of a vagrant lab hands it to the Vagrantfile again).
    pub lab_file: Option<PathBuf>,
    pub hosts: BTreeMap<String, HostRecord>,
}

impl Record {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("ssh.json")
    }

    pub fn load(state_dir: &Path) -> Option<Record> {
        serde_json::from_str(&std::fs::read_to_string(Record::path(state_dir)).ok()?).ok()
    }

    pub(super) fn save(&self, state_dir: &Path) -> Result<(), UpError> {
        std::fs::create_dir_all(state_dir).map_err(|source| UpError::Write {
            path: state_dir.to_path_buf(),
            source,
        })?;
        let p = Record::path(state_dir);
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        crate::state::write_private(&p, 0o600, text.as_bytes())
            .map_err(|source| UpError::Write { path: p, source })
    }
}
