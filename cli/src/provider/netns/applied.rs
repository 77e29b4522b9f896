//! What a running netns lab was built from (`applied.json` in its state dir), to tell what a
//! second `up` changes and what it must refuse.

use std::collections::BTreeMap;
use std::path::Path;

use crate::apply::UpError;
use crate::lab::Lab;
use crate::render::Artefact;
use crate::state::write_private;

/// The artefacts a running lab was built from, to tell what a second `up` changes.
pub const APPLIED: &str = "applied.json";

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Applied {
    pub topology: Option<String>,
    /// "node:path" -> digest of the bytes.
    pub files: BTreeMap<String, String>,
}

/// What cannot change on a running lab: nodes, their addresses, networks.
pub fn topology(lab: &Lab) -> String {
    let nets: Vec<String> = lab
        .networks
        .iter()
        .map(|n| format!("{}={}", n.name, n.cidr))
        .collect();
    let nodes: Vec<String> = lab
        .nodes
        .iter()
        .map(|n| {
            format!(
                "{}={}",
                n.name,
                n.interfaces
                    .iter()
                    .map(|i| format!("{}@{}/{}", i.address, i.network, i.name))
                    .collect::<Vec<_>>()
                    .join("+")
            )
        })
        .collect();
    format!("networks [{}] nodes [{}]", nets.join(" "), nodes.join(" "))
}

/// FNV-1a, 64 bit: enough to tell changed files apart, and no secret is stored in clear.
pub fn digest(b: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in b {
        h ^= u64::from(*x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}:{}", b.len())
}

pub fn save_applied(dir: &Path, lab: &Lab, artefacts: &[Artefact]) -> Result<(), UpError> {
    let a = Applied {
        topology: Some(topology(lab)),
        files: artefacts
            .iter()
            .map(|a| (format!("{}:{}", a.node, a.path), digest(&a.bytes)))
            .collect(),
    };
    let p = dir.join(APPLIED);
    let text = serde_json::to_string_pretty(&a).unwrap_or_default();
    write_private(&p, 0o600, text.as_bytes()).map_err(|source| UpError::Write { path: p, source })
}

pub fn load_applied(dir: &Path) -> Applied {
    std::fs::read_to_string(dir.join(APPLIED))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}
