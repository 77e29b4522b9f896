//! A running netns node as a [`Machine`]: commands run inside its namespaces, files reach it
//! through its root dir on this machine.

use crate::services::{Machine, Output};
use crate::state::write_private;
use halab_netns::NodeHandle;

/// A running node as a [`Machine`].
pub struct NetnsMachine(pub NodeHandle);

impl Machine for NetnsMachine {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn exec(&self, argv: &[&str]) -> Result<Output, String> {
        let out = self.0.exec(argv).map_err(|e| e.to_string())?;
        Ok(Output {
            code: out.code(),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn write_file(&self, path: &str, mode: u32, bytes: &[u8]) -> Result<(), String> {
        let host = self
            .0
            .host_path(path)
            .ok_or_else(|| format!("{path} is not reachable in node {}", self.0.name()))?;
        write_private(&host, mode, bytes)
            .map_err(|e| format!("failed to write {path} on {}: {e}", self.0.name()))
    }

    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        let Some(host) = self.0.host_path(path) else {
            return Ok(None);
        };
        match std::fs::read(&host) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("failed to read {path} on {}: {e}", self.0.name())),
        }
    }
}
