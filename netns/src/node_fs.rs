//! The node's file system view, set up by its init in a fresh mount namespace (see
//! [`super::layout`] for what goes where).

use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

use super::layout::{self, Backing, ETC, NODE_DIRS, OVERLAYS, TMPFS_SIZE};

#[derive(Debug, thiserror::Error)]
pub enum NodeFsError {
    #[error("mount {what} on {target}: {source}")]
    Mount {
        what: String,
        target: String,
        source: nix::Error,
    },
    #[error("mount {what} on {target}: {target} does not exist on this host (or is not a {kind})")]
    MissingTarget {
        what: String,
        target: String,
        kind: &'static str,
    },
    #[error(
        "mount overlays for a host-like node: its root dir {0} lies under /etc, /var or /root (which the overlays cover) or holds `,` or `:`; use another state dir (HALAB_STATE_DIR)"
    )]
    OverlayRoot(PathBuf),
    #[error("prepare {path}: {source}")]
    Prepare {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn prepare_err(path: &Path) -> impl FnOnce(std::io::Error) -> NodeFsError + '_ {
    move |source| NodeFsError::Prepare {
        path: path.to_path_buf(),
        source,
    }
}

/// A mount source that stays reachable after other mounts hide its path.
struct Source {
    file: fs::File,
    path: PathBuf,
}

enum What {
    Bind(Source),
    Tmpfs(u32),
    /// An overlayfs with the host's directory below and these upper and work dirs.
    Overlay {
        upper: PathBuf,
        work: PathBuf,
    },
}

/// Must run in a fresh mount namespace, as PID 1 of a fresh PID namespace, in a fresh
/// network namespace (the caller unshares them). A host-like node gets overlays over
/// [`OVERLAYS`] and a read-only /usr instead of the /etc entry binds and /var mounts.
pub fn setup(root: &Path, host_like: bool) -> Result<(), NodeFsError> {
    // Private before any other mount: nothing below may propagate to a peer group, i.e. to
    // the host.
    let flags = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
    do_mount(None, "/", None, flags, None, "a private propagation")?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    // The node's own PID namespace in /proc (pidof, ps, kill see only the node), and a sysfs
    // of its network namespace (/sys/class/net lists its links).
    do_mount(Some("proc"), "/proc", Some("proc"), flags, None, "proc")?;
    do_mount(Some("sysfs"), "/sys", Some("sysfs"), flags, None, "sysfs")?;
    layout::prepare(root, host_like).map_err(prepare_err(root))?;
    detach_hidden(root, host_like);
    // Every source is opened before the first mount: the state dir may itself lie under
    // /tmp or /run, which the first mounts hide. Overlays take their dirs as paths, so they
    // come first, while the state dir is still in view.
    let mut plan = Vec::new();
    if host_like {
        plan.extend(overlays(root)?);
    }
    for private in layout::privates(host_like) {
        let what = match private.backing {
            Backing::Tmpfs { mode } => What::Tmpfs(mode),
            Backing::RootDir(dir) => What::Bind(open_source(&root.join(dir))?),
            Backing::RootDirOrTmpfs(dir) if root.join(dir).is_dir() => {
                What::Bind(open_source(&root.join(dir))?)
            }
            Backing::RootDirOrTmpfs(_) => What::Tmpfs(0o755),
        };
        if Path::new(private.target).is_dir() {
            plan.push((what, private.target.to_owned()));
        } else if private.required {
            let what = match what {
                What::Bind(s) => s.path.display().to_string(),
                What::Tmpfs(_) => "a tmpfs".into(),
                What::Overlay { .. } => "an overlay".into(),
            };
            return Err(NodeFsError::MissingTarget {
                what,
                target: private.target.into(),
                kind: "directory",
            });
        }
    }
    if !host_like {
        plan.extend(etc_binds(&root.join(ETC))?);
    }
    for (what, target) in &plan {
        match what {
            What::Bind(source) => bind_mount(source, target)?,
            What::Overlay { upper, work } => {
                let data = format!(
                    "lowerdir={target},upperdir={},workdir={}",
                    upper.display(),
                    work.display()
                );
                do_mount(
                    Some("overlay"),
                    target,
                    Some("overlay"),
                    MsFlags::empty(),
                    Some(&data),
                    "an overlay",
                )?;
                if target == "/etc" {
                    // The host's /usr, read-only: a package installed in the node would
                    // otherwise land on the host (the node's dpkg database is its own).
                    read_only_usr()?;
                }
            }
            What::Tmpfs(mode) => {
                let data = format!("mode={mode:o},size={TMPFS_SIZE}");
                do_mount(
                    Some("tmpfs"),
                    target,
                    Some("tmpfs"),
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                    Some(&data),
                    "a tmpfs",
                )?;
            }
        }
    }
    for dir in NODE_DIRS {
        let parent_mounted = plan
            .iter()
            .any(|(_, target)| Path::new(dir).starts_with(target));
        if parent_mounted {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)
                .map_err(prepare_err(Path::new(dir)))?;
        }
    }
    Ok(())
}

/// The overlays of a host-like node, checked: its root dir must not lie under what they
/// cover (an upper dir inside its own lower dir), nor hold the option separators.
fn overlays(root: &Path) -> Result<Vec<(What, String)>, NodeFsError> {
    let text = root.display().to_string();
    let covered = OVERLAYS.iter().any(|o| root.starts_with(o));
    if covered || !root.is_absolute() || text.contains([',', ':', '\\']) {
        return Err(NodeFsError::OverlayRoot(root.to_path_buf()));
    }
    let mut plan = Vec::new();
    for target in OVERLAYS {
        if !Path::new(target).is_dir() {
            return Err(NodeFsError::MissingTarget {
                what: "an overlay".into(),
                target: (*target).into(),
                kind: "directory",
            });
        }
        let upper = layout::overlay_dir(root, target, "upper");
        let work = layout::overlay_dir(root, target, "work");
        plan.push((What::Overlay { upper, work }, (*target).to_owned()));
    }
    Ok(plan)
}

fn read_only_usr() -> Result<(), NodeFsError> {
    let usr = "/usr";
    do_mount(
        Some(usr),
        usr,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
        usr,
    )?;
    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    do_mount(None, usr, None, flags, None, "a read-only /usr")
}

/// Detaches the copies of the host's mounts under the paths the node covers (/run, /tmp,
/// ...; /etc, /var, /root for a host-like node). Hidden, they would still pin what they hold: iproute2's /run/netns/* mounts keep
/// network namespaces alive, and since this mount namespace is private, `ip netns delete` on
/// the host no longer reaches its copies, so every lab torn down while this node runs would
/// live on, unseen, until this node stops. Mounts holding the node's root dir stay (e.g. a
/// state dir on the host's /run tmpfs): the node's sources live there.
fn detach_hidden(root: &Path, host_like: bool) {
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let overlays = if host_like { OVERLAYS } else { &[] };
    let covered = |p: &str| {
        let p = Path::new(p);
        let under = layout::privates(host_like).any(|c| p.starts_with(c.target))
            || overlays.iter().any(|o| p.starts_with(o));
        under && !root.starts_with(p)
    };
    let mut points: Vec<String> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape)
        .filter(|p| covered(p))
        .collect();
    // Shallowest first: detaching a mount detaches everything below it too.
    points.sort_by_key(|p| p.matches('/').count());
    for point in points {
        // Fails for mounts already gone with a parent: nothing to do then.
        let _ = umount2(point.as_str(), MntFlags::MNT_DETACH);
    }
}

/// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
fn unescape(field: &str) -> String {
    let mut out = Vec::new();
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn do_mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
    what: &str,
) -> Result<(), NodeFsError> {
    mount(source, target, fstype, flags, data).map_err(|source| NodeFsError::Mount {
        what: what.into(),
        target: target.into(),
        source,
    })
}

fn open_source(path: &Path) -> Result<Source, NodeFsError> {
    let file = fs::File::open(path).map_err(prepare_err(path))?;
    Ok(Source {
        file,
        path: path.to_path_buf(),
    })
}

fn bind_mount(source: &Source, target: &str) -> Result<(), NodeFsError> {
    // The fd's magic link names the opened file itself, whatever now covers its path.
    let via = format!("/proc/self/fd/{}", source.file.as_raw_fd());
    do_mount(
        Some(&via),
        target,
        None,
        MsFlags::MS_BIND,
        None,
        &source.path.display().to_string(),
    )
}

/// Every entry of the node's etc dir, to be mounted over the host's entry of the same name.
fn etc_binds(etc: &Path) -> Result<Vec<(What, String)>, NodeFsError> {
    let mut entries: Vec<_> = fs::read_dir(etc)
        .map_err(prepare_err(etc))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    let mut binds = Vec::new();
    for entry in entries {
        let source = entry.path();
        let target = Path::new("/etc").join(entry.file_name());
        let target_str = target.display().to_string();
        let is_dir = entry.file_type().map_err(prepare_err(&source))?.is_dir();
        // The target must already exist with the same kind: creating it would write to the
        // host's /etc, which the node shares.
        let fits = if is_dir {
            target.is_dir()
        } else {
            target.is_file()
        };
        if !fits {
            let what = source.display().to_string();
            return Err(NodeFsError::MissingTarget {
                what,
                target: target_str,
                kind: if is_dir { "directory" } else { "file" },
            });
        }
        binds.push((What::Bind(open_source(&source)?), target_str));
    }
    Ok(binds)
}

#[cfg(test)]
mod tests {
    #[test]
    fn unescapes_mountinfo() {
        assert_eq!(super::unescape("/run/a\\040b"), "/run/a b");
        assert_eq!(super::unescape("/run/netns/x"), "/run/netns/x");
    }
}
