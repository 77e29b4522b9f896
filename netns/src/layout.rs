//! The file system a node sees, and where each private part lives.
//!
//! A node shares the host's /usr, /bin, /lib (so the Debian haproxy, nginx and keepalived run
//! as installed) but gets its own copy of the paths its daemons write, or read as
//! configuration:
//!
//! - runtime paths (/run, /tmp, /var/lib/...) are tmpfs mounts of the node's mount namespace:
//!   nothing on disk, gone with the node. The host reaches them through
//!   `/proc/<init>/root/...`.
//! - rendered and kept paths live in the node's root dir (`STATE/nodes/<node>`), bind mounted
//!   over their Debian default path: every entry of `ROOT/etc` over `/etc/<entry>`, `ROOT/www`
//!   (if rendered) over /var/www, `ROOT/log` over /var/log (so logs survive a crash for the
//!   post-mortem).
//!
//! A host-like node (the test bed's "real hosts", see docs/netns.md) instead gets an overlayfs
//! over each of [`OVERLAYS`] (/etc, /var, /root): the host's directory below, the node's
//! upper and work dirs in `ROOT/overlay/<name>/`, so whatever the node writes there (dpkg
//! state, rendered configs, /root/.ssh) lands in its root dir and never on the host. Of
//! [`PRIVATE`] it keeps only the paths outside the overlays (/run, /tmp).
//!
//! Few directories on disk matters: on an ext4 mounted with `discard`, each removed directory
//! costs a synchronous discard (measured: 1.5 s to remove 52 nodes' 16 directories each).

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Component, Path, PathBuf};

/// What backs a private path of the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// A tmpfs of the node's own, with this mode.
    Tmpfs { mode: u32 },
    /// A directory of the node's root dir, relative to it.
    RootDir(&'static str),
    /// The root dir's directory if it exists (rendered before `up`), else a tmpfs.
    RootDirOrTmpfs(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Private {
    /// The absolute path inside the node.
    pub target: &'static str,
    pub backing: Backing,
    /// Optional targets are skipped when the host lacks them (e.g. /var/lib/haproxy without
    /// haproxy installed): creating a mount point would write to the host's file system.
    pub required: bool,
}

pub const PRIVATE: &[Private] = &[
    Private {
        target: "/run",
        backing: Backing::Tmpfs { mode: 0o755 },
        required: true,
    },
    Private {
        target: "/tmp",
        backing: Backing::Tmpfs { mode: 0o1777 },
        required: true,
    },
    Private {
        target: "/var/log",
        backing: Backing::RootDir("log"),
        required: true,
    },
    Private {
        target: "/var/lib/haproxy",
        backing: Backing::Tmpfs { mode: 0o755 },
        required: false,
    },
    Private {
        target: "/var/lib/nginx",
        backing: Backing::Tmpfs { mode: 0o755 },
        required: false,
    },
    Private {
        target: "/var/lib/keepalived",
        backing: Backing::Tmpfs { mode: 0o755 },
        required: false,
    },
    Private {
        target: "/var/www",
        backing: Backing::RootDirOrTmpfs("www"),
        required: false,
    },
];

/// Size cap of each tmpfs: a runaway daemon must not eat the host's memory.
pub const TMPFS_SIZE: &str = "64m";

/// Directories the Debian packages expect (their units or postinst create them on a real
/// host): haproxy's stats socket dir, the log dirs nginx refuses to start without. Created
/// inside the node once its private paths are mounted.
pub const NODE_DIRS: &[&str] = &[
    "/run/haproxy",
    "/run/nginx",
    "/run/keepalived",
    "/var/log/nginx",
];

/// Every entry of `ROOT/etc` (files and directories alike) is mounted over `/etc/<entry>`:
/// `hosts`, `hostname`, `haproxy/`, `keepalived/`, `nginx/`. The host's entry must exist (see
/// [`Private::required`]); a rendered directory replaces the host's one entirely.
pub const ETC: &str = "etc";

/// The paths a host-like node covers with an overlayfs (the host's directory as the lower
/// layer). /usr is not among them: the node uses the host's packages, read-only.
pub const OVERLAYS: &[&str] = &["/etc", "/var", "/root"];

/// A host-like node's overlay dirs: `ROOT/overlay/<etc|var|root>/{upper,work}`.
pub const OVERLAY: &str = "overlay";

/// The upper dir of the overlay over `target` (one of [`OVERLAYS`]): what the node wrote
/// there. `/etc/hosts` written here before the node starts shadows the host's.
pub fn overlay_dir(root: &Path, target: &str, part: &str) -> PathBuf {
    root.join(OVERLAY)
        .join(target.trim_start_matches('/'))
        .join(part)
}

/// Whether the node at `root` is host-like (its overlay dirs exist).
pub fn is_host_like(root: &Path) -> bool {
    root.join(OVERLAY).is_dir()
}

/// The private paths of a node: all of [`PRIVATE`], or for a host-like node those outside
/// its overlays (the /var overlay replaces /var/log, /var/lib/... and /var/www).
pub fn privates(host_like: bool) -> impl Iterator<Item = &'static Private> {
    PRIVATE
        .iter()
        .filter(move |p| !host_like || !OVERLAYS.iter().any(|o| Path::new(p.target).starts_with(o)))
}

/// Where the node's init writes its own errors.
pub const INIT_LOG: &str = "init.log";

/// The node's root dir inside a lab's state dir.
pub fn node_root(state_dir: &Path, node: &str) -> PathBuf {
    state_dir.join("nodes").join(node)
}

/// Creates the node's directories on disk (idempotent).
pub fn prepare(root: &Path, host_like: bool) -> std::io::Result<()> {
    let mut dirs = Vec::new();
    if host_like {
        for target in OVERLAYS {
            dirs.push(overlay_dir(root, target, "upper"));
            dirs.push(overlay_dir(root, target, "work"));
        }
    } else {
        dirs.push(root.join(ETC));
    }
    dirs.extend(privates(host_like).filter_map(|p| match p.backing {
        Backing::RootDir(dir) => Some(root.join(dir)),
        _ => None,
    }));
    for dir in dirs {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
    }
    Ok(())
}

/// Where `node_path` of a running node lives as seen from the host: in the node's root dir for
/// rendered and kept paths (readable even after the node is gone), else through the init's
/// view of the file system. `None` for relative paths or paths with `..`. A host-like node's
/// paths all go through its init: only the merged view of an overlay is the node's.
pub fn host_path(root: &Path, init_pid: i32, node_path: &str) -> Option<PathBuf> {
    let path = Path::new(node_path);
    if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
        return None;
    }
    let through_init = || {
        let rest = path.strip_prefix("/").ok()?;
        Some(PathBuf::from(format!("/proc/{init_pid}/root")).join(rest))
    };
    if is_host_like(root) {
        return through_init();
    }
    let etc_entry = path.strip_prefix("/etc").ok().and_then(|rest| {
        let first = rest.components().next()?;
        root.join(ETC)
            .join(first)
            .exists()
            .then(|| root.join(ETC).join(rest))
    });
    let kept = || {
        PRIVATE.iter().find_map(|p| {
            let dir = match p.backing {
                Backing::RootDir(dir) => dir,
                Backing::RootDirOrTmpfs(dir) if root.join(dir).is_dir() => dir,
                _ => return None,
            };
            Some(root.join(dir).join(path.strip_prefix(p.target).ok()?))
        })
    };
    etc_entry.or_else(kept).or_else(through_init)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_node_paths_to_the_host() {
        let root = Path::new("/state/nodes/lb1");
        assert_eq!(
            host_path(root, 42, "/run/haproxy.pid"),
            Some(PathBuf::from("/proc/42/root/run/haproxy.pid"))
        );
        assert_eq!(
            host_path(root, 42, "/var/log/nginx/error.log"),
            Some(root.join("log/nginx/error.log"))
        );
        // No rendered www here: the node's tmpfs.
        assert_eq!(
            host_path(root, 42, "/var/www/x"),
            Some(PathBuf::from("/proc/42/root/var/www/x"))
        );
        assert_eq!(host_path(root, 42, "/run/../etc/passwd"), None);
        assert_eq!(host_path(root, 42, "run/x"), None);
    }

    #[test]
    fn host_like_nodes_map_through_the_init() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("h1");
        prepare(&root, true).expect("prepare");
        assert!(is_host_like(&root));
        assert!(overlay_dir(&root, "/var", "work").is_dir());
        assert!(!root.join(ETC).exists());
        assert_eq!(
            host_path(&root, 42, "/var/log/x"),
            Some(PathBuf::from("/proc/42/root/var/log/x"))
        );
        let targets: Vec<&str> = privates(true).map(|p| p.target).collect();
        assert_eq!(targets, ["/run", "/tmp"]);
    }
}
