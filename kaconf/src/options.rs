//! Typed values of the keepalived directives beyond the basic instance: global VRRP settings,
//! trackers (files, processes), the notify FIFO, wire options. See [`crate::directives`] for
//! what halabd does with each.

use std::net::{Ipv4Addr, Ipv6Addr};

/// `global_defs` settings of the VRRP side (beyond router_id and scripts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalVrrp {
    /// `vrrp_mcast_group4`.
    pub mcast_group4: Option<Ipv4Addr>,
    /// `vrrp_mcast_group6`.
    pub mcast_group6: Option<Ipv6Addr>,
    /// `vrrp_garp_interval`, milliseconds between gratuitous ARPs on one interface.
    pub garp_interval_ms: Option<u64>,
    /// `vrrp_gna_interval`, milliseconds between unsolicited neighbour advertisements.
    pub gna_interval_ms: Option<u64>,
    /// `vrrp_min_garp`.
    pub min_garp: bool,
    /// `vrrp_check_unicast_src`.
    pub check_unicast_src: bool,
    /// `vrrp_skip_check_adv_addr` (the instances' default).
    pub skip_check_adv_addr: bool,
    /// `vrrp_strict` (the instances' default).
    pub strict: bool,
    /// `vrrp_notify_priority_changes`.
    pub notify_priority_changes: bool,
    /// `notify_fifo PATH [USER [GROUP]]`: every process's events.
    pub notify_fifo: Option<FifoConf>,
    /// `vrrp_notify_fifo PATH [USER [GROUP]]`: the VRRP process's events.
    pub vrrp_notify_fifo: Option<FifoConf>,
    /// `fifo_write_vrrp_states_on_reload`.
    pub fifo_write_states_on_reload: bool,
    /// `vrrp_startup_delay SECS` in microseconds (0.001 to 4294.967295 s, as keepalived reads
    /// it): for that long after the daemon starts, a backup's Master_Down_Timer counts from
    /// the delay's end.
    pub startup_delay_us: Option<u64>,
    /// `vrrp_garp_master_delay` seconds (instances' default; keepalived's 5).
    pub garp_master_delay_s: Option<u64>,
    /// `vrrp_garp_master_repeat` (instances' default; keepalived's 5).
    pub garp_master_repeat: Option<u32>,
    /// `vrrp_garp_master_refresh` seconds (instances' default; keepalived's 0: none).
    pub garp_master_refresh_s: Option<u64>,
    /// `vrrp_garp_master_refresh_repeat` (instances' default; keepalived's 1).
    pub garp_master_refresh_repeat: Option<u32>,
    /// `vrrp_garp_lower_prio_delay` seconds (default: `vrrp_garp_master_delay`).
    pub garp_lower_prio_delay_s: Option<u64>,
    /// `vrrp_garp_lower_prio_repeat` (default: `vrrp_garp_master_repeat`).
    pub garp_lower_prio_repeat: Option<u32>,
    /// `vrrp_lower_prio_no_advert` (instances' default).
    pub lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert` (instances' default).
    pub higher_prio_send_advert: bool,
}

/// A notify FIFO and the script keepalived starts to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoConf {
    pub path: String,
    /// `USER [GROUP]` after the path: who owns the FIFO halabd creates (script_user if None).
    pub owner: Option<(String, Option<String>)>,
    /// `notify_fifo_script` / `vrrp_notify_fifo_script`: the command line.
    pub script: Option<Command>,
}

/// A script command line with the user (and group) it runs as.
/// keepalived: `notify_master "/path/x.sh arg" USER GROUP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command as written (quoted part), split into words by [`crate::split_command`].
    pub command: String,
    /// `USER`, when given after the command.
    pub user: Option<String>,
    /// `GROUP`, when given after the user.
    pub group: Option<String>,
}

/// A tracker referenced by an instance or a sync group: `NAME [weight N [reverse]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackRef {
    pub name: String,
    /// The weight override; the tracker's own weight when None.
    pub weight: Option<i32>,
    /// `reverse`: the weight counts the other way.
    pub reverse: bool,
}

/// `track_file NAME { file PATH  weight N [reverse]  init_file [VALUE] [overwrite] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFileConf {
    pub name: String,
    pub file: String,
    /// `weight`, -254..=254 (keepalived's default 1).
    pub weight: i32,
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`: create the file with VALUE (default 0).
    pub init: Option<(i64, bool)>,
}

/// `vrrp_track_process NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackProcessConf {
    pub name: String,
    /// `process NAME [ARGS...]`: the program name (or full path with `full_command`) and
    /// optionally its arguments.
    pub process: String,
    pub args: Vec<String>,
    /// `param_match [exact|partial|initial]` (exact when args are given without it).
    pub param_match: ParamMatch,
    /// `weight N [reverse]`, default 0 (down means FAULT).
    pub weight: i32,
    pub reverse: bool,
    /// `quorum N` (default 1), `quorum_max N`.
    pub quorum: u32,
    pub quorum_max: Option<u32>,
    /// `delay`, `terminate_delay`, `fork_delay`: seconds, as milliseconds.
    pub delay_ms: u64,
    pub terminate_delay_ms: Option<u64>,
    pub fork_delay_ms: Option<u64>,
    /// `full_command`: match the command line's program (/proc/PID/cmdline) rather than the
    /// process name (comm); set too by arguments after `process` and by `param_match`
    /// (keepalived).
    pub full_command: bool,
}

/// How `process` arguments are matched (keepalived's `param_match`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ParamMatch {
    /// No arguments given and no `param_match`: the arguments are not looked at.
    #[default]
    Any,
    /// The arguments are exactly these (the default once arguments are given).
    Exact,
    /// The arguments start with these.
    Partial,
    /// The arguments start with these, the last one being a prefix of the process's.
    Initial,
}

/// One `unicast_peer` entry's TTL bounds (`ADDR min_ttl N max_ttl N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerTtl {
    pub peer: std::net::IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

/// Instance options of the wire and of timings, beyond the basic ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceWire {
    /// `use_vmac [NAME]`: Some(None) without a name (keepalived: `vrrp.VRID`).
    pub use_vmac: Option<Option<String>>,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// `mcast_src_ip`.
    pub mcast_src_ip: Option<std::net::IpAddr>,
    /// `accept` (Some(true)) / `no_accept` (Some(false)); keepalived's default depends on
    /// strict mode.
    pub accept: Option<bool>,
    /// `strict_mode [BOOL]`, or the global `vrrp_strict`.
    pub strict_mode: bool,
    /// `skip_check_adv_addr [BOOL]`, or the global one.
    pub skip_check_adv_addr: bool,
    /// `native_ipv6`.
    pub native_ipv6: bool,
    /// `unicast_ttl N`.
    pub unicast_ttl: Option<u8>,
    /// `unicast_fault_no_peer`.
    pub unicast_fault_no_peer: bool,
    /// `check_unicast_src`, or the global one.
    pub check_unicast_src: bool,
    /// TTL bounds of the unicast peers that have them.
    pub peer_ttls: Vec<PeerTtl>,
    /// `garp_master_refresh_repeat N` (default 1).
    pub garp_master_refresh_repeat: u32,
    /// `garp_lower_prio_delay` seconds (default: garp_master_delay).
    pub garp_lower_prio_delay_s: Option<u64>,
    /// `garp_lower_prio_repeat N` (default: garp_master_repeat).
    pub garp_lower_prio_repeat: Option<u32>,
    /// `lower_prio_no_advert [BOOL]`.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert [BOOL]`.
    pub higher_prio_send_advert: bool,
}

/// Instance trackers and notifications beyond track_script / track_interface / notify_*.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceTracking {
    /// `track_file { NAME [weight N [reverse]] }`.
    pub files: Vec<TrackRef>,
    /// `track_process { NAME [weight N [reverse]] }`.
    pub processes: Vec<TrackRef>,
    /// Names in `track_script` written with `reverse`.
    pub reverse_scripts: Vec<String>,
    /// Names in `track_interface` written with `reverse`.
    pub reverse_interfaces: Vec<String>,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `notify_deleted [COMMAND]`: notify_stop's run reports "DELETED"; the command when given.
    pub notify_deleted: Option<Option<String>>,
    /// `notify_master_rx_lower_pri COMMAND`.
    pub notify_master_rx_lower_pri: Option<String>,
    /// `notify_priority_changes [BOOL]`, when written (else the sync group's, else the
    /// global one: [`crate::Config::notify_priority_changes`]).
    pub notify_priority_changes: Option<bool>,
}

/// Sync group tracking: `track_interface`, `track_script`, `track_file`, `track_process`,
/// `global_tracking`, `sync_group_tracking_weight`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupTracking {
    pub interfaces: Vec<TrackRef>,
    pub scripts: Vec<TrackRef>,
    pub files: Vec<TrackRef>,
    pub processes: Vec<TrackRef>,
    pub global_tracking: bool,
    pub tracking_weight: bool,
    /// `notify_priority_changes [BOOL]`, when written (its members' default).
    pub notify_priority_changes: Option<bool>,
}

impl InstanceWire {
    /// What these options change in the protocol core (after `parse`'s completion applied
    /// the global defaults and strict mode).
    pub fn apply(
        &self,
        config: &mut halab_vrrp::InstanceConfig,
        unicast_peers: &[std::net::IpAddr],
    ) {
        config.lower_prio_no_advert = self.lower_prio_no_advert;
        config.higher_prio_send_advert = self.higher_prio_send_advert;
        config.garp_lower_prio = self.garp_lower_prio_repeat != Some(0);
        config.skip_check_adv_addr = self.skip_check_adv_addr;
        if self.check_unicast_src && !unicast_peers.is_empty() {
            config.unicast_sources = Some(
                unicast_peers
                    .iter()
                    .map(|&address| {
                        let ttl = self.peer_ttls.iter().find(|p| p.peer == address);
                        halab_vrrp::UnicastSource {
                            address,
                            min_ttl: ttl.and_then(|t| t.min_ttl).unwrap_or(0),
                            max_ttl: ttl.and_then(|t| t.max_ttl).unwrap_or(255),
                        }
                    })
                    .collect(),
            );
        }
    }

    /// Accept mode in force (completion resolves keepalived's default).
    pub fn accept_mode(&self) -> bool {
        self.accept.unwrap_or(true)
    }

    /// The VMAC interface's name, if the instance uses one.
    pub fn vmac_name(&self, vrid: u8) -> Option<String> {
        self.use_vmac
            .as_ref()
            .map(|name| name.clone().unwrap_or_else(|| format!("vrrp.{vrid}")))
    }
}
