//! A host as a [`Machine`].

use std::sync::Arc;

use super::connection::{Conn, EXEC_TIMEOUT};
use crate::services::{Machine, Output, sh_quote};

/// A host as a [`Machine`].
#[derive(Clone)]
pub struct SshMachine(pub Arc<Conn>);

impl Machine for SshMachine {
    fn name(&self) -> &str {
        &self.0.target.node
    }

    fn exec(&self, argv: &[&str]) -> Result<Output, String> {
        self.0
            .run(argv, None, EXEC_TIMEOUT)
            .map_err(|e| e.to_string())
    }

    fn write_file(&self, path: &str, mode: u32, bytes: &[u8]) -> Result<(), String> {
        let q = sh_quote(path);
        let script = format!(
            "umask 077; mkdir -p \"$(dirname {q})\" && cat > {q}.halab-new && chmod {mode:o} {q}.halab-new && mv -f {q}.halab-new {q}"
        );
        let out = self
            .0
            .run(&["sh", "-c", &script], Some(bytes), EXEC_TIMEOUT)
            .map_err(|e| e.to_string())?;
        if out.ok() {
            Ok(())
        } else {
            Err(format!(
                "failed to write {path} on {}: {}",
                self.name(),
                out.stderr.trim()
            ))
        }
    }

    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        let q = sh_quote(path);
        let out = self
            .0
            .run(
                &["sh", "-c", &format!("[ -e {q} ] || exit 3; cat {q}")],
                None,
                EXEC_TIMEOUT,
            )
            .map_err(|e| e.to_string())?;
        match out.code {
            0 => Ok(Some(out.stdout.into_bytes())),
            3 => Ok(None),
            _ => Err(format!(
                "failed to read {path} on {}: {}",
                self.name(),
                out.stderr.trim()
            )),
        }
    }

    fn systemd(&self) -> bool {
        *self.0.systemd.get_or_init(|| {
            self.0
                .run(&["test", "-d", "/run/systemd/system"], None, EXEC_TIMEOUT)
                .is_ok_and(|o| o.ok())
        })
    }
}
