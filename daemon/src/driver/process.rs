//! Child processes: tracked scripts (with a timeout) and notify scripts, run the way
//! keepalived runs them: execve of the words (no shell), in their own process group, as
//! `script_user`, stdin/stdout/stderr on /dev/null.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use halab_vrrp::ScriptOutcome;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Command;

/// Who scripts run as (`script_user USER [GROUP]`; root when unset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunAs {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// `enable_script_security`: refuse scripts that someone else could rewrite.
    pub secure: bool,
}

impl RunAs {
    /// Resolves `script_user` names to ids.
    pub fn resolve(user: Option<&(String, Option<String>)>, secure: bool) -> Result<Self, String> {
        let mut run_as = Self {
            secure,
            ..Self::default()
        };
        let Some((user, group)) = user else {
            return Ok(run_as);
        };
        let found = nix::unistd::User::from_name(user)
            .map_err(|e| format!("cannot look up script_user {user}: {e}"))?
            .ok_or_else(|| format!("script_user {user} does not exist"))?;
        run_as.uid = Some(found.uid.as_raw());
        run_as.gid = Some(found.gid.as_raw());
        if let Some(group) = group {
            let found = nix::unistd::Group::from_name(group)
                .map_err(|e| format!("cannot look up script group {group}: {e}"))?
                .ok_or_else(|| format!("script group {group} does not exist"))?;
            run_as.gid = Some(found.gid.as_raw());
        }
        Ok(run_as)
    }

    fn command(&self, argv: &[String]) -> Option<Command> {
        let (program, args) = argv.split_first()?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(false);
        if std::env::var_os("PATH").is_none() {
            command.env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            );
        }
        if let Some(gid) = self.gid {
            command.gid(gid);
        }
        if let Some(uid) = self.uid {
            command.uid(uid);
        }
        Some(command)
    }

    /// With `enable_script_security`, why `program` must not run (keepalived: "unsafe
    /// permissions found for script"): it, or its directory, is writable by someone other
    /// than root.
    pub fn insecure(&self, program: &str) -> Option<String> {
        if !self.secure {
            return None;
        }
        let path = resolve_program(program)?;
        let check = |p: &Path, what: &str| -> Option<String> {
            let meta = std::fs::metadata(p).ok()?;
            let sticky = meta.mode() & 0o1000 != 0;
            let writable = meta.mode() & 0o022 != 0 && !(sticky && meta.is_dir());
            (meta.uid() != 0 || writable)
                .then(|| format!("unsafe permissions on {what} {}", p.display()))
        };
        check(&path, "script").or_else(|| path.parent().and_then(|dir| check(dir, "directory")))
    }
}

/// The file `program` runs: itself when it has a slash, else the first match on PATH.
fn resolve_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ]
    .iter()
    .map(|dir| Path::new(dir).join(program))
    .find(|p| p.is_file())
}

/// Whether a script's program cannot be found, so keepalived disables it ("Disabling track
/// script X since not found/accessible"): a path that does not exist, or a bare name on no
/// PATH directory. Shell scripts (`</...`) are never missing.
pub fn missing(argv: &[String], shell: bool) -> bool {
    if shell {
        return false;
    }
    match argv.first().and_then(|p| resolve_program(p)) {
        Some(path) => !path.exists(),
        None => true,
    }
}

/// One run of a tracked script: its outcome and exit code. With `shell`, keepalived's
/// system() case: `/bin/sh -c` of the words joined by spaces, exit 126/127 counting as
/// success (keepalived's child exits 0 after "Couldn't find command").
pub async fn run_check(
    argv: &[String],
    shell: bool,
    timeout: Duration,
    run_as: &RunAs,
) -> (ScriptOutcome, Option<i32>) {
    let shell_argv;
    let argv = if shell {
        shell_argv = vec!["/bin/sh".to_owned(), "-c".to_owned(), argv.join(" ")];
        &shell_argv[..]
    } else {
        argv
    };
    let Some(mut command) = run_as.command(argv) else {
        return (ScriptOutcome::Failure, None);
    };
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            tracing::warn!("Failed to exec script {}: {e}", argv.join(" "));
            return (ScriptOutcome::Failure, None);
        }
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => (ScriptOutcome::Success, Some(0)),
        Ok(Ok(status)) if shell && matches!(status.code(), Some(126 | 127)) => {
            (ScriptOutcome::Success, Some(0))
        }
        Ok(Ok(status)) => (ScriptOutcome::Failure, status.code()),
        Ok(Err(e)) => {
            tracing::warn!("Failed to wait for script {}: {e}", argv.join(" "));
            (ScriptOutcome::Failure, None)
        }
        Err(_) => {
            // A hung script: kill its whole process group (it is the group leader, and we
            // started it), then reap it.
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = child.kill().await;
            (ScriptOutcome::TimedOut, None)
        }
    }
}

/// Starts a notify script and reaps it in the background; never waits for it.
pub fn spawn_notify(argv: Vec<String>, run_as: &RunAs) {
    if let Some(reason) = argv.first().and_then(|p| run_as.insecure(p)) {
        tracing::warn!("Not running notify script {}: {reason}", argv.join(" "));
        return;
    }
    let Some(mut command) = run_as.command(&argv) else {
        return;
    };
    match command.spawn() {
        Ok(mut child) => {
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
        }
        Err(e) => tracing::warn!("Failed to exec notify script {}: {e}", argv.join(" ")),
    }
}

/// Starts a long-running script (the notify FIFO's reader) and hands back its child, which
/// the caller stops when it no longer needs it.
pub fn spawn_long(argv: Vec<String>, run_as: &RunAs) -> Option<tokio::process::Child> {
    if let Some(reason) = argv.first().and_then(|p| run_as.insecure(p)) {
        tracing::warn!("Not running script {}: {reason}", argv.join(" "));
        return None;
    }
    let mut command = run_as.command(&argv)?;
    match command.spawn() {
        Ok(child) => Some(child),
        Err(e) => {
            tracing::warn!("Failed to exec script {}: {e}", argv.join(" "));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Input: keepalived's `</FILE` test idiom and plain commands. Output: what keepalived
    /// 2.2.7 gives (run here): `</` goes through /bin/sh (dash: a readable file succeeds, a
    /// missing one fails, /dev/tcp does not exist in dash); plain commands are execve'd, so
    /// shell syntax is just arguments; a missing program is "missing".
    #[tokio::test]
    async fn scripts_run_as_keepalived_runs_them() {
        let run_as = RunAs::default();
        let t = Duration::from_secs(5);
        let ok = run_check(&words(&["</etc/hostname"]), true, t, &run_as).await;
        assert_eq!(ok.0, ScriptOutcome::Success);
        let gone = run_check(&words(&["</nonexistent/x"]), true, t, &run_as).await;
        assert_eq!(gone, (ScriptOutcome::Failure, Some(2)));
        // No shell: `>` and `$HOME` are arguments to echo, so nothing is created.
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("x");
        let argv = words(&["/bin/echo", ">", target.to_str().expect("utf-8"), "$HOME"]);
        assert_eq!(
            run_check(&argv, false, t, &run_as).await.0,
            ScriptOutcome::Success
        );
        assert!(!target.exists());
        assert!(missing(&words(&["/nonexistent/check.sh"]), false));
        assert!(missing(&words(&["no-such-program-halab"]), false));
        assert!(!missing(&words(&["true"]), false));
        assert!(!missing(&words(&["</dev/tcp/127.0.0.1/80"]), true));
    }
}
