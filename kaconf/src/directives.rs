//! Every keyword of keepalived 2.2.7's VRRP side (keepalived/vrrp/vrrp_parser.c,
//! keepalived/core/global_parser.c, keepalived/trackers/track_file.c, and the root keywords of
//! its other processes), each with what halabd does with it. The parser and docs/halabd.md
//! both follow this table; a test checks that the docs list every row.

/// Where a keyword is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Block {
    /// The top level of the file.
    Top,
    GlobalDefs,
    VrrpInstance,
    Authentication,
    VrrpScript,
    VrrpSyncGroup,
    /// `track_file NAME { ... }` (and its old name `vrrp_track_file`).
    TrackFile,
    VrrpTrackProcess,
}

impl Block {
    /// As written in a message or the docs.
    pub fn name(self) -> &'static str {
        match self {
            Block::Top => "the top level",
            Block::GlobalDefs => "global_defs",
            Block::VrrpInstance => "vrrp_instance",
            Block::Authentication => "authentication",
            Block::VrrpScript => "vrrp_script",
            Block::VrrpSyncGroup => "vrrp_sync_group",
            Block::TrackFile => "track_file",
            Block::VrrpTrackProcess => "vrrp_track_process",
        }
    }
}

/// What halabd does with a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Read into the typed configuration and acted on.
    Supported,
    /// Read into the typed configuration, but the behaviour is not in halabd yet: refused with
    /// this reason, so no file silently behaves differently.
    Pending(&'static str),
    /// Accepted with a notice and otherwise ignored: it does not change what VRRP does.
    Skipped(&'static str),
    /// Refused: an error with this reason and hint.
    Refused(&'static str),
}

use Block::*;
use Verdict::*;

const OTHER_PROCESS: &str = "belongs to keepalived's checker (LVS) or BFD process, not to VRRP; \
skipped as `keepalived -P` skips it (run keepalived's checker for it)";
const NOT_VRRP_GLOBAL: &str = "concerns keepalived's other processes or its build, not VRRP";
const NO_EMAIL: &str = "halabd sends no e-mail (use a notify script)";
const NO_SNMP: &str = "halabd has no SNMP/DBus agent (use its HTTP API: /status, /metrics)";
const TUNING: &str = "process or socket tuning that halabd does not need";
const NOT_IMPLEMENTED: &str = "not implemented in halabd";

/// Every keyword, by block. Order: keepalived's own order in its parsers.
pub const TABLE: &[(Block, &str, Verdict)] = &[
    // Top level (root keywords).
    (Top, "global_defs", Supported),
    (Top, "vrrp_instance", Supported),
    (Top, "vrrp_script", Supported),
    (Top, "vrrp_sync_group", Supported),
    (Top, "track_file", Supported),
    (Top, "vrrp_track_file", Supported),
    (Top, "vrrp_track_process", Supported),
    (Top, "include", Supported),
    (Top, "virtual_server", Skipped(OTHER_PROCESS)),
    (Top, "virtual_server_group", Skipped(OTHER_PROCESS)),
    (Top, "SSL", Skipped(OTHER_PROCESS)),
    (Top, "bfd_instance", Skipped(OTHER_PROCESS)),
    (
        Top,
        "linkbeat_interfaces",
        Skipped("halabd follows links through netlink events, never by polling"),
    ),
    (
        Top,
        "linkbeat_use_polling",
        Skipped("halabd follows links through netlink events, never by polling"),
    ),
    (Top, "net_namespace_ipvs", Skipped(OTHER_PROCESS)),
    (
        Top,
        "namespace_with_ipsets",
        Skipped("halabd uses no ipsets"),
    ),
    (
        Top,
        "use_pid_dir",
        Skipped(
            "halabd's pid files are the -p/-r options (defaults /run/keepalived.pid, /run/vrrp.pid)",
        ),
    ),
    (
        Top,
        "instance",
        Skipped("halabd's pid and data files are named by its options, not by an instance name"),
    ),
    (
        Top,
        "child_wait_time",
        Skipped("halabd runs as one process"),
    ),
    (
        Top,
        "net_namespace",
        Refused(
            "halabd does not switch network namespace itself; start it inside one: `ip netns exec NS halabd ...`",
        ),
    ),
    (
        Top,
        "static_ipaddress",
        Refused("not implemented in halabd: add static addresses with ip(8) at boot"),
    ),
    (
        Top,
        "static_routes",
        Refused("not implemented in halabd: add static routes with ip(8) at boot"),
    ),
    (
        Top,
        "static_rules",
        Refused("not implemented in halabd: add static rules with ip(8) at boot"),
    ),
    (Top, "track_group", Refused(NOT_IMPLEMENTED)),
    (
        Top,
        "garp_group",
        Refused(
            "not implemented in halabd (the global vrrp_garp_interval / vrrp_gna_interval are)",
        ),
    ),
    (Top, "interface_up_down_delays", Refused(NOT_IMPLEMENTED)),
    // global_defs.
    (GlobalDefs, "router_id", Supported),
    (GlobalDefs, "vrrp_version", Supported),
    (GlobalDefs, "script_user", Supported),
    (GlobalDefs, "enable_script_security", Supported),
    (GlobalDefs, "vrrp_garp_master_delay", Supported),
    (GlobalDefs, "vrrp_garp_master_repeat", Supported),
    (GlobalDefs, "vrrp_garp_master_refresh", Supported),
    (GlobalDefs, "vrrp_garp_master_refresh_repeat", Supported),
    (GlobalDefs, "vrrp_garp_lower_prio_delay", Supported),
    (GlobalDefs, "vrrp_garp_lower_prio_repeat", Supported),
    (GlobalDefs, "vrrp_garp_interval", Supported),
    (GlobalDefs, "vrrp_gna_interval", Supported),
    (
        GlobalDefs,
        "vrrp_min_garp",
        Pending("vrrp_min_garp is not implemented in halabd yet"),
    ),
    (
        GlobalDefs,
        "vrrp_down_timer_adverts",
        Refused("halabd's Master_Down_Interval is RFC 5798's (3 adverts plus skew)"),
    ),
    (GlobalDefs, "vrrp_lower_prio_no_advert", Supported),
    (GlobalDefs, "vrrp_higher_prio_send_advert", Supported),
    (
        GlobalDefs,
        "vrrp_mcast_group4",
        Pending("another multicast group than 224.0.0.18 is not implemented in halabd yet"),
    ),
    (
        GlobalDefs,
        "vrrp_mcast_group6",
        Pending("another IPv6 multicast group than ff02::12 is not implemented in halabd yet"),
    ),
    (GlobalDefs, "vrrp_check_unicast_src", Supported),
    (GlobalDefs, "vrrp_skip_check_adv_addr", Supported),
    (GlobalDefs, "vrrp_strict", Supported),
    (GlobalDefs, "notify_fifo", Supported),
    (GlobalDefs, "notify_fifo_script", Supported),
    (GlobalDefs, "vrrp_notify_fifo", Supported),
    (GlobalDefs, "vrrp_notify_fifo_script", Supported),
    (GlobalDefs, "vrrp_notify_priority_changes", Supported),
    (GlobalDefs, "fifo_write_vrrp_states_on_reload", Supported),
    (
        GlobalDefs,
        "dynamic_interfaces",
        Refused("halabd needs an instance's interface to exist when it starts"),
    ),
    (
        GlobalDefs,
        "default_interface",
        Refused("halabd needs each vrrp_instance's `interface`"),
    ),
    (GlobalDefs, "vrrp_startup_delay", Supported),
    (
        GlobalDefs,
        "vmac_prefix",
        Refused("VMAC interface naming options are not implemented in halabd"),
    ),
    (
        GlobalDefs,
        "vmac_addr_prefix",
        Refused("VMAC interface naming options are not implemented in halabd"),
    ),
    (GlobalDefs, "vrrp_garp_extra_if", Refused(NOT_IMPLEMENTED)),
    (GlobalDefs, "vrrp_vmac_garp_intvl", Refused(NOT_IMPLEMENTED)),
    (
        GlobalDefs,
        "vrrp_iptables",
        Refused("halabd uses nftables for no_accept and use_vmac, as keepalived does by default"),
    ),
    (
        GlobalDefs,
        "vrrp_ipsets",
        Refused("halabd uses nftables for no_accept and use_vmac, as keepalived does by default"),
    ),
    (
        GlobalDefs,
        "nftables",
        Refused(
            "halabd's nftables rules (no_accept, use_vmac) are in keepalived's default table `ip keepalived`; another table name is not implemented",
        ),
    ),
    (
        GlobalDefs,
        "nftables_priority",
        Refused(
            "halabd's chains have keepalived's default priority -1; another is not implemented",
        ),
    ),
    (
        GlobalDefs,
        "nftables_ifindex",
        Refused("halabd installs no firewall rules of keepalived's"),
    ),
    (
        GlobalDefs,
        "nftables_counters",
        Refused("halabd installs no firewall rules of keepalived's"),
    ),
    (GlobalDefs, "startup_script", Refused(NOT_IMPLEMENTED)),
    (
        GlobalDefs,
        "startup_script_timeout",
        Refused(NOT_IMPLEMENTED),
    ),
    (GlobalDefs, "shutdown_script", Refused(NOT_IMPLEMENTED)),
    (
        GlobalDefs,
        "shutdown_script_timeout",
        Refused(NOT_IMPLEMENTED),
    ),
    (GlobalDefs, "notification_email", Skipped(NO_EMAIL)),
    (GlobalDefs, "notification_email_from", Skipped(NO_EMAIL)),
    (GlobalDefs, "smtp_server", Skipped(NO_EMAIL)),
    (GlobalDefs, "smtp_helo_name", Skipped(NO_EMAIL)),
    (GlobalDefs, "smtp_connect_timeout", Skipped(NO_EMAIL)),
    (GlobalDefs, "smtp_alert", Skipped(NO_EMAIL)),
    (GlobalDefs, "smtp_alert_vrrp", Skipped(NO_EMAIL)),
    (GlobalDefs, "smtp_alert_checker", Skipped(NO_EMAIL)),
    (GlobalDefs, "no_email_faults", Skipped(NO_EMAIL)),
    (GlobalDefs, "no_checker_emails", Skipped(NO_EMAIL)),
    (
        GlobalDefs,
        "process_names",
        Skipped("halabd's process is named halabd"),
    ),
    (
        GlobalDefs,
        "process_name",
        Skipped("halabd's process is named halabd"),
    ),
    (
        GlobalDefs,
        "vrrp_process_name",
        Skipped("halabd's process is named halabd"),
    ),
    (GlobalDefs, "checker_process_name", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "lvs_process_name", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "bfd_process_name", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "max_auto_priority", Skipped(TUNING)),
    (GlobalDefs, "min_auto_priority_delay", Skipped(TUNING)),
    (
        GlobalDefs,
        "checker_log_all_failures",
        Skipped(NOT_VRRP_GLOBAL),
    ),
    (GlobalDefs, "disable_local_igmp", Skipped(TUNING)),
    (GlobalDefs, "lvs_timeouts", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "lvs_flush", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "lvs_flush_on_stop", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "lvs_flush_onstop", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "lvs_sync_daemon", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "nftables_ipvs", Skipped(NOT_VRRP_GLOBAL)),
    (
        GlobalDefs,
        "nftables_ipvs_priority",
        Skipped(NOT_VRRP_GLOBAL),
    ),
    (
        GlobalDefs,
        "nftables_ipvs_start_fwmark",
        Skipped(NOT_VRRP_GLOBAL),
    ),
    (GlobalDefs, "vrrp_priority", Skipped(TUNING)),
    (GlobalDefs, "vrrp_no_swap", Skipped(TUNING)),
    (GlobalDefs, "vrrp_rt_priority", Skipped(TUNING)),
    (GlobalDefs, "vrrp_cpu_affinity", Skipped(TUNING)),
    (GlobalDefs, "vrrp_rlimit_rttime", Skipped(TUNING)),
    (GlobalDefs, "vrrp_rlimit_rtime", Skipped(TUNING)),
    (GlobalDefs, "lvs_notify_fifo", Skipped(NOT_VRRP_GLOBAL)),
    (
        GlobalDefs,
        "lvs_notify_fifo_script",
        Skipped(NOT_VRRP_GLOBAL),
    ),
    (GlobalDefs, "checker_priority", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "checker_no_swap", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "checker_rt_priority", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "checker_cpu_affinity", Skipped(NOT_VRRP_GLOBAL)),
    (
        GlobalDefs,
        "checker_rlimit_rttime",
        Skipped(NOT_VRRP_GLOBAL),
    ),
    (GlobalDefs, "checker_rlimit_rtime", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "bfd_priority", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "bfd_no_swap", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "bfd_rt_priority", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "bfd_cpu_affinity", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "bfd_rlimit_rttime", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "bfd_rlimit_rtime", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "snmp_socket", Skipped(NO_SNMP)),
    (GlobalDefs, "enable_traps", Skipped(NO_SNMP)),
    (GlobalDefs, "enable_snmp_vrrp", Skipped(NO_SNMP)),
    (GlobalDefs, "enable_snmp_keepalived", Skipped(NO_SNMP)),
    (GlobalDefs, "enable_snmp_rfc", Skipped(NO_SNMP)),
    (GlobalDefs, "enable_snmp_rfcv2", Skipped(NO_SNMP)),
    (GlobalDefs, "enable_snmp_rfcv3", Skipped(NO_SNMP)),
    (GlobalDefs, "enable_snmp_checker", Skipped(NO_SNMP)),
    (GlobalDefs, "enable_dbus", Skipped(NO_SNMP)),
    (GlobalDefs, "dbus_service_name", Skipped(NO_SNMP)),
    (GlobalDefs, "vrrp_netlink_cmd_rcv_bufs", Skipped(TUNING)),
    (
        GlobalDefs,
        "vrrp_netlink_cmd_rcv_bufs_force",
        Skipped(TUNING),
    ),
    (GlobalDefs, "vrrp_netlink_monitor_rcv_bufs", Skipped(TUNING)),
    (
        GlobalDefs,
        "vrrp_netlink_monitor_rcv_bufs_force",
        Skipped(TUNING),
    ),
    (GlobalDefs, "process_monitor_rcv_bufs", Skipped(TUNING)),
    (
        GlobalDefs,
        "process_monitor_rcv_bufs_force",
        Skipped(TUNING),
    ),
    (
        GlobalDefs,
        "lvs_netlink_cmd_rcv_bufs",
        Skipped(NOT_VRRP_GLOBAL),
    ),
    (
        GlobalDefs,
        "lvs_netlink_cmd_rcv_bufs_force",
        Skipped(NOT_VRRP_GLOBAL),
    ),
    (
        GlobalDefs,
        "lvs_netlink_monitor_rcv_bufs",
        Skipped(NOT_VRRP_GLOBAL),
    ),
    (
        GlobalDefs,
        "lvs_netlink_monitor_rcv_bufs_force",
        Skipped(NOT_VRRP_GLOBAL),
    ),
    (GlobalDefs, "rs_init_notifies", Skipped(NOT_VRRP_GLOBAL)),
    (GlobalDefs, "vrrp_rx_bufs_policy", Skipped(TUNING)),
    (GlobalDefs, "vrrp_rx_bufs_multiplier", Skipped(TUNING)),
    (
        GlobalDefs,
        "log_unknown_vrids",
        Skipped("halabd counts adverts of unknown VRIDs in /metrics"),
    ),
    (
        GlobalDefs,
        "umask",
        Skipped("halabd writes its files 0600/0644 itself"),
    ),
    (
        GlobalDefs,
        "random_seed",
        Skipped("halabd draws no random numbers for VRRP"),
    ),
    (
        GlobalDefs,
        "reload_check_config",
        Skipped("halabd always checks a new configuration before using it (SIGHUP)"),
    ),
    (GlobalDefs, "reload_time_file", Refused(NOT_IMPLEMENTED)),
    (GlobalDefs, "reload_repeat", Refused(NOT_IMPLEMENTED)),
    (GlobalDefs, "reload_file", Refused(NOT_IMPLEMENTED)),
    (
        GlobalDefs,
        "include_check",
        Skipped("halabd reads every included file at start and on SIGHUP"),
    ),
    (GlobalDefs, "config_save_dir", Skipped(NOT_VRRP_GLOBAL)),
    (
        GlobalDefs,
        "tmp_config_directory",
        Skipped("halabd writes no temporary configuration"),
    ),
    (
        GlobalDefs,
        "data_use_instance",
        Skipped("halabd's data files are named by its options"),
    ),
    // vrrp_instance.
    (VrrpInstance, "state", Supported),
    (VrrpInstance, "interface", Supported),
    (VrrpInstance, "virtual_router_id", Supported),
    (VrrpInstance, "priority", Supported),
    (VrrpInstance, "advert_int", Supported),
    (VrrpInstance, "version", Supported),
    (VrrpInstance, "authentication", Supported),
    (VrrpInstance, "virtual_ipaddress", Supported),
    (VrrpInstance, "virtual_ipaddress_excluded", Supported),
    (VrrpInstance, "virtual_routes", Supported),
    (VrrpInstance, "track_script", Supported),
    (VrrpInstance, "track_interface", Supported),
    (VrrpInstance, "track_file", Supported),
    (VrrpInstance, "track_process", Supported),
    (VrrpInstance, "dont_track_primary", Supported),
    (VrrpInstance, "preempt", Supported),
    (VrrpInstance, "nopreempt", Supported),
    (VrrpInstance, "preempt_delay", Supported),
    (VrrpInstance, "garp_master_delay", Supported),
    (VrrpInstance, "garp_master_repeat", Supported),
    (VrrpInstance, "garp_master_refresh", Supported),
    (VrrpInstance, "garp_master_refresh_repeat", Supported),
    (VrrpInstance, "garp_lower_prio_delay", Supported),
    (VrrpInstance, "garp_lower_prio_repeat", Supported),
    (VrrpInstance, "lower_prio_no_advert", Supported),
    (VrrpInstance, "higher_prio_send_advert", Supported),
    (VrrpInstance, "unicast_src_ip", Supported),
    (VrrpInstance, "unicast_peer", Supported),
    (VrrpInstance, "unicast_ttl", Supported),
    (
        VrrpInstance,
        "unicast_fault_no_peer",
        Pending("unicast_fault_no_peer is not implemented in halabd yet"),
    ),
    (VrrpInstance, "check_unicast_src", Supported),
    (VrrpInstance, "mcast_src_ip", Supported),
    (VrrpInstance, "use_vmac", Supported),
    (VrrpInstance, "vmac_xmit_base", Supported),
    (VrrpInstance, "accept", Supported),
    (VrrpInstance, "no_accept", Supported),
    (VrrpInstance, "strict_mode", Supported),
    (VrrpInstance, "skip_check_adv_addr", Supported),
    (
        VrrpInstance,
        "native_ipv6",
        Pending("native_ipv6 (IPv6 VRRP for an IPv4 instance) is not implemented in halabd yet"),
    ),
    (VrrpInstance, "notify_master", Supported),
    (VrrpInstance, "notify_backup", Supported),
    (VrrpInstance, "notify_fault", Supported),
    (VrrpInstance, "notify_stop", Supported),
    (VrrpInstance, "notify", Supported),
    (
        VrrpInstance,
        "notify_deleted",
        Pending("notify_deleted is not implemented in halabd yet"),
    ),
    (
        VrrpInstance,
        "notify_master_rx_lower_pri",
        Pending("notify_master_rx_lower_pri is not implemented in halabd yet"),
    ),
    (VrrpInstance, "notify_priority_changes", Supported),
    (VrrpInstance, "smtp_alert", Skipped(NO_EMAIL)),
    (
        VrrpInstance,
        "debug",
        Skipped("halabd's log level is its RUST_LOG / -D"),
    ),
    (
        VrrpInstance,
        "linkbeat_use_polling",
        Skipped("halabd follows links through netlink events, never by polling"),
    ),
    (
        VrrpInstance,
        "lvs_sync_daemon_interface",
        Skipped(OTHER_PROCESS),
    ),
    (VrrpInstance, "kernel_rx_buf_size", Skipped(TUNING)),
    (
        VrrpInstance,
        "promote_secondaries",
        Refused(NOT_IMPLEMENTED),
    ),
    (
        VrrpInstance,
        "use_vmac_addr",
        Refused("not implemented in halabd (use_vmac is)"),
    ),
    (VrrpInstance, "use_ipvlan", Refused(NOT_IMPLEMENTED)),
    (
        VrrpInstance,
        "mcast_dst_ip",
        Refused("halabd sends VRRP to 224.0.0.18 (or the unicast peers)"),
    ),
    (VrrpInstance, "track_src_ip", Refused(NOT_IMPLEMENTED)),
    (VrrpInstance, "track_bfd", Refused("halabd has no BFD")),
    (VrrpInstance, "vrf", Refused(NOT_IMPLEMENTED)),
    (VrrpInstance, "virtual_rules", Refused(NOT_IMPLEMENTED)),
    (
        VrrpInstance,
        "old_unicast_checksum",
        Refused("halabd computes the RFC's VRRP checksum only"),
    ),
    (
        VrrpInstance,
        "down_timer_adverts",
        Refused("halabd's Master_Down_Interval is RFC 5798's (3 adverts plus skew)"),
    ),
    (VrrpInstance, "garp_extra_if", Refused(NOT_IMPLEMENTED)),
    (VrrpInstance, "vmac_garp_intvl", Refused(NOT_IMPLEMENTED)),
    // authentication { }.
    (Authentication, "auth_type", Supported),
    (Authentication, "auth_pass", Supported),
    // vrrp_script.
    (VrrpScript, "script", Supported),
    (VrrpScript, "interval", Supported),
    (VrrpScript, "timeout", Supported),
    (VrrpScript, "weight", Supported),
    (VrrpScript, "rise", Supported),
    (VrrpScript, "fall", Supported),
    (VrrpScript, "user", Supported),
    (VrrpScript, "init_fail", Supported),
    // vrrp_sync_group.
    (VrrpSyncGroup, "group", Supported),
    (VrrpSyncGroup, "notify_master", Supported),
    (VrrpSyncGroup, "notify_backup", Supported),
    (VrrpSyncGroup, "notify_fault", Supported),
    (VrrpSyncGroup, "notify_stop", Supported),
    (VrrpSyncGroup, "notify", Supported),
    (VrrpSyncGroup, "track_interface", Supported),
    (VrrpSyncGroup, "track_script", Supported),
    (VrrpSyncGroup, "track_file", Supported),
    (VrrpSyncGroup, "track_process", Supported),
    (VrrpSyncGroup, "global_tracking", Supported),
    (VrrpSyncGroup, "sync_group_tracking_weight", Supported),
    (VrrpSyncGroup, "notify_priority_changes", Supported),
    (VrrpSyncGroup, "smtp_alert", Skipped(NO_EMAIL)),
    (VrrpSyncGroup, "track_bfd", Refused("halabd has no BFD")),
    // track_file NAME { }.
    (TrackFile, "file", Supported),
    (TrackFile, "weight", Supported),
    (TrackFile, "init_file", Supported),
    // vrrp_track_process NAME { }.
    (VrrpTrackProcess, "process", Supported),
    (VrrpTrackProcess, "param_match", Supported),
    (VrrpTrackProcess, "weight", Supported),
    (VrrpTrackProcess, "quorum", Supported),
    (VrrpTrackProcess, "quorum_max", Supported),
    (VrrpTrackProcess, "delay", Supported),
    (VrrpTrackProcess, "terminate_delay", Supported),
    (VrrpTrackProcess, "fork_delay", Supported),
    (VrrpTrackProcess, "full_command", Supported),
];

/// What halabd does with `keyword` in `block`; None: keepalived does not know it either.
pub fn verdict(block: Block, keyword: &str) -> Option<Verdict> {
    TABLE
        .iter()
        .find(|(b, k, _)| *b == block && *k == keyword)
        .map(|(_, _, v)| *v)
}

/// The keywords of a block, for "did you mean" hints.
pub fn keywords(block: Block) -> impl Iterator<Item = &'static str> {
    TABLE
        .iter()
        .filter(move |(b, _, _)| *b == block)
        .map(|(_, k, _)| *k)
}
