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

/// Where the node's init writes its own errors.
pub const INIT_LOG: &str = "init.log";

/// The node's root dir inside a lab's state dir.
pub fn node_root(state_dir: &Path, node: &str) -> PathBuf {
    state_dir.join("nodes").join(node)
}

/// Creates the node's directories on disk (idempotent).
pub fn prepare(root: &Path) -> std::io::Result<()> {
    let mut dirs = vec![root.join(ETC)];
    dirs.extend(PRIVATE.iter().filter_map(|p| match p.backing {
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
/// view of the file system. `None` for relative paths or paths with `..`.
pub fn host_path(root: &Path, init_pid: i32, node_path: &str) -> Option<PathBuf> {
    let path = Path::new(node_path);
    if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
        return None;
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
    let through_init = || {
        let rest = path.strip_prefix("/").ok()?;
        Some(PathBuf::from(format!("/proc/{init_pid}/root")).join(rest))
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
}
