//! One host's connection: the ssh master (the `openssh` crate, one multiplexed master per
//! host), commands run as root (`sudo -n` for other users), files sent over SFTP.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use openssh::{KnownHosts, Session, SessionBuilder};
use openssh_sftp_client::{Sftp, SftpOptions};

use super::target::Target;
use crate::services::Output;

/// How long one remote command may take (package installs take longer: [`INSTALL_TIMEOUT`]).
pub(super) const EXEC_TIMEOUT: Duration = Duration::from_secs(60);
pub(super) const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

/// What went wrong talking to a host; each names the node.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("cannot connect to node {node} ({target}): {detail}\n  hint: {hint}")]
    Connect {
        node: String,
        target: String,
        detail: String,
        hint: &'static str,
    },
    #[error("ssh to {node}: {source}")]
    Ssh {
        node: String,
        source: openssh::Error,
    },
    #[error("ssh to {node}: {source}")]
    Io {
        node: String,
        source: std::io::Error,
    },
    #[error("`{command}` on {node} took longer than {timeout:?}")]
    Timeout {
        command: String,
        node: String,
        timeout: Duration,
    },
    #[error("lost the ssh connection to {node} ({target}): {detail}")]
    Lost {
        node: String,
        target: String,
        detail: String,
    },
    #[error("{what} on {node} failed (exit {code}): {output}")]
    Failed {
        what: String,
        node: String,
        code: i32,
        output: String,
    },
    /// A command run as the login user (not through sudo) failed.
    #[error("{what} on {node}: {stderr}")]
    Refused {
        what: &'static str,
        node: String,
        stderr: String,
    },
    #[error("SFTP to {node}: {source} (is the host's sftp-server installed?)")]
    Sftp {
        node: String,
        source: openssh_sftp_client::Error,
    },
    #[error("SFTP write {path} on {node}: {source}")]
    SftpWrite {
        path: String,
        node: String,
        source: openssh_sftp_client::Error,
    },
}

pub(super) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("halab-ssh")
            .build()
            .expect("a tokio runtime")
    })
}
/// One host's connection: the ssh master, and SFTP on it when a file is sent.
pub struct Conn {
    pub target: Target,
    pub(super) session: Arc<Session>,
    pub(super) sftp: tokio::sync::Mutex<Option<Sftp>>,
    /// Whether the host runs systemd, asked once.
    pub(super) systemd: OnceLock<bool>,
}

impl Conn {
    pub fn connect(t: &Target) -> Result<Conn, ConnError> {
        let mut b = SessionBuilder::default();
        b.user(t.user.clone())
            .port(t.port)
            .connect_timeout(Duration::from_secs(5))
            .server_alive_interval(Duration::from_secs(5));
        b.known_hosts_check(if t.accept_new_host_keys {
            KnownHosts::Add
        } else {
            KnownHosts::Strict
        });
        b.control_directory(std::env::temp_dir());
        if let Some(k) = &t.identity_file {
            b.keyfile(k);
        }
        if let Some(j) = &t.jump {
            b.jump_hosts([j]);
        }
        if let Some(c) = &t.config_file {
            b.config_file(c);
        }
        let session = runtime()
            .block_on(b.connect(&t.host))
            .map_err(|e| connect_error(t, &e))?;
        Ok(Conn {
            target: t.clone(),
            session: Arc::new(session),
            sftp: tokio::sync::Mutex::new(None),
            systemd: OnceLock::new(),
        })
    }

    pub(super) fn root(&self) -> bool {
        self.target.user == "root"
    }

    /// Runs argv on the host as root (through `sudo -n` for other users).
    pub fn run(
        &self,
        argv: &[&str],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Output, ConnError> {
        let (prog, rest): (&str, Vec<&str>) = if self.root() {
            (argv[0], argv[1..].to_vec())
        } else {
            ("sudo", [&["-n", "--"][..], argv].concat())
        };
        let fut = async {
            let mut c = self.session.command(prog);
            c.args(&rest);
            c.stdout(openssh::Stdio::piped())
                .stderr(openssh::Stdio::piped());
            let out = if let Some(input) = stdin {
                c.stdin(openssh::Stdio::piped());
                let mut child = c.spawn().await.map_err(|source| ConnError::Ssh {
                    node: self.target.node.clone(),
                    source,
                })?;
                if let Some(mut w) = child.stdin().take() {
                    use tokio::io::AsyncWriteExt;
                    w.write_all(input).await.map_err(|source| ConnError::Io {
                        node: self.target.node.clone(),
                        source,
                    })?;
                    drop(w);
                }
                child.wait_with_output().await
            } else {
                c.output().await
            };
            // The crate reports exit 127 (command not found) as an error of its own.
            match out {
                Ok(o) => Ok::<_, ConnError>(Some(o)),
                Err(openssh::Error::Remote(_)) => Ok(None),
                Err(source) => Err(ConnError::Ssh {
                    node: self.target.node.clone(),
                    source,
                }),
            }
        };
        let out = runtime()
            .block_on(async { tokio::time::timeout(timeout, fut).await })
            .map_err(|_| ConnError::Timeout {
                command: argv.join(" "),
                node: self.target.node.clone(),
                timeout,
            })??;
        let Some(out) = out else {
            return Ok(Output {
                code: 127,
                stdout: String::new(),
                stderr: format!("{}: command not found on {}", argv[0], self.target.node),
            });
        };
        // 255: ssh itself failed (the connection, not the command).
        let code = out.status.code().unwrap_or(-1);
        if code == 255 && out.stdout.is_empty() {
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("Control socket")
                || err.contains("mux_client")
                || err.contains("Connection")
            {
                return Err(ConnError::Lost {
                    node: self.target.node.clone(),
                    target: self.target.describe(),
                    detail: err.trim().to_string(),
                });
            }
        }
        Ok(Output {
            code,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `sh -c SCRIPT` as root; Err unless it exits 0.
    pub fn sh(&self, what: &str, script: &str) -> Result<String, ConnError> {
        let out = self.run(&["sh", "-c", script], None, EXEC_TIMEOUT)?;
        if out.ok() {
            Ok(out.stdout)
        } else {
            Err(ConnError::Failed {
                what: what.to_string(),
                node: self.target.node.clone(),
                code: out.code,
                output: first_lines(&format!("{}{}", out.stderr, out.stdout), 12),
            })
        }
    }

    /// Sends `bytes` over SFTP to `path` (a file of the login user's, e.g. in the staging dir).
    pub fn upload(&self, path: &str, bytes: &[u8]) -> Result<(), ConnError> {
        let node = self.target.node.clone();
        runtime().block_on(async {
            let mut guard = self.sftp.lock().await;
            let sftp = match &mut *guard {
                Some(sftp) => sftp,
                slot @ None => slot.insert(
                    Sftp::from_clonable_session(self.session.clone(), SftpOptions::default())
                        .await
                        .map_err(|source| ConnError::Sftp {
                            node: node.clone(),
                            source,
                        })?,
                ),
            };
            let mut fs = sftp.fs();
            fs.write(path, bytes)
                .await
                .map_err(|source| ConnError::SftpWrite {
                    path: path.to_string(),
                    node,
                    source,
                })
        })
    }
}

pub(super) fn connect_error(t: &Target, e: &openssh::Error) -> ConnError {
    let mut text = e.to_string();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        text.push_str(&format!(": {s}"));
        src = s.source();
    }
    let lower = text.to_lowercase();
    let hint = if lower.contains("host key verification failed")
        || lower.contains("no matching host key")
        || lower.contains("host key for")
    {
        "the host's key is not in known_hosts (halab checks host keys strictly): add it (`ssh-keyscan -H HOST >> ~/.ssh/known_hosts`, after checking its fingerprint), or set `ssh: { accept_new_host_keys: true }` in the lab file"
    } else if lower.contains("permission denied") {
        "the host refused the login: check the node's `ssh.user` and `ssh.identity_file` (or your agent's keys)"
    } else if lower.contains("refused")
        || lower.contains("timed out")
        || lower.contains("no route")
        || lower.contains("unreachable")
        || lower.contains("could not resolve")
    {
        "the host is down or unreachable: check that it runs sshd and that `ssh.host` (and `ssh.port`) are right"
    } else {
        "run `ssh -v` with the same settings to see why"
    };
    ConnError::Connect {
        node: t.node.clone(),
        target: t.describe(),
        detail: first_lines(&text, 6),
        hint,
    }
}

pub(super) fn first_lines(s: &str, n: usize) -> String {
    s.trim().lines().take(n).collect::<Vec<_>>().join("\n    ")
}
