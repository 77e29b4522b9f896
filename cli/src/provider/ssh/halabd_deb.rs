//! halabd from its Debian package (`crate::deb`) on Debian hosts with systemd, instead of the
//! bare binary: installed with dpkg in the packages phase (before any file moves, like any
//! package), recorded as a package halab installed (so `down --purge` removes it). The
//! package's `/usr/sbin/halabd` checks the staged keepalived.conf and its unit runs the
//! service; the bare binary and the rendered unit are not sent to these hosts.

use std::path::Path;
use std::sync::OnceLock;

use super::connection::{Conn, ConnError, EXEC_TIMEOUT, INSTALL_TIMEOUT};
use super::facts::Facts;
use crate::deb::{self, DebError};
use crate::lab::model::{Engine, Node};

#[derive(Debug, thiserror::Error)]
pub enum HalabdDebError {
    #[error("build halabd's package here: {0}")]
    Build(String),
    #[error(transparent)]
    Conn(#[from] ConnError),
    #[error("node {node}: installing halabd's package with dpkg failed (exit {code}):\n    {tail}")]
    Install {
        node: String,
        code: i32,
        tail: String,
    },
}

/// Whether `n` gets halabd as a package: it runs halabd, on a Debian host with systemd.
pub(super) fn applies(n: &Node, f: &Facts) -> bool {
    n.engine == Some(Engine::Halabd) && f.pkg.as_deref() == Some("apt") && f.systemd
}

/// The digest of `/usr/sbin/halabd` in the package built from `halabd`, once per run.
fn wanted_sha256(halabd: &Path) -> Result<&'static str, HalabdDebError> {
    static WANT: OnceLock<Result<String, String>> = OnceLock::new();
    WANT.get_or_init(|| {
        super::items::binary_bytes(halabd)
            .map(|b| super::items::sha256_hex(&b))
            .map_err(|e| format!("{}: {e}", halabd.display()))
    })
    .as_ref()
    .map(String::as_str)
    .map_err(|e| HalabdDebError::Build(e.clone()))
}

struct Built {
    file_name: String,
    bytes: Vec<u8>,
}

/// The package, built once per run from the halabd binary of this run.
fn built(halabd: &Path) -> Result<&'static Built, HalabdDebError> {
    static BUILT: OnceLock<Result<Built, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let d = deb::build(halabd, dir.path()).map_err(|e: DebError| e.to_string())?;
            let bytes = std::fs::read(&d.path).map_err(|e| e.to_string())?;
            Ok(Built {
                file_name: d
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                bytes,
            })
        })
        .as_ref()
        .map_err(|e| HalabdDebError::Build(e.clone()))
}

/// Installs the package unless the host's `/usr/sbin/halabd` is this build's already.
/// `Some("halabd")` when the package was not installed before (halab now owns it).
pub(super) fn ensure(c: &Conn, halabd: &Path) -> Result<Option<String>, HalabdDebError> {
    let state = c.run(
        &[
            "sh",
            "-c",
            &format!(
                "sha256sum {} 2>/dev/null | cut -d' ' -f1; dpkg-query -W -f='${{Status}}\\n' {} 2>/dev/null; true",
                deb::BINARY,
                deb::PACKAGE
            ),
        ],
        None,
        EXEC_TIMEOUT,
    )?;
    let mut lines = state.stdout.lines();
    let digest = lines.next().unwrap_or("").trim();
    let was_installed = lines
        .next()
        .is_some_and(|s| s.trim() == "install ok installed");
    // The package's binary is this one stripped the same way: no build when it is there.
    let want = wanted_sha256(halabd)?;
    if digest == want && was_installed {
        return Ok(None);
    }
    let b = built(halabd)?;
    let path = format!("/var/tmp/halab-{}", b.file_name);
    c.upload(&path, &b.bytes)?;
    let out = c.run(
        &[
            "sh",
            "-c",
            &format!(
                "DEBIAN_FRONTEND=noninteractive dpkg -i '{path}'; rc=$?; rm -f '{path}'; exit $rc"
            ),
        ],
        None,
        INSTALL_TIMEOUT,
    )?;
    if !out.ok() {
        let text = format!("{}{}", out.stdout, out.stderr);
        let lines: Vec<&str> = text.lines().collect();
        return Err(HalabdDebError::Install {
            node: c.target.node.clone(),
            code: out.code,
            tail: lines[lines.len().saturating_sub(6)..].join("\n    "),
        });
    }
    Ok((!was_installed).then(|| deb::PACKAGE.to_string()))
}
