//! The types halab and halabd both speak: halabd's status API.
//!
//! `GET /status` on halabd's API address (default `127.0.0.1:9406`) answers a [`Status`] as
//! JSON; `GET /metrics` answers the same numbers in Prometheus text format
//! ([`Status::to_prometheus`]). Fields are only ever added, so a client built against an older
//! version of this crate keeps working (unknown fields are ignored on the way in).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The default API address.
pub const DEFAULT_API_ADDR: &str = "127.0.0.1:9406";

/// Everything halabd reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The daemon itself.
    pub daemon: DaemonStatus,
    /// One entry per `vrrp_instance`, in configuration order.
    pub instances: Vec<InstanceStatus>,
    /// One entry per `vrrp_script`, in configuration order.
    pub scripts: Vec<ScriptStatus>,
    /// One entry per `vrrp_sync_group`.
    pub sync_groups: Vec<SyncGroupStatus>,
}

/// The daemon process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// halabd's version.
    pub version: String,
    /// Process id.
    pub pid: u32,
    /// `global_defs { router_id }`, if set.
    pub router_id: Option<String>,
    /// The configuration file in force.
    pub config_file: String,
    /// Seconds since the daemon started.
    pub uptime_secs: u64,
    /// Successful configuration reloads (SIGHUP).
    pub reloads: u64,
    /// Reloads refused because the new configuration was invalid.
    pub failed_reloads: u64,
}

/// A VRRP state, as keepalived names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VrrpState {
    /// Not running yet (or a weight-0 script has not run yet), or stopped.
    #[default]
    Init,
    /// Listening to a master.
    Backup,
    /// Holding the virtual addresses.
    Master,
    /// Interface down or a weight-0 tracker failed.
    Fault,
}

impl VrrpState {
    /// keepalived's spelling: `MASTER`, `BACKUP`, `FAULT`, `INIT`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Init => "INIT",
            Self::Backup => "BACKUP",
            Self::Master => "MASTER",
            Self::Fault => "FAULT",
        }
    }
}

/// One `vrrp_instance`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// The instance name (`vrrp_instance NAME`).
    pub name: String,
    /// The interface it runs on.
    pub interface: String,
    /// Virtual router id.
    pub vrid: u8,
    /// VRRP version, 2 or 3.
    pub version: u8,
    /// Current state.
    pub state: VrrpState,
    /// Configured priority.
    pub base_priority: u8,
    /// Priority after tracking weights.
    pub effective_priority: u8,
    /// Advertisement interval in milliseconds.
    pub advert_interval_ms: u64,
    /// Our primary address on the interface (the advert source), when known.
    pub primary_address: Option<IpAddr>,
    /// The current master's address: ours while master, the last advert's source while backup.
    pub master_address: Option<IpAddr>,
    /// Virtual addresses, `a.b.c.d/len`.
    pub vips: Vec<String>,
    /// Whether the virtual addresses are on the interface (as far as halabd knows).
    pub vips_held: bool,
    /// The instance's tracked scripts.
    pub tracked_scripts: Vec<TrackedScript>,
    /// The instance's tracked interfaces.
    pub tracked_interfaces: Vec<TrackedInterface>,
    /// Why the instance cannot run, when it cannot (interface missing, no IPv4 address).
    pub problem: Option<String>,
    /// Seconds since the last state change.
    pub secs_in_state: u64,
    /// Counters since the instance started.
    pub counters: Counters,
}

/// A script as one instance tracks it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedScript {
    /// The `vrrp_script` name.
    pub name: String,
    /// Its weight for this instance.
    pub weight: i32,
    /// `init`, `ok` or `failed`.
    pub state: String,
}

/// An interface as one instance tracks it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedInterface {
    /// Interface name.
    pub name: String,
    /// Its weight (0: down means FAULT).
    pub weight: i32,
    /// Link up and running.
    pub up: bool,
}

/// One instance's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Adverts sent (one per destination).
    pub adverts_sent: u64,
    /// Adverts sent with priority 0.
    pub priority_zero_sent: u64,
    /// VRRP packets received for this virtual router.
    pub adverts_received: u64,
    /// Received packets dropped, by reason (`bad_ttl`, `bad_password`, `lower_priority`, ...).
    pub discarded: BTreeMap<String, u64>,
    /// State changes.
    pub transitions: u64,
    /// Times it became master.
    pub became_master: u64,
    /// Gratuitous ARP packets sent.
    pub garps_sent: u64,
    /// Virtual addresses re-added after someone removed them while master.
    pub vips_restored: u64,
    /// Errors sending packets or changing addresses.
    pub io_errors: u64,
}

/// One `vrrp_script`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptStatus {
    /// Name.
    pub name: String,
    /// The command.
    pub command: String,
    /// `init`, `ok` or `failed` (as seen by the first instance tracking it).
    pub state: String,
    /// Outcome of the last run: `success`, `failure`, `timed_out`, or none yet.
    pub last_outcome: Option<String>,
    /// Exit status of the last run, when it exited.
    pub last_exit_code: Option<i32>,
    /// Runs so far.
    pub runs: u64,
    /// Failed or timed-out runs so far.
    pub failures: u64,
}

/// One `vrrp_sync_group`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupStatus {
    /// Name.
    pub name: String,
    /// Member instances.
    pub instances: Vec<String>,
    /// The group's state: FAULT if any member is, MASTER or BACKUP when all members agree,
    /// INIT otherwise.
    pub state: VrrpState,
}

impl Status {
    /// The same numbers in Prometheus text exposition format.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        family(&mut out, "halabd_up", "gauge", "1 while halabd runs.");
        let mut lines = String::from("halabd_up 1\n");
        let _ = writeln!(
            lines,
            "halabd_uptime_seconds {}\nhalabd_reloads_total {}\nhalabd_failed_reloads_total {}",
            self.daemon.uptime_secs, self.daemon.reloads, self.daemon.failed_reloads
        );
        out.push_str(&lines);
        family(
            &mut out,
            "halabd_vrrp_state",
            "gauge",
            "1 for the instance's current state.",
        );
        for i in &self.instances {
            for state in [
                VrrpState::Init,
                VrrpState::Backup,
                VrrpState::Master,
                VrrpState::Fault,
            ] {
                let v = u8::from(i.state == state);
                let _ = writeln!(
                    out,
                    "halabd_vrrp_state{{instance=\"{}\",state=\"{}\"}} {v}",
                    esc(&i.name),
                    state.as_str()
                );
            }
        }
        let per_instance: [InstanceMetric; 9] = [
            (
                "halabd_vrrp_base_priority",
                "gauge",
                "Configured priority.",
                |i| u64::from(i.base_priority),
            ),
            (
                "halabd_vrrp_effective_priority",
                "gauge",
                "Priority after tracking.",
                |i| u64::from(i.effective_priority),
            ),
            (
                "halabd_vrrp_adverts_sent_total",
                "counter",
                "Adverts sent.",
                |i| i.counters.adverts_sent,
            ),
            (
                "halabd_vrrp_priority_zero_sent_total",
                "counter",
                "Priority-0 adverts sent.",
                |i| i.counters.priority_zero_sent,
            ),
            (
                "halabd_vrrp_adverts_received_total",
                "counter",
                "VRRP packets received.",
                |i| i.counters.adverts_received,
            ),
            (
                "halabd_vrrp_transitions_total",
                "counter",
                "State changes.",
                |i| i.counters.transitions,
            ),
            (
                "halabd_vrrp_became_master_total",
                "counter",
                "Times the instance became master.",
                |i| i.counters.became_master,
            ),
            (
                "halabd_vrrp_garps_sent_total",
                "counter",
                "Gratuitous ARPs sent.",
                |i| i.counters.garps_sent,
            ),
            (
                "halabd_vrrp_io_errors_total",
                "counter",
                "Send or netlink errors.",
                |i| i.counters.io_errors,
            ),
        ];
        for (name, kind, help, get) in per_instance {
            family(&mut out, name, kind, help);
            for i in &self.instances {
                let _ = writeln!(out, "{name}{{instance=\"{}\"}} {}", esc(&i.name), get(i));
            }
        }
        family(
            &mut out,
            "halabd_vrrp_adverts_discarded_total",
            "counter",
            "Received packets dropped, by reason.",
        );
        for i in &self.instances {
            for (reason, n) in &i.counters.discarded {
                let _ = writeln!(
                    out,
                    "halabd_vrrp_adverts_discarded_total{{instance=\"{}\",reason=\"{}\"}} {n}",
                    esc(&i.name),
                    esc(reason)
                );
            }
        }
        family(
            &mut out,
            "halabd_script_ok",
            "gauge",
            "1 while the script is OK.",
        );
        for s in &self.scripts {
            let _ = writeln!(
                out,
                "halabd_script_ok{{script=\"{}\"}} {}",
                esc(&s.name),
                u8::from(s.state == "ok")
            );
        }
        family(
            &mut out,
            "halabd_script_runs_total",
            "counter",
            "Script runs.",
        );
        for s in &self.scripts {
            let _ = writeln!(
                out,
                "halabd_script_runs_total{{script=\"{}\"}} {}",
                esc(&s.name),
                s.runs
            );
        }
        family(
            &mut out,
            "halabd_script_failures_total",
            "counter",
            "Failed or timed-out script runs.",
        );
        for s in &self.scripts {
            let _ = writeln!(
                out,
                "halabd_script_failures_total{{script=\"{}\"}} {}",
                esc(&s.name),
                s.failures
            );
        }
        out
    }
}

/// (name, type, help, value) of a per-instance metric.
type InstanceMetric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&InstanceStatus) -> u64,
);

/// A metric family's HELP and TYPE lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Escapes a Prometheus label value.
fn esc(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_json() {
        let mut status = Status::default();
        status.instances.push(InstanceStatus {
            name: "VI_1".into(),
            state: VrrpState::Master,
            ..InstanceStatus::default()
        });
        let text = serde_json::to_string(&status).expect("serialises");
        assert!(text.contains("\"state\":\"MASTER\""), "{text}");
        let back: Status = serde_json::from_str(&text).expect("deserialises");
        assert_eq!(back, status);
    }

    #[test]
    fn prometheus_text_has_one_state_line_set() {
        let mut status = Status::default();
        status.instances.push(InstanceStatus {
            name: "VI_\"1".into(),
            state: VrrpState::Backup,
            ..InstanceStatus::default()
        });
        let text = status.to_prometheus();
        assert!(
            text.contains("halabd_vrrp_state{instance=\"VI_\\\"1\",state=\"BACKUP\"} 1"),
            "{text}"
        );
        assert!(text.contains("halabd_vrrp_state{instance=\"VI_\\\"1\",state=\"MASTER\"} 0"));
    }
}
