//! sshd on the test bed's hosts: the bed's client key, host keys, sshd started in a
//! host-like node, waiting for its banner, and the files ssh reads (known_hosts, ssh_config,
//! testbed.json).

use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::{Host, TestbedError, TestbedInfo, TestbedPlan, io_at};
use halab_netns::NodeHandle;

/// The node-local pidfile of each host's sshd (`testbed exec LAB NODE -- sh -c 'kill
/// $(cat /run/sshd.pid)'` stops it).
pub const SSHD_PIDFILE: &str = "/run/sshd.pid";
/// How long every sshd may take to answer once started.
/// `ssh-keygen -A` makes an RSA key: seconds when several nodes do it on two busy cores.
const KEYGEN_TIMEOUT: Duration = Duration::from_secs(120);

/// Fresh host keys (the overlay hides the host's), root's authorized_keys ($1), sshd's
/// privilege separation dir. `rm` in the overlay only leaves whiteouts: the host keeps its keys.
const PREPARE: &str = "set -e
rm -f /etc/ssh/ssh_host_*
ssh-keygen -A >/dev/null
umask 077
mkdir -p /root/.ssh
rm -f /root/.ssh/authorized_keys2
printf '%s\\n' \"$1\" >/root/.ssh/authorized_keys
umask 022
mkdir -p /run/sshd";

/// The test bed's client key pair, made once per DIR; returns the public key's line.
pub(crate) fn ensure_key(identity: &Path) -> Result<String, TestbedError> {
    let public = identity.with_extension("pub");
    if !identity.exists() {
        let mut cmd = Command::new("ssh-keygen");
        cmd.args(["-q", "-t", "ed25519", "-N", "", "-C", "halab-testbed", "-f"])
            .arg(identity);
        let out = cmd.output().map_err(|e| TestbedError::Command {
            cmd: "ssh-keygen -t ed25519".into(),
            reason: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(TestbedError::Command {
                cmd: "ssh-keygen -t ed25519".into(),
                reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
    }
    let text = fs::read_to_string(&public).map_err(io_at(&public))?;
    Ok(text.trim().to_owned())
}

/// DIR/authorized_keys (the bed's key) and a fresh ed25519 key pair per host
/// (DIR/host-keys/NODE); returns the first's path and each host's public key line.
pub(super) fn host_keys(
    plan: &TestbedPlan,
    dir: &Path,
    public: &str,
) -> Result<(PathBuf, Vec<String>), TestbedError> {
    let keys_dir = dir.join("host-keys");
    fs::create_dir_all(&keys_dir).map_err(io_at(&keys_dir))?;
    let authorized = dir.join("authorized_keys");
    fs::write(&authorized, format!("{public}\n")).map_err(io_at(&authorized))?;
    let mut keys = Vec::new();
    for h in &plan.hosts {
        let key = keys_dir.join(&h.name);
        let _ = fs::remove_file(&key);
        let _ = fs::remove_file(key.with_extension("pub"));
        keygen(&key, &format!("root@{}", h.name))?;
        let pub_path = key.with_extension("pub");
        let text = fs::read_to_string(&pub_path).map_err(io_at(&pub_path))?;
        keys.push(
            text.split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    Ok((authorized, keys))
}

pub(crate) fn keygen(path: &Path, comment: &str) -> Result<(), TestbedError> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .output()
        .map_err(|e| TestbedError::Command {
            cmd: "ssh-keygen -t ed25519".into(),
            reason: e.to_string(),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(TestbedError::Command {
            cmd: "ssh-keygen -t ed25519".into(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

pub(super) fn start_sshd(
    node: &NodeHandle,
    host: &Host,
    public: &str,
) -> Result<String, TestbedError> {
    let sshd_err = |reason: String| TestbedError::Sshd {
        node: host.name.clone(),
        reason,
    };
    let out = node.exec_timeout(&["sh", "-c", PREPARE, "sh", public], KEYGEN_TIMEOUT)?;
    if !out.success() {
        return Err(sshd_err(format!(
            "prepare the host keys and authorized_keys: {}",
            out.stderr.trim()
        )));
    }
    let port = format!("Port={}", host.port);
    let pidfile = format!("PidFile={SSHD_PIDFILE}");
    // Command-line options win over sshd_config and its drop-ins (the host's).
    let argv = [
        "/usr/sbin/sshd",
        "-o",
        &port,
        "-o",
        &pidfile,
        "-o",
        "UseDNS=no",
        "-o",
        "PermitRootLogin=prohibit-password",
        "-o",
        "PasswordAuthentication=no",
        "-o",
        "AuthorizedKeysFile=.ssh/authorized_keys",
    ];
    node.spawn_daemon(&argv, SSHD_PIDFILE)?;
    let key_path = node
        .host_path("/etc/ssh/ssh_host_ed25519_key.pub")
        .ok_or_else(|| sshd_err("no path to its host key".into()))?;
    let text = fs::read_to_string(&key_path).map_err(io_at(&key_path))?;
    let key: Vec<&str> = text.split_whitespace().take(2).collect();
    match key.as_slice() {
        [kind, blob] => Ok(format!("{kind} {blob}")),
        _ => Err(sshd_err(format!("{} holds no key", key_path.display()))),
    }
}

/// Connects to every sshd (from the calling thread's network namespace) until it sends its
/// `SSH-` banner.
pub(super) fn wait_sshd(hosts: &[Host], timeout: Duration) -> Result<(), TestbedError> {
    let deadline = Instant::now() + timeout;
    for host in hosts {
        let addr = SocketAddr::from((host.address, host.port));
        loop {
            let banner =
                TcpStream::connect_timeout(&addr, Duration::from_millis(500)).and_then(|mut s| {
                    s.set_read_timeout(Some(Duration::from_secs(2)))?;
                    let mut buf = [0u8; 4];
                    s.read_exact(&mut buf)?;
                    Ok(buf)
                });
            match banner {
                Ok(b) if &b == b"SSH-" => break,
                _ if Instant::now() < deadline => sleep(Duration::from_millis(20)),
                other => {
                    let seen = other.map_or_else(|e| e.to_string(), |b| format!("{b:?}"));
                    return Err(TestbedError::Sshd {
                        node: host.name.clone(),
                        reason: format!("no answer on {addr} within {timeout:?}: {seen}"),
                    });
                }
            }
        }
    }
    Ok(())
}

/// known_hosts, ssh_config, testbed.json.
pub(super) fn write_files(info: &TestbedInfo, keys: &[String]) -> Result<(), TestbedError> {
    let write = |path: &Path, text: String| fs::write(path, text).map_err(io_at(path));
    write(&info.known_hosts, known_hosts(&info.hosts, keys))?;
    write(&info.ssh_config, ssh_config(info))?;
    let json = serde_json::to_string_pretty(info).unwrap_or_default();
    write(
        &info.known_hosts.with_file_name("testbed.json"),
        json + "\n",
    )
}

/// "ADDR,NAME KEY" per host (`[ADDR]:PORT,[NAME]:PORT KEY` off port 22).
pub fn known_hosts(hosts: &[Host], keys: &[String]) -> String {
    hosts
        .iter()
        .zip(keys)
        .map(|(h, key)| match h.port {
            22 => format!("{},{} {key}\n", h.address, h.name),
            p => format!("[{}]:{p},[{}]:{p} {key}\n", h.address, h.name),
        })
        .collect()
}

pub fn ssh_config(info: &TestbedInfo) -> String {
    let mut text = format!(
        "# Written by `halab testbed up` for the test bed {}: run ssh from the control node's\n\
         # network namespace, `nsenter --net={} ssh -F THIS_FILE NODE`.\n",
        info.lab,
        info.control_netns.display()
    );
    // The first value ssh finds wins: the per-node blocks come before `Host *`.
    for h in &info.hosts {
        text.push_str(&format!(
            "\nHost {}\n  HostName {}\n  Port {}\n",
            h.name, h.address, h.port
        ));
    }
    text.push_str(&format!(
        "\nHost *\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
         GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  UpdateHostKeys no\n  \
         BatchMode yes\n  ConnectTimeout 5\n",
        info.identity_file.display(),
        info.known_hosts.display()
    ));
    text
}
