//! keepalived.conf, the VRRP part: read into typed configuration.
//!
//! Three stages: [`lexer`] (words, quotes, comments, `include` globs) -> [`tree`] (statements
//! and blocks) -> `parse` (typed [`Config`], every problem reported with file and line).
//! [`directives`] is the table of every keyword keepalived's VRRP side takes and what halabd
//! does with it: supported, skipped with a notice (blocks of keepalived's other processes, e-mail,
//! tuning), or refused with the reason; never silently ignored.

pub mod directives;
mod lexer;
mod options;
mod parse;
mod tree;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use halab_vrrp::{Family, InitialState, InstanceConfig, Password, Version, Vip};

pub use lexer::split_command;
pub use options::{
    Command, FifoConf, GlobalVrrp, GroupTracking, InstanceTracking, InstanceWire, ParamMatch,
    PeerTtl, TrackFileConf, TrackProcessConf, TrackRef,
};

/// A problem (or a notice) at a place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: PathBuf,
    /// 1-based line; 0 for the file as a whole.
    pub line: usize,
    /// What is wrong, lowercase.
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn at(pos: &lexer::Pos, message: impl Into<String>) -> Self {
        Self {
            file: pos.file.to_path_buf(),
            line: pos.line,
            message: message.into(),
        }
    }

    pub(crate) fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line: 0,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

/// Every error found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfErrors(pub Vec<Diagnostic>);

/// A parsed configuration and the notices about it (ignored settings, adjustments).
#[derive(Debug, Clone)]
pub struct Parsed {
    pub config: Config,
    pub notices: Vec<Diagnostic>,
}

/// The VRRP part of a keepalived.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `global_defs { router_id }`.
    pub router_id: Option<String>,
    /// `global_defs { script_user USER [GROUP] }`.
    pub script_user: Option<(String, Option<String>)>,
    /// `global_defs { enable_script_security }`.
    pub enable_script_security: bool,
    /// `vrrp_script` blocks, in file order.
    pub scripts: Vec<ScriptConf>,
    /// `vrrp_instance` blocks, in file order.
    pub instances: Vec<InstanceConf>,
    /// `vrrp_sync_group` blocks, in file order.
    pub sync_groups: Vec<SyncGroupConf>,
    /// `track_file` (and `vrrp_track_file`) blocks, in file order.
    pub track_files: Vec<TrackFileConf>,
    /// `vrrp_track_process` blocks, in file order.
    pub track_processes: Vec<TrackProcessConf>,
    /// The other `global_defs` settings of the VRRP side.
    pub global: GlobalVrrp,
}

impl Config {
    /// Whether `instance`'s effective-priority changes go to the notify FIFOs: its own
    /// `notify_priority_changes`, else its sync group's, else global_defs'
    /// `vrrp_notify_priority_changes` (keepalived 2.2.7 `vrrp_complete_instance`).
    pub fn notify_priority_changes(&self, instance: &InstanceConf) -> bool {
        instance
            .tracking
            .notify_priority_changes
            .or_else(|| {
                self.sync_groups
                    .iter()
                    .find(|g| g.instances.contains(&instance.name))
                    .and_then(|g| g.tracking.notify_priority_changes)
            })
            .unwrap_or(self.global.notify_priority_changes)
    }
}

/// One `vrrp_script`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptConf {
    pub name: String,
    /// The command as written.
    pub command: String,
    /// The command split into words (program first).
    pub argv: Vec<String>,
    /// `interval`, default 1 s.
    pub interval_ms: u64,
    /// `timeout`; keepalived's default is the interval.
    pub timeout_ms: Option<u64>,
    /// `weight`, -253..=253.
    pub weight: i32,
    /// `rise`, at least 1.
    pub rise: u32,
    /// `fall`, at least 1.
    pub fall: u32,
    /// `init_fail`.
    pub init_fail: bool,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `user USER [GROUP]`: who runs it (global `script_user` when None).
    pub user: Option<(String, Option<String>)>,
    /// Run by `/bin/sh -c` (the command starts `</`, keepalived's system() case), where exit
    /// 126 and 127 count as success as in keepalived; otherwise execve of `argv`, no shell.
    pub shell: bool,
}

impl ScriptConf {
    /// The timeout in force: the configured one, or the interval (keepalived).
    pub fn effective_timeout_ms(&self) -> u64 {
        self.timeout_ms.unwrap_or(self.interval_ms).max(1)
    }
}

/// One `virtual_ipaddress` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipConf {
    pub vip: Vip,
    /// `dev IF`; the instance's interface when absent.
    pub dev: Option<String>,
    /// `label LABEL`.
    pub label: Option<String>,
    /// `brd ADDR` (or `+` / `-`, kept as written).
    pub brd: Option<String>,
    /// `scope SCOPE` (global, site, link, host, nowhere or a number).
    pub scope: Option<String>,
    /// `no_track`: this VIP going missing does not put the instance in FAULT.
    pub no_track: bool,
}

impl VipConf {
    /// `scope` as a number (`RT_SCOPE_*`), if given.
    pub fn scope_number(&self) -> Option<u8> {
        self.scope.as_deref().and_then(parse::scope_number)
    }
}

/// One `virtual_routes` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConf {
    /// `src ADDR`.
    pub src: Option<Ipv4Addr>,
    /// Destination network.
    pub dest: Ipv4Addr,
    /// Destination prefix length.
    pub prefix_len: u8,
    /// `via`/`gw ADDR`.
    pub via: Option<Ipv4Addr>,
    /// `dev IF`.
    pub dev: Option<String>,
    /// `metric N`.
    pub metric: Option<u32>,
    /// `blackhole DEST`.
    pub blackhole: bool,
}

impl fmt::Display for RouteConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.blackhole {
            f.write_str("blackhole ")?;
        }
        write!(f, "{}/{}", self.dest, self.prefix_len)?;
        if let Some(via) = self.via {
            write!(f, " via {via}")?;
        }
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        if let Some(src) = self.src {
            write!(f, " src {src}")?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        Ok(())
    }
}

/// Notify scripts (`notify_master`, `notify_backup`, `notify_fault`, `notify_stop`,
/// `notify`), each a command line with an optional user and group:
/// `notify_master "/path/x.sh arg" USER GROUP`. Boxed: most instances have none, and each
/// running instance keeps its configuration (40 bytes here instead of 360; issue #18).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyConf {
    pub master: Option<Box<Command>>,
    pub backup: Option<Box<Command>>,
    pub fault: Option<Box<Command>>,
    pub stop: Option<Box<Command>>,
    /// Called with `TYPE NAME STATE PRIORITY` on every change.
    pub any: Option<Box<Command>>,
}

/// One `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConf {
    pub name: String,
    pub initial_state: InitialState,
    pub interface: String,
    pub vrid: u8,
    pub priority: u8,
    pub advert_interval_cs: u16,
    pub version: Version,
    pub auth: Option<Password>,
    pub vips: Vec<VipConf>,
    /// `track_script` names with an optional weight override.
    pub track_scripts: Vec<(String, Option<i32>)>,
    /// `track_interface` names with their weight (0: down means FAULT).
    pub track_interfaces: Vec<(String, i32)>,
    pub preempt: bool,
    pub preempt_delay_ms: u64,
    /// `garp_master_delay`, seconds; keepalived's default 5 (0: no second burst).
    pub garp_master_delay_s: u64,
    /// `garp_master_repeat`; keepalived's default 5.
    pub garp_master_repeat: u32,
    /// `garp_master_refresh`, seconds; 0 (default): none.
    pub garp_master_refresh_s: u64,
    /// Of the instance's family (checked while parsing).
    pub unicast_src_ip: Option<IpAddr>,
    /// Of the instance's family (checked while parsing).
    pub unicast_peers: Vec<IpAddr>,
    pub notify: NotifyConf,
    pub virtual_routes: Vec<RouteConf>,
    /// `virtual_ipaddress_excluded`: added and removed with the VIPs but not advertised; either
    /// family (keepalived: the way to give an IPv4 instance IPv6 addresses and back).
    pub excluded_vips: Vec<VipConf>,
    /// Wire options (vmac, strict, accept, unicast TTLs, garp timings).
    pub wire: InstanceWire,
    /// Trackers and notifications beyond track_script / track_interface / notify_*.
    pub tracking: InstanceTracking,
}

impl InstanceConf {
    /// The instance's address family: its first VIP's (keepalived), else its unicast source's,
    /// else IPv4.
    pub fn family(&self) -> Family {
        self.vips
            .first()
            .map(|v| v.vip.address)
            .or(self.unicast_src_ip)
            .map_or(Family::Ipv4, Family::of)
    }

    /// A placeholder primary address of the instance's family, for checks before the
    /// interface's real one is known.
    pub fn placeholder_primary(&self) -> IpAddr {
        match self.family() {
            Family::Ipv4 => Ipv4Addr::UNSPECIFIED.into(),
            Family::Ipv6 => Ipv6Addr::UNSPECIFIED.into(),
        }
    }

    /// Every address the instance adds as master: its VIPs, then the excluded ones.
    pub fn all_vips(&self) -> impl Iterator<Item = &VipConf> {
        self.vips.iter().chain(&self.excluded_vips)
    }

    /// The protocol core's configuration, given the interface's primary address (for IPv6,
    /// its link-local address).
    pub fn core_config(&self, primary: impl Into<IpAddr>) -> InstanceConfig {
        let mut config = InstanceConfig::new(self.vrid, primary);
        config.version = self.version;
        config.priority = self.priority;
        config.advert_interval_cs = self.advert_interval_cs;
        config.preempt = self.preempt;
        config.preempt_delay_ms = self.preempt_delay_ms;
        config.vips = self.vips.iter().map(|v| v.vip).collect();
        config.auth = self.auth;
        config.initial_state = self.initial_state;
        // keepalived skips the TTL check with unicast peers (the path may route).
        config.check_ttl = self.unicast_peers.is_empty();
        self.wire.apply(&mut config, &self.unicast_peers);
        config
    }
}

/// One `vrrp_sync_group`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncGroupConf {
    pub name: String,
    pub instances: Vec<String>,
    pub notify: NotifyConf,
    /// The group's own trackers and options.
    pub tracking: GroupTracking,
}

/// Reads and checks a keepalived.conf and everything it includes.
pub fn load(path: &Path) -> Result<Parsed, ConfErrors> {
    let mut errors = Vec::new();
    let lexed = lexer::lex_file(path, &mut errors);
    finish(&lexed, errors, false)
}

/// Parses configuration text as if read from `path` (includes are relative to it).
pub fn parse_str(path: &Path, text: &str) -> Result<Parsed, ConfErrors> {
    let mut errors = Vec::new();
    let lexed = lexer::lex_text(path, text, &mut errors);
    finish(&lexed, errors, false)
}

/// [`parse_str`], with pending directives read into the configuration instead of refused
/// (tests read their typed values; see [`directives::Verdict::Pending`]).
#[cfg(test)]
pub(crate) fn parse_str_accepting_pending(path: &Path, text: &str) -> Result<Parsed, ConfErrors> {
    let mut errors = Vec::new();
    let lexed = lexer::lex_text(path, text, &mut errors);
    finish(&lexed, errors, true)
}

fn finish(
    lexed: &lexer::Lexed,
    mut errors: Vec<Diagnostic>,
    accept_pending: bool,
) -> Result<Parsed, ConfErrors> {
    let tokens = lexed.tokens();
    let tree = tree::build(&tokens, &mut errors);
    let mut notices = Vec::new();
    let mut pending = Vec::new();
    let config = parse::config(tree.top(), &mut errors, &mut notices, &mut pending);
    // Directives read but not acted on yet are refused: no silent difference.
    if !accept_pending {
        errors.append(&mut pending);
    }
    if errors.is_empty() {
        Ok(Parsed { config, notices })
    } else {
        Err(ConfErrors(errors))
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_directives;
