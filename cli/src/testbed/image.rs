//! The root file system of the test bed's systemd hosts: Debian 12 made by `mmdebstrap` from
//! Debian packages, built once and cached, keyed by what goes into it.
//!
//! The image has systemd as init, sshd and the tools halab's ssh provider uses on a host, but
//! not the stack's packages (haproxy, keepalived, nginx-light, socat): those wait in a local
//! apt repository inside the image (`/srv/halab-repo`, `deb [trusted=yes] file:...`), the
//! image's only apt source, so the provider's `apt-get install` runs for real and never leaves
//! the host. Hosts boot it read-only with a tmpfs overlay (`systemd-nspawn --volatile=overlay`):
//! one image serves every host, and nothing a host does outlives it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sha2::{Digest, Sha256};

/// Installed in the image: init, sshd, and what the ssh provider runs on a host.
pub const PACKAGES: [&str; 12] = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "iproute2",
    "nftables",
    "procps",
    "psmisc",
    "sysvinit-utils",
    "curl",
    "iputils-ping",
    "tcpdump",
];
/// Downloaded into the image's local repository, not installed: what the provider installs.
pub const REPO_PACKAGES: [&str; 4] = ["haproxy", "keepalived", "nginx-light", "socat"];
pub const SUITE: &str = "bookworm";
/// Where the repository lies inside the image.
pub const REPO_DIR: &str = "/srv/halab-repo";
/// Overrides the cache directory.
pub const CACHE_ENV: &str = "HALAB_IMAGE_CACHE";
const DEFAULT_CACHE: &str = "/var/cache/halab/images";

/// mmdebstrap's customize hook ($1 = the new root): the local repository, no other apt
/// source, no host keys (each host gets its own), no /etc/hostname (the
/// build machine's; nspawn sets each host's), root's .ssh for the bed's key.
const HOOK: &str = r#"set -e
R="$1"
chroot "$R" apt-get install -y -q --download-only --no-install-recommends @REPO@
mkdir -p "$R@DIR@"
mv "$R"/var/cache/apt/archives/*.deb "$R@DIR@/"
(cd "$R@DIR@" && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null)
rm -f "$R"/etc/apt/sources.list "$R"/etc/apt/sources.list.d/*
echo 'deb [trusted=yes] file:@DIR@ ./' > "$R/etc/apt/sources.list.d/halab-local.list"
rm -f "$R"/etc/ssh/ssh_host_* "$R"/etc/hostname
install -d -m 700 "$R/root/.ssh"
"#;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "build the systemd hosts' image with mmdebstrap: {reason}\n  hint: scripts/setup installs mmdebstrap and systemd-container; the first build downloads Debian packages from the machine's apt sources (log: {log})"
    )]
    Build { reason: String, log: PathBuf },
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> ImageError + '_ {
    move |source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A built image.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Image {
    /// The root file system (read-only for the hosts).
    pub rootfs: PathBuf,
    /// Whether this call built it (false: it was cached).
    pub built: bool,
    pub seconds: f64,
}

/// The cache key: everything that makes the image what it is.
pub fn key() -> String {
    let mut h = Sha256::new();
    h.update(SUITE);
    for p in PACKAGES.iter().chain(&["--repo--"]).chain(&REPO_PACKAGES) {
        h.update(p);
        h.update([0]);
    }
    h.update(HOOK);
    let d = h.finalize();
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn hook_script() -> String {
    HOOK.replace("@REPO@", &REPO_PACKAGES.join(" "))
        .replace("@DIR@", REPO_DIR)
}

pub fn cache_dir() -> PathBuf {
    std::env::var_os(CACHE_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_CACHE), PathBuf::from)
}

/// The image, built if the cache lacks it. Concurrent callers wait for one build (a lock
/// file beside it); a failed build leaves nothing that counts as an image.
pub fn ensure(cache: &Path) -> Result<Image, ImageError> {
    let start = Instant::now();
    let dir = cache.join(key());
    let rootfs = dir.join("rootfs");
    let done = dir.join("done");
    if done.exists() {
        return Ok(Image {
            rootfs,
            built: false,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    fs::create_dir_all(&dir).map_err(io_at(&dir))?;
    let lock_path = dir.join("lock");
    let lock = fs::File::create(&lock_path).map_err(io_at(&lock_path))?;
    let _lock =
        nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| {
            ImageError::Io {
                path: lock_path.clone(),
                source: e.into(),
            }
        })?;
    if done.exists() {
        return Ok(Image {
            rootfs,
            built: false,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    let tmp = dir.join("rootfs.tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_at(&tmp))?;
    }
    if rootfs.exists() {
        fs::remove_dir_all(&rootfs).map_err(io_at(&rootfs))?;
    }
    let log = dir.join("build.log");
    let hook = dir.join("hook.sh");
    fs::write(&hook, hook_script()).map_err(io_at(&hook))?;
    let log_file = fs::File::create(&log).map_err(io_at(&log))?;
    let err_file = log_file.try_clone().map_err(io_at(&log))?;
    let status = Command::new("mmdebstrap")
        .args(["--variant=apt", "--format=directory"])
        .arg(format!("--include={}", PACKAGES.join(",")))
        .arg(format!("--customize-hook=sh {} \"$1\"", hook.display()))
        .arg(SUITE)
        .arg(&tmp)
        .stdin(std::process::Stdio::null())
        .stdout(log_file)
        .stderr(err_file)
        .status();
    let fail = |reason: String| ImageError::Build {
        reason,
        log: log.clone(),
    };
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => {
            let text = fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(6).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(fail(format!("{s}: {}", tail.join(" | "))));
        }
        Err(e) => return Err(fail(format!("run mmdebstrap: {e}"))),
    }
    fs::rename(&tmp, &rootfs).map_err(io_at(&rootfs))?;
    fs::write(&done, format!("{:.1}\n", start.elapsed().as_secs_f64())).map_err(io_at(&done))?;
    Ok(Image {
        rootfs,
        built: true,
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_fills_in_the_repository_and_the_key_is_hex() {
        let script = hook_script();
        assert!(!script.contains('@'), "{script}");
        assert!(script.contains("--no-install-recommends haproxy keepalived nginx-light socat"));
        assert!(script.contains("file:/srv/halab-repo ./"));
        assert_eq!(key().len(), 16);
        assert!(key().chars().all(|c| c.is_ascii_hexdigit()));
    }
}
