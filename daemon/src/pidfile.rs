//! The pid file: refuse to start twice, remove it on the way out.

use std::path::{Path, PathBuf};

/// A written pid file, removed on drop.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    #[error("halabd is already running as pid {pid} (pid file {})", path.display())]
    Running { pid: i32, path: PathBuf },
    #[error("write pid file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl PidFile {
    /// Writes our pid to `path`, unless a live halabd already owns it.
    pub fn create(path: &Path) -> Result<Self, PidFileError> {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse::<i32>()
            && pid != std::process::id() as i32
            && is_halabd(pid)
        {
            return Err(PidFileError::Running {
                pid,
                path: path.to_path_buf(),
            });
        }
        std::fs::write(path, format!("{}\n", std::process::id())).map_err(|source| {
            PidFileError::Write {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(Self {
            path: path.to_path_buf(),
        })
    }
}

fn is_halabd(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "halabd")
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
