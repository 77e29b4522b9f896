//! keepalived's notify FIFOs (`notify_fifo` / `vrrp_notify_fifo` in global_defs): one line per
//! state change, `INSTANCE "VI_1" MASTER 100` or `GROUP "G1" BACKUP 0` (and, with
//! `notify_priority_changes`, `INSTANCE "VI_1" MASTER_PRIORITY 110`), written to each FIFO
//! without ever blocking the daemon, and each `*_fifo_script` started with its FIFO's path as
//! its argument (keepalived 2.2.7's lib/notify.c and vrrp/vrrp_notify.c).

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::process::{self, RunAs};
use crate::conf::{self, Config, FifoConf};

/// The FIFO halabd writes to, and the script reading it.
pub(super) struct NotifyFifo {
    conf: FifoConf,
    file: File,
    /// Whether halabd made the FIFO (then it removes it when done, as keepalived does).
    created: bool,
    script: Option<tokio::process::Child>,
    /// Lines dropped because the pipe was full (nobody reading fast enough).
    pub dropped: u64,
}

/// The FIFOs VRRP events go to: `notify_fifo` and `vrrp_notify_fifo`, both written as
/// keepalived does; the VRRP one is ignored when it names the same path.
pub(super) fn wanted(config: &Config) -> Vec<FifoConf> {
    let global = config.global.notify_fifo.as_ref();
    let vrrp = config
        .global
        .vrrp_notify_fifo
        .as_ref()
        .filter(|v| global.is_none_or(|g| g.path != v.path));
    global.into_iter().chain(vrrp).cloned().collect()
}

/// One line as keepalived writes it.
pub(super) fn line(kind: &str, name: &str, word: &str, priority: u8) -> String {
    format!("{kind} \"{name}\" {word} {priority}\n")
}

impl NotifyFifo {
    /// Makes the FIFO if missing (mode 0644, owned by its `USER [GROUP]` or script_user),
    /// starts the script with the path as its last argument, then opens the FIFO read-write
    /// and non-blocking, so opening never waits for a reader and a write never waits.
    pub(super) fn open(conf: &FifoConf, run_as: &RunAs) -> std::io::Result<Self> {
        let path = Path::new(&conf.path);
        let created = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_fifo() => false,
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{} exists and is not a FIFO",
                    conf.path
                )));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o644))?;
                chown(conf, run_as);
                true
            }
            Err(e) => return Err(e),
        };
        let script = conf.script.as_ref().and_then(|command| {
            let mut argv = conf::split_command(&command.command).ok()?;
            argv.push(conf.path.clone());
            let run_as = match &command.user {
                None => run_as.clone(),
                Some(user) => {
                    let who = (user.clone(), command.group.clone());
                    match RunAs::resolve(Some(&who), run_as.secure) {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::warn!(
                                "Not running notify FIFO script {}: {e}",
                                command.command
                            );
                            return None;
                        }
                    }
                }
            };
            process::spawn_long(argv, &run_as)
        });
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC).bits())
            .open(path)
            .inspect_err(|_| {
                if created {
                    let _ = std::fs::remove_file(path);
                }
            })?;
        tracing::info!("Writing state changes to notify FIFO {}", conf.path);
        Ok(Self {
            conf: conf.clone(),
            file,
            created,
            script,
            dropped: 0,
        })
    }

    pub(super) fn conf(&self) -> &FifoConf {
        &self.conf
    }

    /// Writes one line; a full pipe drops it (counted, logged) rather than wait.
    pub(super) fn write(&mut self, line: &str) {
        // A line is shorter than PIPE_BUF, so the write is all or nothing.
        match self.file.write(line.as_bytes()) {
            Ok(n) if n == line.len() => {}
            Ok(n) => {
                self.dropped += 1;
                tracing::warn!(
                    "Notify FIFO {}: only {n} of {} bytes written",
                    self.conf.path,
                    line.len()
                );
            }
            Err(e) => {
                self.dropped += 1;
                if e.kind() == ErrorKind::WouldBlock {
                    tracing::warn!(
                        "Notify FIFO {} is full, dropped: {} ({} dropped)",
                        self.conf.path,
                        line.trim_end(),
                        self.dropped
                    );
                } else {
                    tracing::warn!("Writing notify FIFO {} failed: {e}", self.conf.path);
                }
            }
        }
    }
}

/// Gives a FIFO halabd made to its owner: the `USER [GROUP]` words, else script_user.
fn chown(conf: &FifoConf, run_as: &RunAs) {
    let owner = match &conf.owner {
        Some(who) => match RunAs::resolve(Some(who), false) {
            Ok(owner) => owner,
            Err(e) => {
                tracing::warn!("Notify FIFO {}: {e}", conf.path);
                return;
            }
        },
        None => run_as.clone(),
    };
    if owner.uid.is_none() && owner.gid.is_none() {
        return;
    }
    let uid = owner.uid.map(nix::unistd::Uid::from_raw);
    let gid = owner.gid.map(nix::unistd::Gid::from_raw);
    if let Err(e) = nix::unistd::chown(Path::new(&conf.path), uid, gid) {
        tracing::warn!("Failed to set the owner of notify FIFO {}: {e}", conf.path);
    }
}

impl Drop for NotifyFifo {
    fn drop(&mut self) {
        // Unlinked first, so a script that reopens the FIFO when it closes cannot (keepalived's
        // order); the script then gets SIGTERM, as keepalived's PR_SET_PDEATHSIG gives it.
        if self.created {
            let _ = std::fs::remove_file(&self.conf.path);
        }
        if let Some(child) = &self.script
            && let Some(pid) = child.id()
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input: a path that does not exist, then lines written with no reader until the pipe is
    /// full. Output: a FIFO is made, lines read back in keepalived's format, a full pipe drops
    /// lines (counted) without blocking, and the FIFO is removed on drop.
    #[test]
    fn writes_lines_and_never_blocks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.fifo");
        let conf = FifoConf {
            path: path.to_str().expect("utf-8 path").to_owned(),
            owner: None,
            script: None,
        };
        let mut fifo = NotifyFifo::open(&conf, &RunAs::default()).expect("fifo");
        assert!(
            std::fs::metadata(&path)
                .expect("fifo")
                .file_type()
                .is_fifo()
        );
        fifo.write(&line("INSTANCE", "VI_1", "MASTER", 100));
        fifo.write(&line("GROUP", "G1", "BACKUP", 0));
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(OFlag::O_NONBLOCK.bits())
            .open(&path)
            .expect("fifo");
        let mut buf = vec![0u8; 256];
        let n = std::io::Read::read(&mut reader, &mut buf).expect("fifo");
        assert_eq!(
            std::str::from_utf8(&buf[..n]).expect("fifo"),
            "INSTANCE \"VI_1\" MASTER 100\nGROUP \"G1\" BACKUP 0\n"
        );
        assert_eq!(fifo.dropped, 0);
        let long = line("INSTANCE", &"x".repeat(200), "BACKUP", 50);
        for _ in 0..2000 {
            fifo.write(&long);
        }
        assert!(
            fifo.dropped > 0,
            "a 64 KiB pipe cannot hold 2000 lines of 220 bytes"
        );
        drop(fifo);
        assert!(!path.exists());
    }
}
