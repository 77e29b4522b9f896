//! The running ssh lab as a [`Fleet`].

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::PROBE_BIN;
use super::connection::{Conn, EXEC_TIMEOUT};
use super::machine::SshMachine;
use super::parallel::{per_host, split};
use super::probe_client::remote_probe_loop;
use super::target::{Target, remote_client, resolve_targets};
use crate::fleet::{Fleet, MachineBox, parse_arp};
use crate::lab::Lab;
use crate::probe::Reply;
use crate::probe::sampling::Shared;

pub struct SshFleet {
    pub(super) conns: BTreeMap<String, Arc<Conn>>,
    /// The client node the probe runs on; None: this machine.
    pub(super) client: Option<String>,
}

impl SshFleet {
    /// Connects to every host of the lab (in parallel).
    pub fn connect(lab: &Lab, state_dir: &Path) -> Result<SshFleet, String> {
        let targets: BTreeMap<String, Target> = resolve_targets(lab, state_dir)
            .map_err(|e| e.to_string())?
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

    pub(super) fn conn(&self, node: &str) -> Result<&Arc<Conn>, String> {
        self.conns
            .get(node)
            .ok_or_else(|| format!("node {node} is not reached over ssh (no `ssh` section)"))
    }
}

impl Fleet for SshFleet {
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
            .run(&refs, None, timeout + Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        let r: Result<crate::probe::wire::WireReply, String> =
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
            crate::probe::sampling::probe_loop(&sh, target, t0);
            return;
        };
        let Ok(conn) = self.conn(client) else { return };
        remote_probe_loop(conn, &sh, target, t0);
    }

    fn client_arp(&self, lab: &Lab, ip: IpAddr) -> Option<(String, String)> {
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
        let out = self
            .conn(node)?
            .run(
                &[
                    "sh",
                    "-c",
                    "echo 'show stat' | socat stdio UNIX-CONNECT:/run/haproxy-admin.sock",
                ],
                None,
                EXEC_TIMEOUT,
            )
            .map_err(|e| e.to_string())?;
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

    /// No cable can be pulled over ssh, so none is pulled.
    fn plug_all(&self, _lab: &Lab) -> Result<(), String> {
        Ok(())
    }
}
