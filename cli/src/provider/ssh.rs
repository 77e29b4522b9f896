//! The ssh provider: existing hosts, reached with the system ssh client (the `openssh` crate,
//! one multiplexed master connection per host: known_hosts, the agent, ProxyJump and
//! ssh_config work as they do for `ssh`), files over SFTP. docs/ssh.md.
//!
//! `up` on every host, hosts in parallel: facts (OS, package manager, systemd, arch, libc) ->
//! packages -> upload the changed files into a staging dir -> each real tool checks the new
//! config on the host, in a private mount namespace where the staged dirs cover the live ones
//! -> only when every host passed: back up (`cp -p f f.bak`, once) and move each file in ->
//! sysctls -> start, or reload what changed. A second `up` with nothing changed touches nothing.
//! What halab did on each host is recorded in the lab's state dir (`ssh.json`), so `down`
//! stops exactly that and `down --purge` removes it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use openssh::{KnownHosts, Session, SessionBuilder};
use openssh_sftp_client::{Sftp, SftpOptions};
use serde::{Deserialize, Serialize};

use crate::fleet::{Fleet, MachineBox, parse_arp};
use crate::lab::Lab;
use crate::lab::model::{Engine, Node, Provider, Role};
use crate::probe::Reply;
use crate::render::{Artefact, Check};
use crate::scenario::sampler::Shared;
use crate::services::{self, HALABD_ON_MACHINE, Machine, Output, Service, sh_quote};
use crate::up::{UpError, UpOptions, UpReport, stage_time};

/// Where halab keeps its own things on a host: the probe binary for client nodes.
pub const HALAB_DIR: &str = "/var/lib/halab";
const PROBE_BIN: &str = "/var/lib/halab/halab";
/// How long one remote command may take (package installs take longer: [`INSTALL_TIMEOUT`]).
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);
/// The ssh config file to use instead of ~/.ssh/config (`ssh -F`).
pub const SSH_CONFIG_ENV: &str = "HALAB_SSH_CONFIG";

fn runtime() -> &'static tokio::runtime::Runtime {
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

/// How to reach one host: the lab file's `ssh` section, resolved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Target {
    pub node: String,
    pub host: String,
    pub user: String,
    pub port: u16,
    pub identity_file: Option<String>,
    pub jump: Option<String>,
    pub config_file: Option<PathBuf>,
    pub accept_new_host_keys: bool,
}

impl Target {
    pub fn for_node(lab: &Lab, n: &Node, config_file: Option<&Path>) -> Option<Target> {
        let s = n.ssh.as_ref()?;
        Some(Target {
            node: n.name.clone(),
            host: s.host.clone(),
            user: s.user.clone(),
            port: s.port,
            identity_file: s.identity_file.clone(),
            jump: s.jump.clone(),
            config_file: config_file.map(Path::to_path_buf),
            accept_new_host_keys: lab.ssh.accept_new_host_keys,
        })
    }

    fn describe(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

/// The ssh config file for this run: `$HALAB_SSH_CONFIG`, else ssh's own default.
pub fn config_file() -> Option<PathBuf> {
    std::env::var_os(SSH_CONFIG_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// vagrant's `ssh-config` for a vagrant lab, one `Host NODE` block per node, kept in the
/// lab's state dir.
const VAGRANT_SSH_CONFIG: &str = "vagrant-ssh-config";

/// Where the Vagrantfile is: `$HALAB_VAGRANTFILE_DIR`, else the first directory holding one
/// from the lab file's directory upwards (the repository's top level).
pub fn vagrantfile_dir(lab: &Lab) -> Result<PathBuf, String> {
    if let Some(d) = std::env::var_os("HALAB_VAGRANTFILE_DIR") {
        return Ok(PathBuf::from(d));
    }
    let file =
        std::path::absolute(&lab.file).map_err(|e| format!("{}: {e}", lab.file.display()))?;
    file.ancestors().skip(1).find(|d| d.join("Vagrantfile").is_file()).map(Path::to_path_buf).ok_or_else(|| format!("no Vagrantfile in {} or above\n  hint: set HALAB_VAGRANTFILE_DIR to the directory of halab's Vagrantfile", file.display()))
}

/// Every host of the lab and how to reach it. A vagrant lab's come from the `vagrant
/// ssh-config` that `up` saved (`bring_up_vms` writes it).
pub fn resolve_targets(lab: &Lab, state_dir: &Path) -> Result<Vec<Target>, String> {
    if lab.provider != Provider::Vagrant {
        let config = config_file();
        return Ok(lab
            .nodes
            .iter()
            .filter_map(|n| Target::for_node(lab, n, config.as_deref()))
            .collect());
    }
    let path = state_dir.join(VAGRANT_SSH_CONFIG);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: {e}\n  hint: run `halab up` for this lab first (it runs `vagrant up`)",
            path.display()
        )
    })?;
    let hosts = super::vagrant::parse_ssh_config(&text)?;
    Ok(super::vagrant::targets(lab, &hosts)?
        .into_iter()
        .map(|t| Target {
            node: t.node.clone(),
            host: t.node,
            user: t.user,
            port: t.port,
            identity_file: None,
            jump: None,
            config_file: Some(path.clone()),
            accept_new_host_keys: lab.ssh.accept_new_host_keys,
        })
        .collect())
}

/// `vagrant up`, then its `ssh-config` saved for the ssh provider.
fn bring_up_vms(lab: &Lab, state_dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<(), String> {
    let dir = vagrantfile_dir(lab)?;
    progress(&format!("  vagrant up (Vagrantfile in {})", dir.display()));
    super::vagrant::vagrant_up(&dir, lab)?;
    let text = super::vagrant::vagrant_ssh_config(&dir, lab)?;
    let config = super::vagrant::ssh_config_for_lab(lab, &text)?;
    std::fs::create_dir_all(state_dir).map_err(|e| format!("{}: {e}", state_dir.display()))?;
    super::netns::write_private(
        &state_dir.join(VAGRANT_SSH_CONFIG),
        0o600,
        config.as_bytes(),
    )
    .map_err(|e| e.to_string())
}

/// One host's connection: the ssh master, and SFTP on it when a file is sent.
pub struct Conn {
    pub target: Target,
    session: Arc<Session>,
    sftp: tokio::sync::Mutex<Option<Sftp>>,
    /// Whether the host runs systemd, asked once.
    systemd: OnceLock<bool>,
}

impl Conn {
    pub fn connect(t: &Target) -> Result<Conn, String> {
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

    fn root(&self) -> bool {
        self.target.user == "root"
    }

    /// Runs argv on the host as root (through `sudo -n` for other users).
    pub fn run(
        &self,
        argv: &[&str],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Output, String> {
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
                let mut child = c.spawn().await.map_err(|e| e.to_string())?;
                if let Some(mut w) = child.stdin().take() {
                    use tokio::io::AsyncWriteExt;
                    w.write_all(input).await.map_err(|e| e.to_string())?;
                    drop(w);
                }
                child.wait_with_output().await
            } else {
                c.output().await
            };
            // The crate reports exit 127 (command not found) as an error of its own.
            match out {
                Ok(o) => Ok::<_, String>(Some(o)),
                Err(openssh::Error::Remote(_)) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        };
        let out = runtime()
            .block_on(async { tokio::time::timeout(timeout, fut).await })
            .map_err(|_| {
                format!(
                    "`{}` on {} took longer than {timeout:?}",
                    argv.join(" "),
                    self.target.node
                )
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
                return Err(format!(
                    "lost the ssh connection to {} ({}): {}",
                    self.target.node,
                    self.target.describe(),
                    err.trim()
                ));
            }
        }
        Ok(Output {
            code,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `sh -c SCRIPT` as root; Err unless it exits 0.
    pub fn sh(&self, what: &str, script: &str) -> Result<String, String> {
        let out = self.run(&["sh", "-c", script], None, EXEC_TIMEOUT)?;
        if out.ok() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "{what} on {} failed (exit {}): {}",
                self.target.node,
                out.code,
                first_lines(&format!("{}{}", out.stderr, out.stdout), 12)
            ))
        }
    }

    /// Sends `bytes` over SFTP to `path` (a file of the login user's, e.g. in the staging dir).
    pub fn upload(&self, path: &str, bytes: &[u8]) -> Result<(), String> {
        let node = self.target.node.clone();
        runtime().block_on(async {
            let mut guard = self.sftp.lock().await;
            if guard.is_none() {
                let sftp =
                    Sftp::from_clonable_session(self.session.clone(), SftpOptions::default())
                        .await
                        .map_err(|e| {
                            format!("SFTP to {node}: {e} (is the host's sftp-server installed?)")
                        })?;
                *guard = Some(sftp);
            }
            let sftp = guard.as_ref().ok_or("no sftp")?;
            let mut fs = sftp.fs();
            fs.write(path, bytes)
                .await
                .map_err(|e| format!("SFTP write {path} on {node}: {e}"))
        })
    }
}

fn connect_error(t: &Target, e: &openssh::Error) -> String {
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
    format!(
        "cannot connect to node {} ({}): {}\n  hint: {hint}",
        t.node,
        t.describe(),
        first_lines(&text, 6)
    )
}

fn first_lines(s: &str, n: usize) -> String {
    s.trim().lines().take(n).collect::<Vec<_>>().join("\n    ")
}

/// A host as a [`Machine`].
#[derive(Clone)]
pub struct SshMachine(pub Arc<Conn>);

impl Machine for SshMachine {
    fn name(&self) -> &str {
        &self.0.target.node
    }

    fn exec(&self, argv: &[&str]) -> Result<Output, String> {
        self.0.run(argv, None, EXEC_TIMEOUT)
    }

    fn write_file(&self, path: &str, mode: u32, bytes: &[u8]) -> Result<(), String> {
        let q = sh_quote(path);
        let script = format!(
            "umask 077; mkdir -p \"$(dirname {q})\" && cat > {q}.halab-new && chmod {mode:o} {q}.halab-new && mv -f {q}.halab-new {q}"
        );
        let out = self
            .0
            .run(&["sh", "-c", &script], Some(bytes), EXEC_TIMEOUT)?;
        if out.ok() {
            Ok(())
        } else {
            Err(format!(
                "failed to write {path} on {}: {}",
                self.name(),
                out.stderr.trim()
            ))
        }
    }

    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        let q = sh_quote(path);
        let out = self.0.run(
            &["sh", "-c", &format!("[ -e {q} ] || exit 3; cat {q}")],
            None,
            EXEC_TIMEOUT,
        )?;
        match out.code {
            0 => Ok(Some(out.stdout.into_bytes())),
            3 => Ok(None),
            _ => Err(format!(
                "failed to read {path} on {}: {}",
                self.name(),
                out.stderr.trim()
            )),
        }
    }

    fn systemd(&self) -> bool {
        *self.0.systemd.get_or_init(|| {
            self.0
                .run(&["test", "-d", "/run/systemd/system"], None, EXEC_TIMEOUT)
                .is_ok_and(|o| o.ok())
        })
    }
}

// ---------------------------------------------------------------------------------------
// Host facts

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Facts {
    pub os: String,
    pub os_id: String,
    pub arch: String,
    pub glibc: Option<(u32, u32)>,
    /// apt, dnf or yum.
    pub pkg: Option<String>,
    pub systemd: bool,
}

const FACTS_SCRIPT: &str = r#". /etc/os-release 2>/dev/null; echo "os=${PRETTY_NAME:-unknown}"; echo "id=${ID:-unknown}"; echo "arch=$(uname -m)"; echo "glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null)"; for p in apt-get dnf yum; do if command -v $p >/dev/null 2>&1; then echo "pkg=$p"; break; fi; done; if [ -d /run/systemd/system ]; then echo systemd=1; fi"#;

fn parse_facts(text: &str) -> Facts {
    let mut f = Facts::default();
    for l in text.lines() {
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        match k {
            "os" => f.os = v.to_string(),
            "id" => f.os_id = v.to_string(),
            "arch" => f.arch = v.to_string(),
            "glibc" => f.glibc = parse_glibc(v),
            "pkg" => {
                f.pkg = Some(if v == "apt-get" {
                    "apt".to_string()
                } else {
                    v.to_string()
                })
            }
            "systemd" => f.systemd = v == "1",
            _ => {}
        }
    }
    f
}

/// "glibc 2.36" -> (2, 36).
fn parse_glibc(s: &str) -> Option<(u32, u32)> {
    let v = s.split_whitespace().last()?;
    let mut it = v.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// This machine's arch and glibc: what the halab and halabd binaries were built for.
fn local_facts() -> (String, Option<(u32, u32)>) {
    let run = |c: &str, a: &[&str]| {
        Command::new(c)
            .args(a)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    (
        run("uname", &["-m"]),
        parse_glibc(&run("getconf", &["GNU_LIBC_VERSION"])),
    )
}

/// Refuses a host that cannot run binaries built here.
fn binaries_fit(node: &str, f: &Facts, what: &str) -> Result<(), String> {
    let (arch, glibc) = local_facts();
    if f.arch != arch {
        return Err(format!(
            "node {node} is {} but {what} was built here for {arch}\n  hint: build {what} for {} (cargo build --target ...) and pass it with HALABD=PATH, or use engine: keepalived on this node",
            f.arch, f.arch
        ));
    }
    match (glibc, f.glibc) {
        (Some(need), Some(have)) if have < need => Err(format!(
            "node {node} has glibc {}.{} but {what} was built here against glibc {}.{}\n  hint: build {what} on a system with glibc <= {}.{} (or statically, --target x86_64-unknown-linux-musl)",
            have.0, have.1, need.0, need.1, have.0, have.1
        )),
        (Some(_), None) => Err(format!(
            "node {node} has no glibc (musl?) but {what} was built here against glibc\n  hint: build {what} for musl (--target {arch}-unknown-linux-musl)"
        )),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------
// Packages

/// The packages a node needs, by the names of its package manager's distribution.
pub fn packages(n: &Node) -> Vec<&'static str> {
    let mut out = Vec::new();
    if n.web.is_some() {
        out.push("nginx");
    }
    if n.role == Role::Lb {
        // socat: haproxy's admin socket, as the haproxy docs use it (and the stats assertion).
        out.extend(["haproxy", "socat"]);
        if n.engine == Some(Engine::Keepalived) {
            out.push("keepalived");
        }
    }
    out
}

/// `has PROGRAM`: an executable regular file of that name on root's PATH.
const HAS_PROGRAM: &str =
    "has() { p=$(command -v \"$1\") && [ -f \"$p\" ] && [ -x \"$p\" ]; }; has";

fn missing_packages(c: &Conn, pkg: &str, want: &[&str]) -> Result<Vec<String>, String> {
    let mut missing = Vec::new();
    for p in want {
        let q = sh_quote(p);
        // The program counts (Debian's nginx-light or nginx-full serve as well as nginx).
        let script = match pkg {
            "apt" => format!(
                "{HAS_PROGRAM} {q} || dpkg-query -W -f='${{Status}}' {q} 2>/dev/null | grep -q 'install ok installed'"
            ),
            _ => format!("{HAS_PROGRAM} {q} || rpm -q {q} >/dev/null 2>&1"),
        };
        if !c.run(&["sh", "-c", &script], None, EXEC_TIMEOUT)?.ok() {
            missing.push((*p).to_string());
        }
    }
    Ok(missing)
}

fn install_packages(c: &Conn, pkg: &str, names: &[String]) -> Result<(), String> {
    let list = names
        .iter()
        .map(|p| sh_quote(p))
        .collect::<Vec<_>>()
        .join(" ");
    let script = match pkg {
        "apt" => format!(
            "export DEBIAN_FRONTEND=noninteractive; apt-get install -y --no-install-recommends {list} || {{ apt-get update -q && apt-get install -y --no-install-recommends {list}; }}"
        ),
        "dnf" => format!("dnf install -y {list}"),
        _ => format!("yum install -y {list}"),
    };
    let out = c.run(&["sh", "-c", &script], None, INSTALL_TIMEOUT)?;
    if out.ok() {
        Ok(())
    } else {
        let text = format!("{}{}", out.stdout, out.stderr);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(6)..].join("\n    ");
        Err(format!(
            "node {}: installing {} with {pkg} failed (exit {}); no file was changed on any host:\n    {tail}\n  hint: install them by hand, or fix the host's package sources",
            c.target.node,
            names.join(" "),
            out.code
        ))
    }
}

// ---------------------------------------------------------------------------------------
// The record of what halab did on each host

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HostRecord {
    pub target: Option<Target>,
    pub facts: Facts,
    /// Packages halab installed (down --purge removes them).
    pub installed: Vec<String>,
    /// Files halab wrote, with whether it kept the original as FILE.bak.
    pub files: BTreeMap<String, bool>,
    /// Services halab started.
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub lab: String,
    pub provider: Option<Provider>,
    /// The lab file (`down` of a vagrant lab hands it to the Vagrantfile again).
    pub lab_file: Option<PathBuf>,
    pub hosts: BTreeMap<String, HostRecord>,
}

impl Record {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("ssh.json")
    }

    pub fn load(state_dir: &Path) -> Option<Record> {
        serde_json::from_str(&std::fs::read_to_string(Record::path(state_dir)).ok()?).ok()
    }

    fn save(&self, state_dir: &Path) -> Result<(), UpError> {
        std::fs::create_dir_all(state_dir).map_err(|source| UpError::Write {
            path: state_dir.to_path_buf(),
            source,
        })?;
        let p = Record::path(state_dir);
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        super::netns::write_private(&p, 0o600, text.as_bytes())
            .map_err(|source| UpError::Write { path: p, source })
    }
}

// ---------------------------------------------------------------------------------------
// up

/// One file to put on a host: a rendered artefact or a binary of this machine.
struct Item {
    path: String,
    mode: u32,
    bytes: Vec<u8>,
    check: Check,
}

fn sha256_hex(b: &[u8]) -> String {
    // Binaries (tens of MB) go through coreutils: sha2 in a debug build takes seconds.
    if b.len() > 1 << 20
        && let Some(hex) = sha256_by_coreutils(b)
    {
        return hex;
    }
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn sha256_by_coreutils(b: &[u8]) -> Option<String> {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let writer = std::thread::scope(|s| {
        let w = s.spawn(move || stdin.write_all(b));
        let out = child.wait_with_output().ok();
        let _ = w.join();
        out
    })?;
    let hex = String::from_utf8_lossy(&writer.stdout)
        .split_whitespace()
        .next()?
        .to_string();
    (hex.len() == 64).then_some(hex)
}

/// The files a host gets: the node's artefacts (systemd units only where systemd runs), and
/// the binaries it runs that are not packages (halabd, the probe).
fn items(
    n: &Node,
    artefacts: &[Artefact],
    f: &Facts,
    halabd: &Path,
    probe_here: bool,
) -> Result<Vec<Item>, String> {
    let mut out: Vec<Item> = artefacts
        .iter()
        .filter(|a| a.node == n.name && (f.systemd || !a.path.starts_with("/etc/systemd/")))
        .map(|a| Item {
            path: a.path.clone(),
            mode: a.mode,
            bytes: a.bytes.clone(),
            check: a.check,
        })
        .collect();
    if n.engine == Some(Engine::Halabd) {
        binaries_fit(&n.name, f, "halabd")?;
        let bytes = binary_bytes(halabd).map_err(|e| {
            format!(
                "{}: {e} (build it: cargo build -p halabd)",
                halabd.display()
            )
        })?;
        out.push(Item {
            path: HALABD_ON_MACHINE.to_string(),
            mode: 0o755,
            bytes,
            check: Check::None,
        });
    }
    if probe_here {
        binaries_fit(&n.name, f, "halab (the probe)")?;
        let exe = std::env::current_exe().map_err(|e| format!("this executable: {e}"))?;
        let bytes = binary_bytes(&exe).map_err(|e| format!("{}: {e}", exe.display()))?;
        out.push(Item {
            path: PROBE_BIN.to_string(),
            mode: 0o755,
            bytes,
            check: Check::None,
        });
    }
    Ok(out)
}

/// A binary to send, without its debug info when binutils' `strip` is at hand (a debug
/// build of halab is 130 MB, 10 MB stripped); the same input always gives the same bytes, so
/// a re-run still sees no change.
fn binary_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    let tmp = tempfile::NamedTempFile::new()?;
    let stripped = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(tmp.path())
        .arg(path)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if stripped {
        std::fs::read(tmp.path())
    } else {
        std::fs::read(path)
    }
}

/// The tool dirs a check sees staged: a config and its siblings (keepalived's scripts,
/// halabd) are checked together, as they will be live.
const TOOL_DIRS: [&str; 3] = ["/etc/haproxy", "/etc/keepalived", "/etc/nginx"];

fn tool_dir(path: &str) -> Option<&'static str> {
    TOOL_DIRS
        .into_iter()
        .find(|d| path.starts_with(&format!("{d}/")))
}

/// One host through `up`, up to the point where its new files wait in the staging dir.
struct Host {
    node: Node,
    conn: Arc<Conn>,
    facts: Facts,
    items: Vec<Item>,
    /// Indices of `items` that differ from the host's file.
    changed: Vec<usize>,
    stage: String,
    installed: Vec<String>,
    bar: indicatif::ProgressBar,
}

impl Host {
    fn say(&self, msg: &str) {
        self.bar.set_message(msg.to_string());
    }
}

/// `f` on every item, each on its own thread (hosts are provisioned in parallel); the
/// results in order, a panic counted as a failure.
fn per_host<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, String> + Sync,
) -> Vec<Result<R, String>> {
    std::thread::scope(|s| {
        let jobs: Vec<_> = items.iter().map(|x| s.spawn(|| f(x))).collect();
        jobs.into_iter()
            .map(|j| {
                j.join()
                    .unwrap_or_else(|_| Err("a provisioning thread panicked".to_string()))
            })
            .collect()
    })
}

/// Splits results into the successes and the error messages.
fn split<R>(results: Vec<Result<R, String>>) -> (Vec<R>, Vec<String>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(x) => ok.push(x),
            Err(e) => errors.push(e),
        }
    }
    (ok, errors)
}

pub fn up(lab: &Lab, opts: &mut UpOptions) -> Result<UpReport, UpError> {
    let start = Instant::now();
    let mut report = UpReport::default();
    let artefacts = crate::up::render_and_check(lab, opts, &mut report)?;
    let dir = super::netns::state_dir(&opts.state_root, &lab.name);
    if lab.provider == Provider::Vagrant {
        let t = Instant::now();
        bring_up_vms(lab, &dir, &mut opts.progress).map_err(UpError::Remote)?;
        stage_time(&mut report, "vagrant up", t, opts);
    }
    let targets: BTreeMap<String, Target> = resolve_targets(lab, &dir)
        .map_err(UpError::Remote)?
        .into_iter()
        .map(|t| (t.node.clone(), t))
        .collect();
    report.existed = Record::path(&dir).exists();
    let mut record = Record::load(&dir).unwrap_or_else(|| Record {
        lab: lab.name.clone(),
        hosts: BTreeMap::new(),
        ..Record::default()
    });
    record.provider = Some(lab.provider);
    record.lab_file = std::path::absolute(&lab.file).ok();
    let probe_node = remote_client(lab, &targets).map(|n| n.name.clone());
    let nodes: Vec<&Node> = lab
        .nodes
        .iter()
        .filter(|n| targets.contains_key(&n.name))
        .collect();

    let multi = indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template("  {prefix:<14} {spinner} {wide_msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    let t = Instant::now();
    // Phase 1, every host in parallel: connect, facts, packages, stage and check the files.
    let halabd = opts.halabd.as_path();
    let prepared = per_host(&nodes, |n| {
        let bar = multi.add(indicatif::ProgressBar::new_spinner());
        bar.set_style(style.clone());
        bar.set_prefix(n.name.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        let target = targets
            .get(&n.name)
            .ok_or_else(|| format!("node {} has no ssh section", n.name))?;
        let probe_here = probe_node.as_deref() == Some(n.name.as_str());
        let r = prepare(n, target, &artefacts, halabd, probe_here, bar.clone());
        match &r {
            Ok(h) => bar.finish_with_message(format!(
                "checked: {} file(s) to change, {} package(s) installed ({})",
                h.changed.len(),
                h.installed.len(),
                h.facts.os
            )),
            Err(e) => {
                bar.finish_with_message(format!("FAILED: {}", e.lines().next().unwrap_or("")))
            }
        }
        r
    });
    let (hosts, errors) = split(prepared);
    for h in &hosts {
        let rec = record.hosts.entry(h.node.name.clone()).or_default();
        rec.target = targets.get(&h.node.name).cloned();
        rec.facts = h.facts.clone();
        for p in &h.installed {
            if !rec.installed.contains(p) {
                rec.installed.push(p.clone());
            }
        }
    }
    if !errors.is_empty() {
        // Nothing was moved into place on any host: drop the staged files everywhere.
        for h in &hosts {
            let _ = h
                .conn
                .sh("clean up", &format!("rm -rf {}", sh_quote(&h.stage)));
        }
        if hosts.iter().any(|h| !h.installed.is_empty()) {
            record.save(&dir)?;
        }
        return Err(UpError::Remote(format!(
            "nothing was changed on any host ({} of {} failed):\n{}",
            errors.len(),
            nodes.len(),
            errors.join("\n")
        )));
    }
    stage_time(&mut report, "connect, packages, stage, check", t, opts);

    // Phase 2: every host passed; move the files in and (re)start, hosts in parallel.
    let t = Instant::now();
    let halabd = opts.halabd.to_string_lossy().to_string();
    let (done, errors) = split(per_host(&hosts, |h| {
        commit(
            h,
            &halabd,
            &record.hosts.get(&h.node.name).cloned().unwrap_or_default(),
        )
    }));
    let mut changes = Vec::new();
    for Committed {
        node,
        changed,
        files,
        started,
    } in done
    {
        let rec = record.hosts.entry(node.clone()).or_default();
        rec.files.extend(files);
        for s in started {
            if !rec.services.contains(&s) {
                rec.services.push(s);
            }
        }
        changes.extend(changed.into_iter().map(|p| format!("{node} {p}")));
    }
    record.save(&dir)?;
    if !errors.is_empty() {
        return Err(UpError::Remote(errors.join("\n")));
    }
    stage_time(&mut report, "install files, start services", t, opts);
    let t = Instant::now();
    let fleet = SshFleet {
        conns: hosts
            .iter()
            .map(|h| (h.node.name.clone(), h.conn.clone()))
            .collect(),
        client: probe_node.clone(),
    };
    crate::up::wait_ready(lab, &fleet)?;
    stage_time(&mut report, "ready (VIP held, 200 via VIP)", t, opts);
    (opts.progress)(&format!(
        "{} change{}",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    ));
    for c in &changes {
        (opts.progress)(&format!("  changed {c}"));
    }
    report.changes = Some(changes);
    report.total = start.elapsed();
    Ok(report)
}

/// The client node the probe runs on over ssh, if the lab reaches it (an `ssh` section, or a
/// vagrant VM); else the probe runs on this machine.
pub fn remote_client<'a>(lab: &'a Lab, targets: &BTreeMap<String, Target>) -> Option<&'a Node> {
    lab.client().filter(|c| targets.contains_key(&c.name))
}

fn prepare(
    n: &Node,
    target: &Target,
    artefacts: &[Artefact],
    halabd: &Path,
    probe_here: bool,
    bar: indicatif::ProgressBar,
) -> Result<Host, String> {
    bar.set_message(format!("connecting to {}", target.describe()));
    let conn = Arc::new(Conn::connect(target)?);
    let mut h = Host {
        node: n.clone(),
        conn,
        facts: Facts::default(),
        items: vec![],
        changed: vec![],
        stage: String::new(),
        installed: vec![],
        bar,
    };
    h.say("reading facts");
    let out = h
        .conn
        .run(&["sh", "-c", FACTS_SCRIPT], None, EXEC_TIMEOUT)?;
    h.facts = parse_facts(&out.stdout);
    let whoami = h.conn.run(&["id", "-u"], None, EXEC_TIMEOUT)?;
    if whoami.stdout.trim() != "0" {
        return Err(format!(
            "node {}: cannot run commands as root ({}){}\n  hint: log in as root, or give {} passwordless sudo",
            n.name,
            whoami.stdout.trim(),
            if whoami.stderr.is_empty() {
                String::new()
            } else {
                format!(": {}", whoami.stderr.trim())
            },
            target.user
        ));
    }
    let want = packages(n);
    if !want.is_empty() {
        let pkg = h.facts.pkg.clone().ok_or_else(|| {
            format!(
                "node {} ({}): no apt-get, dnf or yum found\n  hint: install {} by hand",
                n.name,
                h.facts.os,
                want.join(" ")
            )
        })?;
        h.say(&format!("checking packages ({pkg})"));
        let missing = missing_packages(&h.conn, &pkg, &want)?;
        if !missing.is_empty() {
            h.say(&format!("installing {}", missing.join(" ")));
            install_packages(&h.conn, &pkg, &missing)?;
            h.installed = missing;
        }
    }
    h.items = items(n, artefacts, &h.facts, halabd, probe_here)?;
    h.say("comparing files");
    // One sha256sum for every file; a missing file prints nothing for it.
    let paths = h
        .items
        .iter()
        .map(|i| sh_quote(&i.path))
        .collect::<Vec<_>>()
        .join(" ");
    let sums = h.conn.run(
        &["sh", "-c", &format!("sha256sum {paths} 2>/dev/null; true")],
        None,
        EXEC_TIMEOUT,
    )?;
    let have: BTreeMap<String, String> = sums
        .stdout
        .lines()
        .filter_map(|l| {
            l.split_once("  ")
                .map(|(s, p)| (p.to_string(), s.to_string()))
        })
        .collect();
    let modes = h.conn.run(
        &[
            "sh",
            "-c",
            &format!("stat -c '%a %n' {paths} 2>/dev/null; true"),
        ],
        None,
        EXEC_TIMEOUT,
    )?;
    let mode_of: BTreeMap<String, u32> = modes
        .stdout
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .and_then(|(m, p)| Some((p.to_string(), u32::from_str_radix(m, 8).ok()?)))
        })
        .collect();
    h.changed = (0..h.items.len())
        .filter(|&i| {
            have.get(&h.items[i].path) != Some(&sha256_hex(&h.items[i].bytes))
                || mode_of.get(&h.items[i].path) != Some(&h.items[i].mode)
        })
        .collect();
    if h.changed.is_empty() {
        return Ok(h);
    }
    h.say("staging files");
    // A private staging dir of the login user's: uploads land there, root copies them in.
    h.stage = h.conn.session_stage()?;
    // Whatever fails from here leaves no staging dir behind.
    if let Err(e) = stage_and_check(n, &h) {
        let _ = h
            .conn
            .sh("clean up", &format!("rm -rf {}", sh_quote(&h.stage)));
        return Err(e);
    }
    Ok(h)
}

/// Sends a host's changed files into its staging dir and has the host's real tools check
/// them where they will live.
fn stage_and_check(n: &Node, h: &Host) -> Result<(), String> {
    for (k, &i) in h.changed.iter().enumerate() {
        h.conn
            .upload(&format!("{}/up/{k}", h.stage), &h.items[i].bytes)?;
    }
    // The staged view: each touched tool dir as it will be, checked where it will live.
    let mut script = String::from("set -e\n");
    let s = sh_quote(&h.stage);
    let dirs: BTreeSet<&str> = h
        .changed
        .iter()
        .filter_map(|&i| tool_dir(&h.items[i].path))
        .collect();
    for d in &dirs {
        script.push_str(&format!(
            "mkdir -p {s}/view{d}\nif [ -d {d} ]; then cp -a {d}/. {s}/view{d}/; fi\n"
        ));
    }
    for (k, &i) in h.changed.iter().enumerate() {
        if let Some(d) = tool_dir(&h.items[i].path) {
            let rel = &h.items[i].path[d.len()..];
            script.push_str(&format!("mkdir -p \"$(dirname {s}/view{d}{})\"\ncp {s}/up/{k} {s}/view{d}{}\nchmod {:o} {s}/view{d}{}\n", sh_quote(rel), sh_quote(rel), h.items[i].mode, sh_quote(rel)));
        }
    }
    h.conn.sh("staging", &script)?;
    h.say("checking configs with the host's tools");
    for &i in &h.changed {
        let item = &h.items[i];
        let cmd = match item.check {
            Check::Haproxy => format!("haproxy -c -f {}", sh_quote(&item.path)),
            Check::Nginx => format!("nginx -t -q -c {}", sh_quote(&item.path)),
            Check::Keepalived if n.engine == Some(Engine::Halabd) => {
                format!("{HALABD_ON_MACHINE} -t -f {}", sh_quote(&item.path))
            }
            Check::Keepalived => format!("keepalived -t -l -n -f {}", sh_quote(&item.path)),
            Check::None => continue,
        };
        let mut binds = String::new();
        for d in &dirs {
            binds.push_str(&format!("mkdir -p {d} && mount --bind {s}/view{d} {d} && "));
        }
        let inner = format!("{binds}{cmd}");
        let out = h.conn.run(
            &[
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                &inner,
            ],
            None,
            EXEC_TIMEOUT,
        )?;
        let text = format!("{}{}", out.stdout, out.stderr);
        let warned = text
            .lines()
            .any(|l| crate::check::is_warning(item.check, l));
        if !out.ok() || warned {
            let tool = cmd.split_whitespace().next().unwrap_or("");
            let status = if out.ok() {
                "exited 0 but warned".to_string()
            } else {
                format!("exited with {}", out.code)
            };
            return Err(format!(
                "node {}: {} rejected by the host's {tool} ({status}):\n    {}",
                n.name,
                item.path,
                first_lines(&text, 12)
            ));
        }
    }
    Ok(())
}

impl Conn {
    /// A fresh staging dir of the login user's (mode 0700) on the host.
    fn session_stage(&self) -> Result<String, String> {
        // Not through sudo: SFTP writes as the login user.
        let fut = async {
            let out = self
                .session
                .command("mktemp")
                .args(["-d", "/var/tmp/halab-up.XXXXXXXX"])
                .output()
                .await
                .map_err(|e| e.to_string())?;
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !out.status.success() || dir.is_empty() {
                return Err(format!(
                    "mktemp on {}: {}",
                    self.target.node,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            let out = self
                .session
                .command("mkdir")
                .args(["-p", &format!("{dir}/up")])
                .output()
                .await
                .map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!(
                    "mkdir on {}: {}",
                    self.target.node,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(dir)
        };
        runtime().block_on(fut)
    }
}

/// What [`commit`] did on one host.
struct Committed {
    node: String,
    /// The paths that changed.
    changed: Vec<String>,
    /// Files written, with whether the original was kept as FILE.bak.
    files: BTreeMap<String, bool>,
    started: Vec<Service>,
}

/// Moves a checked host's staged files in (keeping the originals as FILE.bak), applies
/// sysctls, and starts or reloads its services.
fn commit(h: &Host, halabd: &str, rec: &HostRecord) -> Result<Committed, String> {
    let m = SshMachine(h.conn.clone());
    let mut files = BTreeMap::new();
    let mut changed = Vec::new();
    if !h.changed.is_empty() {
        h.say("installing files");
        let s = sh_quote(&h.stage);
        let mut script = String::from("set -e\n");
        for (k, &i) in h.changed.iter().enumerate() {
            let item = &h.items[i];
            let p = sh_quote(&item.path);
            // The original, once: what was there before halab (`cp -p f f.bak`, as the seeds do).
            let first = !rec.files.contains_key(&item.path);
            script.push_str(&format!(
                "mkdir -p \"$(dirname {p})\"\n{}install -m {:o} {s}/up/{k} {p}.halab-new\nmv -f {p}.halab-new {p}\n",
                if first { format!("if [ -e {p} ] && [ ! -e {p}.bak ]; then cp -p {p} {p}.bak; echo bak {p}; fi\n") } else { String::new() },
                item.mode
            ));
            changed.push(item.path.clone());
        }
        script.push_str(&format!("rm -rf {s}\n"));
        let out = h.conn.sh("installing files", &script)?;
        let baks: BTreeSet<String> = out
            .lines()
            .filter_map(|l| l.strip_prefix("bak "))
            .map(|p| p.trim_matches('\'').to_string())
            .collect();
        for p in &changed {
            files.insert(
                p.clone(),
                rec.files.get(p).copied().unwrap_or(false) || baks.contains(p),
            );
        }
        if changed.iter().any(|p| p.starts_with("/etc/sysctl.d/")) {
            h.conn.sh(
                "applying sysctls",
                "for f in /etc/sysctl.d/90-halab.conf; do [ -e $f ] && sysctl -q -p $f; done; true",
            )?;
        }
        if h.facts.systemd && changed.iter().any(|p| p.starts_with("/etc/systemd/")) {
            h.conn
                .sh("systemctl daemon-reload", "systemctl daemon-reload")?;
        }
    }
    // Start what does not run; reload what runs and whose files changed.
    let mut started = Vec::new();
    for svc in Service::for_node(&h.node) {
        let touched = changed.iter().any(|p| service_of(&h.node, p) == Some(svc));
        if services::running_pid(&m, svc).is_none()
            || (h.facts.systemd && !systemd_active(&h.conn, svc))
        {
            h.say(&format!("starting {}", svc.name()));
            services::start(&m, svc, halabd).map_err(|e| e.to_string())?;
            if h.facts.systemd {
                h.conn.sh(
                    "systemctl enable",
                    &format!("systemctl enable --quiet {}", svc.name()),
                )?;
            }
            started.push(svc);
        } else if touched {
            h.say(&format!("reloading {}", svc.name()));
            services::reload(&m, svc, halabd).map_err(|e| e.to_string())?;
        }
    }
    h.say("done");
    Ok(Committed {
        node: h.node.name.clone(),
        changed,
        files,
        started,
    })
}

fn systemd_active(c: &Conn, s: Service) -> bool {
    c.run(
        &["systemctl", "is-active", "--quiet", s.name()],
        None,
        EXEC_TIMEOUT,
    )
    .is_ok_and(|o| o.ok())
}

/// The service a file configures on this node.
fn service_of(n: &Node, path: &str) -> Option<Service> {
    if path.starts_with("/etc/haproxy/") {
        Some(Service::Haproxy)
    } else if path.starts_with("/etc/nginx/") {
        Some(Service::Nginx)
    } else if path.starts_with("/etc/keepalived/") {
        Some(if n.engine == Some(Engine::Halabd) {
            Service::Halabd
        } else {
            Service::Keepalived
        })
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------
// down

#[derive(Debug, Default)]
pub struct DownReport {
    pub hosts: usize,
    pub stopped: usize,
    pub removed_files: usize,
    pub removed_packages: usize,
}

/// Stops what halab started on each host of the record; with `purge`, also puts back the
/// original files (or removes halab's), removes the packages halab installed and halab's
/// own dir. The record goes once every host is done.
pub fn down(state_dir: &Path, purge: bool) -> Result<Option<DownReport>, UpError> {
    let Some(record) = Record::load(state_dir) else {
        return Ok(None);
    };
    let hosts: Vec<(&String, &HostRecord)> = record.hosts.iter().collect();
    let (done, errors) = split(per_host(&hosts, |(node, rec)| down_host(node, rec, purge)));
    let mut r = DownReport {
        hosts: record.hosts.len(),
        ..DownReport::default()
    };
    for (a, b, c) in done {
        r.stopped += a;
        r.removed_files += b;
        r.removed_packages += c;
    }
    if !errors.is_empty() {
        return Err(UpError::Remote(format!(
            "down failed on {} host(s); the record stays in {} for another try:\n{}",
            errors.len(),
            state_dir.display(),
            errors.join("\n")
        )));
    }
    if record.provider == Some(Provider::Vagrant) {
        let file = record.lab_file.clone().ok_or_else(|| {
            UpError::Remote("the record names no lab file for `vagrant destroy`".into())
        })?;
        let lab = crate::lab::load(&file)
            .map_err(|e| UpError::Remote(format!("{}: {e}", file.display())))?;
        let dir = vagrantfile_dir(&lab).map_err(UpError::Remote)?;
        super::vagrant::vagrant_destroy(&dir, &lab).map_err(UpError::Remote)?;
        let _ = std::fs::remove_file(state_dir.join(VAGRANT_SSH_CONFIG));
    }
    let _ = std::fs::remove_file(Record::path(state_dir));
    let _ = std::fs::remove_dir(state_dir);
    Ok(Some(r))
}

fn down_host(node: &str, rec: &HostRecord, purge: bool) -> Result<(usize, usize, usize), String> {
    let t = rec
        .target
        .as_ref()
        .ok_or_else(|| format!("node {node}: no ssh target recorded"))?;
    let conn = Arc::new(Conn::connect(t)?);
    let m = SshMachine(conn.clone());
    let mut stopped = 0;
    // VRRP first (the VIP goes with a priority-0 advert), then the proxy, then the web.
    for s in rec.services.iter().rev() {
        if services::stop(&m, *s, services::Stop::Graceful).map_err(|e| e.to_string())? {
            stopped += 1;
        }
        if rec.facts.systemd {
            let _ = conn.run(
                &["systemctl", "disable", "--quiet", s.name()],
                None,
                EXEC_TIMEOUT,
            );
        }
    }
    if !purge {
        return Ok((stopped, 0, 0));
    }
    let mut script = String::new();
    for (path, bak) in &rec.files {
        let p = sh_quote(path);
        if *bak {
            script.push_str(&format!(
                "if [ -e {p}.bak ]; then mv -f {p}.bak {p}; else rm -f {p}; fi\n"
            ));
        } else {
            script.push_str(&format!("rm -f {p}\n"));
        }
    }
    script.push_str(&format!("rm -rf {HALAB_DIR}\n"));
    conn.sh("removing files", &script)?;
    if !rec.installed.is_empty() {
        let list = rec
            .installed
            .iter()
            .map(|p| sh_quote(p))
            .collect::<Vec<_>>()
            .join(" ");
        let cmd = match rec.facts.pkg.as_deref() {
            Some("apt") => format!("DEBIAN_FRONTEND=noninteractive apt-get purge -y {list}"),
            Some("dnf") => format!("dnf remove -y {list}"),
            _ => format!("yum remove -y {list}"),
        };
        let out = conn.run(&["sh", "-c", &cmd], None, INSTALL_TIMEOUT)?;
        if !out.ok() {
            return Err(format!(
                "node {node}: removing {} failed: {}",
                rec.installed.join(" "),
                first_lines(&out.stderr, 6)
            ));
        }
    }
    Ok((stopped, rec.files.len(), rec.installed.len()))
}

// ---------------------------------------------------------------------------------------
// The running lab

pub struct SshFleet {
    conns: BTreeMap<String, Arc<Conn>>,
    /// The client node the probe runs on; None: this machine.
    client: Option<String>,
}

impl SshFleet {
    /// Connects to every host of the lab (in parallel).
    pub fn connect(lab: &Lab, state_dir: &Path) -> Result<SshFleet, String> {
        let targets: BTreeMap<String, Target> = resolve_targets(lab, state_dir)?
            .into_iter()
            .map(|t| (t.node.clone(), t))
            .collect();
        let list: Vec<&Target> = targets.values().collect();
        let (conns, errors) = split(per_host(&list, |t| {
            Conn::connect(t).map(|c| (t.node.clone(), Arc::new(c)))
        }));
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        let map: BTreeMap<String, Arc<Conn>> = conns.into_iter().collect();
        Ok(SshFleet {
            conns: map,
            client: remote_client(lab, &targets).map(|c| c.name.clone()),
        })
    }

    fn conn(&self, node: &str) -> Result<&Arc<Conn>, String> {
        self.conns
            .get(node)
            .ok_or_else(|| format!("node {node} is not reached over ssh (no `ssh` section)"))
    }
}

impl Fleet for SshFleet {
    fn provider(&self) -> &'static str {
        "ssh"
    }

    fn machine(&self, node: &str) -> Result<MachineBox, String> {
        Ok(Box::new(SshMachine(self.conn(node)?.clone())))
    }

    fn client_get(
        &self,
        target: SocketAddr,
        path: &str,
        timeout: Duration,
        headers: &[(String, String)],
    ) -> Result<Reply, String> {
        let Some(client) = &self.client else {
            return crate::probe::get_with(target, path, timeout, None, headers)
                .map_err(|e| e.to_string());
        };
        let mut argv = vec![
            PROBE_BIN.to_string(),
            "__get".into(),
            "--target".into(),
            target.to_string(),
            "--path".into(),
            path.to_string(),
            "--timeout-ms".into(),
            timeout.as_millis().to_string(),
        ];
        for (k, v) in headers {
            argv.extend(["--header".to_string(), format!("{k}: {v}")]);
        }
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = self
            .conn(client)?
            .run(&refs, None, timeout + Duration::from_secs(10))?;
        let r: Result<crate::cmd::remote_probe::WireReply, String> =
            serde_json::from_str(out.stdout.trim()).map_err(|e| {
                format!(
                    "the probe on {client} said {:?} ({e}): {}",
                    out.stdout.trim(),
                    out.stderr.trim()
                )
            })?;
        r.map(Into::into)
    }

    fn probe_loop(&self, sh: Arc<Shared>, target: SocketAddr, t0: Instant) {
        let Some(client) = &self.client else {
            crate::scenario::sampler::probe_loop(&sh, target, t0);
            return;
        };
        let Ok(conn) = self.conn(client) else { return };
        remote_probe_loop(conn, &sh, target, t0);
    }

    fn client_arp(&self, lab: &Lab, ip: Ipv4Addr) -> Option<(String, String)> {
        let _ = lab;
        let text = match &self.client {
            Some(c) => {
                self.conn(c)
                    .ok()?
                    .run(
                        &["ip", "neigh", "show", &ip.to_string()],
                        None,
                        EXEC_TIMEOUT,
                    )
                    .ok()?
                    .stdout
            }
            None => Command::new("ip")
                .args(["neigh", "show", &ip.to_string()])
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).to_string())?,
        };
        parse_arp(&text)
    }

    fn haproxy_stat(&self, node: &str) -> Result<String, String> {
        let out = self.conn(node)?.run(
            &[
                "sh",
                "-c",
                "echo 'show stat' | socat stdio UNIX-CONNECT:/run/haproxy-admin.sock",
            ],
            None,
            EXEC_TIMEOUT,
        )?;
        if out.ok() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "haproxy's admin socket on {node}: {}",
                out.stderr.trim()
            ))
        }
    }

    fn cable(
        &self,
        _lab: &Lab,
        node: &str,
        _interface: Option<&str>,
        _up: bool,
    ) -> Result<(), String> {
        Err(format!(
            "cannot pull {node}'s cable over ssh: halab reaches the host through that link\n  hint: use `partition` (nftables drop rules) on ssh labs; link faults need the netns provider"
        ))
    }
}

/// The probe on the client host: `halab __probe` streams one JSON line per request; `pause`
/// and `resume` on its stdin stop and restart it (it acknowledges with `paused`).
fn remote_probe_loop(conn: &Conn, sh: &Shared, target: SocketAddr, t0: Instant) {
    let ctl = conn.session.control_socket();
    let mut cmd = Command::new("ssh");
    cmd.arg("-S")
        .arg(ctl)
        .args(["-o", "ControlMaster=no", "-T", "placeholder"]);
    let remote = format!("{PROBE_BIN} __probe --target {target}");
    if conn.root() {
        cmd.arg(remote);
    } else {
        cmd.arg(format!("sudo -n -- {remote}"));
    }
    let Ok(mut child) = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return;
    };
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return;
    };
    sh.remote.store(true, Ordering::SeqCst);
    let mut offset = None::<u64>;
    let reader = {
        let (tx, rx) = std::sync::mpsc::channel::<Line>();
        let th = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let msg = if line == "paused" {
                    Line::Paused
                } else if line == "ready" {
                    Line::Ready
                } else if let Ok(s) =
                    serde_json::from_str::<crate::cmd::remote_probe::WireSample>(&line)
                {
                    Line::Sample(s)
                } else {
                    continue;
                };
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        (th, rx)
    };
    let (th, rx) = reader;
    let mut sent_pause = false;
    let started = Instant::now();
    while !sh.stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(15 * 60) {
        let want_pause = sh.paused.load(Ordering::SeqCst);
        if want_pause != sent_pause {
            let _ = stdin.write_all(if want_pause { b"pause\n" } else { b"resume\n" });
            let _ = stdin.flush();
            sent_pause = want_pause;
            if !want_pause {
                sh.acked_pause.store(false, Ordering::SeqCst);
            }
        }
        match rx.recv_timeout(Duration::from_millis(2)) {
            // The probe's clock starts at `ready`: its times are offsets from our receipt of it.
            Ok(Line::Ready) => offset = Some(u64::try_from(t0.elapsed().as_millis()).unwrap_or(0)),
            Ok(Line::Paused) => sh.acked_pause.store(true, Ordering::SeqCst),
            Ok(Line::Sample(s)) => {
                let base = offset.unwrap_or(0);
                if let Ok(mut v) = sh.samples.lock() {
                    v.push(crate::scenario::result::Sample {
                        t_ms: base + s.t,
                        took_ms: s.took,
                        backend: s.backend,
                        error: s.error,
                    });
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    let _ = th.join();
}

enum Line {
    Ready,
    Paused,
    Sample(crate::cmd::remote_probe::WireSample),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_host_facts() {
        let f = parse_facts(
            "os=Debian GNU/Linux 12 (bookworm)\nid=debian\narch=x86_64\nglibc=glibc 2.36\npkg=apt-get\nsystemd=1\n",
        );
        assert_eq!(
            (f.os.as_str(), f.os_id.as_str(), f.arch.as_str()),
            ("Debian GNU/Linux 12 (bookworm)", "debian", "x86_64")
        );
        assert_eq!(
            (f.glibc, f.pkg.as_deref(), f.systemd),
            (Some((2, 36)), Some("apt"), true)
        );
        let f = parse_facts(
            "os=Rocky Linux 9.3 (Blue Onyx)\nid=rocky\narch=aarch64\nglibc=\npkg=dnf\n",
        );
        assert_eq!(
            (f.glibc, f.pkg.as_deref(), f.systemd),
            (None, Some("dnf"), false)
        );
    }

    #[test]
    fn refuses_hosts_the_binaries_do_not_fit() {
        let (arch, glibc) = local_facts();
        let mut f = Facts {
            arch: arch.clone(),
            glibc,
            ..Facts::default()
        };
        assert_eq!(binaries_fit("lb1", &f, "halabd"), Ok(()));
        f.arch = "riscv64".into();
        let e = binaries_fit("lb1", &f, "halabd").expect_err("another arch");
        assert!(
            e.contains("node lb1 is riscv64") && e.contains("hint:"),
            "{e}"
        );
        if let Some((major, minor)) = glibc {
            let f = Facts {
                arch,
                glibc: Some((major, minor.saturating_sub(10))),
                ..Facts::default()
            };
            let e = binaries_fit("lb1", &f, "halabd").expect_err("an older glibc");
            assert!(e.contains("has glibc"), "{e}");
        }
    }

    #[test]
    fn files_belong_to_their_tool_and_service() {
        assert_eq!(tool_dir("/etc/haproxy/haproxy.cfg"), Some("/etc/haproxy"));
        assert_eq!(tool_dir("/etc/keepalived/halabd"), Some("/etc/keepalived"));
        assert_eq!(tool_dir("/etc/hosts"), None);
        assert_eq!(tool_dir("/etc/haproxyX/y"), None);
    }

    #[test]
    fn digests_agree_with_coreutils() {
        // sha256sum is in coreutils, on every host halab provisions: it must be there.
        let small = b"frontend main\n".to_vec();
        let big = vec![7u8; (1 << 20) + 1];
        for b in [small, big] {
            use sha2::Digest;
            let by_tool = sha256_by_coreutils(&b).expect("sha256sum (coreutils) runs");
            let by_crate: String = sha2::Sha256::digest(&b)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect();
            assert_eq!(by_tool, by_crate);
            assert_eq!(sha256_hex(&b), by_tool);
        }
    }
}
