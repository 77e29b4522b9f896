//! keepalived's dump signals: SIGUSR1 writes the state (`keepalived.data`), SIGUSR2 the
//! counters (`keepalived.stats`), SIGRTMIN+2 (keepalived's SIGJSON) the state as JSON
//! (`keepalived.json`), SIGRTMAX-1 (SIGSTATS_CLEAR) the counters, then clears them. Files go to
//! `$TMPDIR` when it is absolute, else /tmp, as keepalived writes them; mode 0600. The data
//! and JSON are halabd's status (the API's `/status`), not keepalived's internal layout; the
//! stats keep keepalived's layout.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use halab_api::{Counters, Status};

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dump {
    /// SIGUSR1: keepalived.data.
    Data,
    /// SIGUSR2: keepalived.stats.
    Stats,
    /// SIGSTATS_CLEAR: keepalived.stats, then the counters are cleared.
    StatsClear,
    /// SIGJSON: keepalived.json.
    Json,
}

impl Dump {
    pub fn file_name(self) -> &'static str {
        match self {
            Dump::Data => "keepalived.data",
            Dump::Stats | Dump::StatsClear => "keepalived.stats",
            Dump::Json => "keepalived.json",
        }
    }

    /// The file's text for this status.
    pub fn render(self, status: &Status) -> String {
        match self {
            Dump::Data => data(status),
            Dump::Stats | Dump::StatsClear => stats(status),
            Dump::Json => serde_json::to_string_pretty(status).unwrap_or_default() + "\n",
        }
    }
}

/// keepalived's temporary directory: `$TMPDIR` if absolute, else /tmp.
pub fn tmp_dir() -> PathBuf {
    match std::env::var_os("TMPDIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        _ => PathBuf::from("/tmp"),
    }
}

/// Writes `text` to `dir/name`, mode 0600, replacing what was there.
pub fn write(dir: &Path, name: &str, text: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    // Not through a symlink someone else planted in /tmp.
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        std::fs::remove_file(&path)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&path)?;
    file.write_all(text.as_bytes())?;
    Ok(path)
}

fn data(status: &Status) -> String {
    let mut out = String::new();
    let d = &status.daemon;
    let _ = writeln!(out, "------< halabd {} (pid {}) >------", d.version, d.pid);
    let _ = writeln!(out, " Configuration file = {}", d.config_file);
    if let Some(id) = &d.router_id {
        let _ = writeln!(out, " Router ID = {id}");
    }
    let _ = writeln!(
        out,
        " Uptime = {} s, reloads = {}, failed reloads = {}",
        d.uptime_secs, d.reloads, d.failed_reloads
    );
    let _ = writeln!(out, "------< VRRP Topology >------");
    for i in &status.instances {
        let _ = writeln!(out, " VRRP Instance = {}", i.name);
        let _ = writeln!(out, "   State = {}", i.state.as_str());
        let _ = writeln!(out, "   Interface = {}", i.interface);
        let _ = writeln!(out, "   Virtual Router ID = {}", i.vrid);
        let _ = writeln!(out, "   VRRP Version = {}", i.version);
        let _ = writeln!(
            out,
            "   Priority = {} (effective {})",
            i.base_priority, i.effective_priority
        );
        let _ = writeln!(out, "   Advert interval = {} ms", i.advert_interval_ms);
        if let Some(a) = i.primary_address {
            let _ = writeln!(out, "   Using src_ip = {a}");
        }
        if let Some(a) = i.master_address {
            let _ = writeln!(out, "   Master router = {a}");
        }
        let _ = writeln!(out, "   Virtual IP = {}", i.vips.len());
        for vip in &i.vips {
            let _ = writeln!(out, "     {vip} dev {}", i.interface);
        }
        for s in &i.tracked_scripts {
            let _ = writeln!(
                out,
                "   Tracked script = {} weight {} {}",
                s.name, s.weight, s.state
            );
        }
        for t in &i.tracked_interfaces {
            let up = if t.up { "UP" } else { "DOWN" };
            let _ = writeln!(
                out,
                "   Tracked interface = {} weight {} {up}",
                t.name, t.weight
            );
        }
        if let Some(problem) = &i.problem {
            let _ = writeln!(out, "   Problem = {problem}");
        }
    }
    out
}

/// keepalived's vrrp_print_stats layout, from halabd's counters.
fn stats(status: &Status) -> String {
    let mut out = String::new();
    for i in &status.instances {
        let c = &i.counters;
        let n = |keys: &[&str]| -> u64 { keys.iter().filter_map(|k| c.discarded.get(*k)).sum() };
        let _ = writeln!(out, "VRRP Instance: {}", i.name);
        let _ = writeln!(out, "  Advertisements:");
        let _ = writeln!(out, "    Received: {}", c.adverts_received);
        let _ = writeln!(out, "    Sent: {}", c.adverts_sent);
        let _ = writeln!(out, "  Became master: {}", c.became_master);
        let _ = writeln!(out, "  Packet Errors:");
        let _ = writeln!(out, "    Length: {}", n(&["malformed", "bad_ip_header"]));
        let _ = writeln!(out, "    TTL: {}", n(&["bad_ttl"]));
        let _ = writeln!(
            out,
            "    Invalid Type: {}",
            n(&["not_vrrp", "wrong_version"])
        );
        let _ = writeln!(
            out,
            "    Advertisement Interval: {}",
            n(&["interval_mismatch", "zero_interval"])
        );
        let _ = writeln!(
            out,
            "    Address List: {}",
            n(&["address_count_mismatch", "address_missing"])
        );
        let _ = writeln!(out, "  Authentication Errors:");
        let _ = writeln!(out, "    Invalid Type: {}", n(&["auth_type_mismatch"]));
        let _ = writeln!(out, "    Failure: {}", n(&["bad_password"]));
        let _ = writeln!(out, "  Priority Zero:");
        let _ = writeln!(out, "    Sent: {}", c.priority_zero_sent);
        let _ = writeln!(out, "  Discarded (halabd, by reason):");
        for (reason, count) in &c.discarded {
            let _ = writeln!(out, "    {reason}: {count}");
        }
    }
    out
}

/// Counters after SIGSTATS_CLEAR.
pub fn cleared() -> Counters {
    Counters::default()
}

#[cfg(test)]
mod tests {
    use halab_api::{InstanceStatus, VrrpState};

    use super::*;

    fn status() -> Status {
        let mut counters = Counters {
            adverts_sent: 12,
            adverts_received: 30,
            became_master: 2,
            priority_zero_sent: 1,
            ..Counters::default()
        };
        counters.discarded.insert("bad_ttl".into(), 3);
        counters.discarded.insert("bad_password".into(), 4);
        Status {
            instances: vec![InstanceStatus {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                version: 2,
                state: VrrpState::Master,
                base_priority: 150,
                effective_priority: 140,
                vips: vec!["10.0.0.100/24".into()],
                counters,
                ..InstanceStatus::default()
            }],
            ..Status::default()
        }
    }

    /// Input: one instance's status. Output: keepalived's stats lines with its counters, the
    /// data file with its state and VIPs, JSON that reads back to the same status.
    #[test]
    fn dumps_render_the_status() {
        let s = status();
        let stats = Dump::Stats.render(&s);
        for line in [
            "VRRP Instance: VI_1\n",
            "    Received: 30\n",
            "    Sent: 12\n",
            "  Became master: 2\n",
            "    TTL: 3\n",
            "    Failure: 4\n",
            "  Priority Zero:\n    Sent: 1\n",
        ] {
            assert!(stats.contains(line), "{line:?} in\n{stats}");
        }
        let data = Dump::Data.render(&s);
        for line in [
            " VRRP Instance = VI_1\n",
            "   State = MASTER\n",
            "   Priority = 150 (effective 140)\n",
            "     10.0.0.100/24 dev eth0\n",
        ] {
            assert!(data.contains(line), "{line:?} in\n{data}");
        }
        let json: Status = serde_json::from_str(&Dump::Json.render(&s)).expect("json");
        assert_eq!(json, s);
    }

    /// Input: a directory with a symlink where the dump goes. Output: the file replaces the
    /// link (the link's target is untouched), mode 0600.
    #[test]
    fn write_replaces_a_planted_symlink_and_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").expect("write");
        std::os::unix::fs::symlink(&target, dir.path().join("keepalived.data")).expect("link");
        let path = write(dir.path(), "keepalived.data", "dump\n").expect("written");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "dump\n");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
