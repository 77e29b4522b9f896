//! The errors of the netns machinery. Messages are lowercase and read after "failed to ...".

use std::io;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("validate the netns plan: {}", .0.join("; "))]
    Plan(Vec<String>),

    #[error("use {path}: {source}")]
    Io { path: PathBuf, source: io::Error },

    #[error("bring up a lab in {0}: it already holds a lab (run its teardown first)")]
    AlreadyUp(PathBuf),

    #[error(
        "bring up lab `{lab}`: network namespace {name} exists already (is the lab up from another state dir? see `ip netns list`)"
    )]
    NameTaken { lab: String, name: String },

    #[error("tear down {0}: it is not a halab lab state dir (no netns.json), so it is left alone")]
    NotAStateDir(PathBuf),

    #[error("read lab state {path}: {reason}")]
    State { path: PathBuf, reason: String },

    #[error("run `{cmd}`: {source}")]
    Spawn { cmd: String, source: io::Error },

    #[error("run `{cmd}`: it exited with {status}: {stderr}")]
    Command {
        cmd: String,
        status: String,
        stderr: String,
    },

    #[error("run `{cmd}`: no exit within {timeout:?}, so it was killed")]
    Timeout { cmd: String, timeout: Duration },

    #[error("start the init of node `{node}`: {reason}")]
    Init { node: String, reason: String },

    #[error("find node `{0}` in this lab")]
    NoNode(String),

    #[error("enter network namespace `{name}`: {source}")]
    Setns { name: String, source: nix::Error },

    #[error("set sysctl {key}={value} on node `{node}`: {source}")]
    Sysctl {
        node: String,
        key: String,
        value: String,
        source: io::Error,
    },

    #[error("use pidfile {path} of node `{node}`: {reason}")]
    Pidfile {
        node: String,
        path: String,
        reason: String,
    },

    #[error("stop process {pid} of lab {lab}: it survived SIGKILL")]
    Unkillable { lab: String, pid: i32 },
}

pub type Result<T, E = NetnsError> = std::result::Result<T, E>;

/// Attaches the path to an io error, the shape most filesystem calls here need.
pub(crate) fn io_at(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> NetnsError {
    let path = path.into();
    move |source| NetnsError::Io { path, source }
}
