//! Running halab's own code inside a node's network namespace.

use std::fs::File;
use std::path::Path;

use nix::sched::{CloneFlags, setns};

use super::error::{NetnsError, Result, io_at};

/// Where iproute2 keeps named network namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// The inode of the network namespace named `name`, if that name exists.
pub fn named_ns_inode(name: &str) -> Option<u64> {
    std::fs::metadata(Path::new(NETNS_DIR).join(name))
        .ok()
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
}

/// Runs `f` on a fresh thread that has joined the network namespace `name` (from /run/netns),
/// and returns its result. Sockets `f` creates live in that namespace (HTTP probes from a lab
/// client never leave from the root namespace); the calling thread is not moved. Only the
/// network namespace is joined: files `f` opens are the host's.
pub fn in_netns<T, F>(name: &str, f: F) -> Result<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    let path = Path::new(NETNS_DIR).join(name);
    let file = File::open(&path).map_err(io_at(&path))?;
    std::thread::scope(|s| {
        let worker = s.spawn(move || {
            setns(&file, CloneFlags::CLONE_NEWNET).map_err(|source| NetnsError::Setns {
                name: name.to_owned(),
                source,
            })?;
            Ok(f())
        });
        match worker.join() {
            Ok(result) => result,
            // A panic in `f` is the caller's panic.
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
