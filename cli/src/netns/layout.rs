//! The file system a node sees, and where each private part lives on the host.
//!
//! A node shares the host's /usr, /bin, /lib (so the Debian haproxy, nginx and keepalived run
//! as installed) but gets its own copy of the paths its daemons write or read as configuration.
//! Everything private is a directory under the node's root dir (`STATE/nodes/<node>`), bind
//! mounted over the Debian default path inside the node's mount namespace. The host side can so
//! read pidfiles and logs without entering the node, and a crashed lab leaves only the state dir.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A directory of the node's root dir mounted over a path of the node.
#[derive(Debug, Clone, Copy)]
pub struct Bind {
    /// Relative to the node's root dir.
    pub source: &'static str,
    /// The absolute path inside the node.
    pub target: &'static str,
    pub mode: u32,
    /// Optional targets are skipped when the host lacks them (e.g. /var/lib/haproxy without
    /// haproxy installed): creating a mount point would write to the host's file system.
    pub required: bool,
}

pub const BINDS: &[Bind] = &[
    Bind { source: "run", target: "/run", mode: 0o755, required: true },
    Bind { source: "tmp", target: "/tmp", mode: 0o1777, required: true },
    Bind { source: "log", target: "/var/log", mode: 0o755, required: true },
    Bind { source: "lib/haproxy", target: "/var/lib/haproxy", mode: 0o755, required: false },
    Bind { source: "lib/nginx", target: "/var/lib/nginx", mode: 0o755, required: false },
    Bind { source: "lib/keepalived", target: "/var/lib/keepalived", mode: 0o755, required: false },
    Bind { source: "www", target: "/var/www", mode: 0o755, required: false },
];

/// Directories the Debian packages expect to exist (their units or postinst create them on a
/// real host): haproxy's stats socket dir, the log dirs nginx refuses to start without.
pub const SUBDIRS: &[&str] = &["run/haproxy", "run/nginx", "run/keepalived", "log/nginx", "log/haproxy", "log/keepalived"];

/// Every entry of `ROOT/etc` (files and directories alike) is mounted over `/etc/<entry>`:
/// `hosts`, `hostname`, `haproxy/`, `keepalived/`, `nginx/`. The host's entry must exist (see
/// [`Bind::required`]); a rendered directory replaces the host's one entirely.
pub const ETC: &str = "etc";

/// Where the node's init writes its own errors.
pub const INIT_LOG: &str = "init.log";

/// The node's root dir inside a lab's state dir.
pub fn node_root(state_dir: &Path, node: &str) -> PathBuf {
    state_dir.join("nodes").join(node)
}

/// Creates the node's private directories (idempotent).
pub fn prepare(root: &Path) -> std::io::Result<()> {
    for bind in BINDS {
        let dir = root.join(bind.source);
        fs::DirBuilder::new().recursive(true).mode(bind.mode).create(&dir)?;
        // The umask may have cut the mode (1777 on tmp matters for non-root daemons).
        fs::set_permissions(&dir, fs::Permissions::from_mode(bind.mode))?;
    }
    for sub in SUBDIRS {
        fs::DirBuilder::new().recursive(true).mode(0o755).create(root.join(sub))?;
    }
    fs::DirBuilder::new().recursive(true).mode(0o755).create(root.join(ETC))
}

/// The host path behind `node_path` for a node whose root dir is `root`, if `node_path` lies
/// in one of its private directories.
pub fn host_path(root: &Path, node_path: &str) -> Option<PathBuf> {
    let node_path = Path::new(node_path);
    if !node_path.is_absolute() || node_path.components().any(|c| c == std::path::Component::ParentDir) {
        return None;
    }
    let etc_entry = node_path.strip_prefix("/etc").ok().and_then(|rest| {
        let first = rest.components().next()?;
        let source = root.join(ETC).join(first);
        source.exists().then(|| root.join(ETC).join(rest))
    });
    etc_entry.or_else(|| {
        BINDS
            .iter()
            .filter(|b| b.required || Path::new(b.target).exists())
            .filter_map(|b| node_path.strip_prefix(b.target).ok().map(|rest| (b, rest)))
            .max_by_key(|(b, _)| b.target.len())
            .map(|(b, rest)| root.join(b.source).join(rest))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_private_paths() {
        let root = Path::new("/state/nodes/lb1");
        assert_eq!(host_path(root, "/run/haproxy.pid"), Some(root.join("run/haproxy.pid")));
        assert_eq!(host_path(root, "/var/log/nginx/error.log"), Some(root.join("log/nginx/error.log")));
        assert_eq!(host_path(root, "/tmp"), Some(root.join("tmp")));
        assert_eq!(host_path(root, "/usr/sbin/nginx"), None);
        assert_eq!(host_path(root, "/run/../etc/passwd"), None);
        assert_eq!(host_path(root, "run/x"), None);
    }
}
