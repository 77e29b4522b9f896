//! The files a host gets (rendered artefacts and this machine's binaries) and their digests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::PROBE_BIN;
use super::facts::{Facts, FitError, binaries_fit};
use crate::lab::model::{Engine, Node};
use crate::render::{Artefact, Check};
use crate::services::HALABD_ON_MACHINE;

/// The unit halab renders for halabd (the package ships its own).
const HALABD_UNIT: &str = "/etc/systemd/system/halabd.service";

/// One file to put on a host: a rendered artefact or a binary of this machine.
pub(super) struct Item {
    pub(super) path: String,
    pub(super) mode: u32,
    pub(super) bytes: Vec<u8>,
    pub(super) check: Check,
}

pub(super) fn sha256_hex(b: &[u8]) -> String {
    // Binaries (tens of MB) go through coreutils: sha2 in a debug build takes seconds.
    if b.len() > 1 << 20
        && let Some(hex) = sha256_by_coreutils(b)
    {
        return hex;
    }
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

pub(super) fn sha256_by_coreutils(b: &[u8]) -> Option<String> {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let writer = std::thread::scope(|s| {
        let w = s.spawn(move || stdin.write_all(b));
        let out = child.wait_with_output().ok();
        let _ = w.join();
        out
    })?;
    let hex = String::from_utf8_lossy(&writer.stdout)
        .split_whitespace()
        .next()?
        .to_string();
    (hex.len() == 64).then_some(hex)
}

#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    #[error(transparent)]
    Fit(#[from] FitError),
    #[error("{}: {source} (build it: cargo build -p halabd)", path.display())]
    Halabd {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Probe {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("this executable: {0}")]
    Exe(std::io::Error),
}

/// The files a host gets: the node's artefacts (systemd units only where systemd runs), and
/// the binaries it runs that are not packages (halabd, the probe). `packaged_halabd`: the
/// host runs halabd from its Debian package (`halabd_deb.rs`), unit included.
pub(super) fn items(
    n: &Node,
    artefacts: &[Artefact],
    f: &Facts,
    halabd: &Path,
    probe_here: bool,
    packaged_halabd: bool,
) -> Result<Vec<Item>, ItemError> {
    let mut out: Vec<Item> = artefacts
        .iter()
        .filter(|a| a.node == n.name && (f.systemd || !a.path.starts_with("/etc/systemd/")))
        .filter(|a| !(packaged_halabd && a.path == HALABD_UNIT))
        .map(|a| Item {
            path: a.path.clone(),
            mode: a.mode,
            bytes: a.bytes.clone(),
            check: a.check,
        })
        .collect();
    if n.engine == Some(Engine::Halabd) && !packaged_halabd {
        binaries_fit(&n.name, f, "halabd")?;
        let bytes = binary_bytes(halabd).map_err(|source| ItemError::Halabd {
            path: halabd.to_path_buf(),
            source,
        })?;
        out.push(Item {
            path: HALABD_ON_MACHINE.to_string(),
            mode: 0o755,
            bytes,
            check: Check::None,
        });
    }
    if probe_here {
        binaries_fit(&n.name, f, "halab (the probe)")?;
        let exe = std::env::current_exe().map_err(ItemError::Exe)?;
        let bytes = binary_bytes(&exe).map_err(|source| ItemError::Probe {
            path: exe.clone(),
            source,
        })?;
        out.push(Item {
            path: PROBE_BIN.to_string(),
            mode: 0o755,
            bytes,
            check: Check::None,
        });
    }
    Ok(out)
}

/// A binary to send, without its debug info when binutils' `strip` is at hand (a debug
/// build of halab is 130 MB, 10 MB stripped); the same input always gives the same bytes, so
/// a re-run still sees no change.
pub(super) fn binary_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    let tmp = tempfile::NamedTempFile::new()?;
    let stripped = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(tmp.path())
        .arg(path)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if stripped {
        std::fs::read(tmp.path())
    } else {
        std::fs::read(path)
    }
}

/// The tool dirs a check sees staged: a config and its siblings (keepalived's scripts,
/// halabd) are checked together, as they will be live.
pub(super) const TOOL_DIRS: [&str; 3] = ["/etc/haproxy", "/etc/keepalived", "/etc/nginx"];

pub(super) fn tool_dir(path: &str) -> Option<&'static str> {
    TOOL_DIRS
        .into_iter()
        .find(|d| path.starts_with(&format!("{d}/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_belong_to_their_tool_and_service() {
        assert_eq!(tool_dir("/etc/haproxy/haproxy.cfg"), Some("/etc/haproxy"));
        assert_eq!(tool_dir("/etc/keepalived/halabd"), Some("/etc/keepalived"));
        assert_eq!(tool_dir("/etc/hosts"), None);
        assert_eq!(tool_dir("/etc/haproxyX/y"), None);
    }

    #[test]
    fn digests_agree_with_coreutils() {
        // sha256sum is in coreutils, on every host halab provisions: it must be there.
        let small = b"frontend main\n".to_vec();
        let big = vec![7u8; (1 << 20) + 1];
        // sha256sum is in coreutils, on every host halab provisions: it must be there.
        for b in [small, big] {
            use sha2::Digest;
            let by_tool = sha256_by_coreutils(&b).expect("sha256sum (coreutils) runs");
            let by_crate: String = sha2::Sha256::digest(&b)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect();
            assert_eq!(by_tool, by_crate);
            assert_eq!(sha256_hex(&b), by_tool);
        }
    }
}
