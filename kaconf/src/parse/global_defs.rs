//! `global_defs { ... }`: the VRRP settings, and the instances' defaults.

use halab_vrrp::Version;

use super::Out;
use super::read::{
    bool_opt, int_in, ipv4, ipv6, millis, no_args, one_arg, script_command, version_of,
};
use crate::Config;
use crate::FifoConf;
use crate::directives::Block;
use crate::tree::Stmt;

/// What `global_defs` sets for every `vrrp_instance` that does not set it itself.
#[derive(Debug, Clone)]
pub(super) struct InstanceDefaults {
    pub(super) version: Version,
    pub(super) garp_master_delay_s: u64,
    pub(super) garp_master_repeat: u32,
    pub(super) garp_master_refresh_s: u64,
    pub(super) garp_master_refresh_repeat: u32,
    pub(super) garp_lower_prio_delay_s: Option<u64>,
    pub(super) garp_lower_prio_repeat: Option<u32>,
    pub(super) lower_prio_no_advert: bool,
    pub(super) higher_prio_send_advert: bool,
    pub(super) strict: bool,
    pub(super) skip_check_adv_addr: bool,
    pub(super) check_unicast_src: bool,
    pub(super) notify_priority_changes: bool,
}

impl Default for InstanceDefaults {
    /// keepalived 2.2.7's (global_data.c).
    fn default() -> Self {
        Self {
            version: Version::V2,
            garp_master_delay_s: 5,
            garp_master_repeat: 5,
            garp_master_refresh_s: 0,
            garp_master_refresh_repeat: 1,
            garp_lower_prio_delay_s: None,
            garp_lower_prio_repeat: None,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            strict: false,
            skip_check_adv_addr: false,
            check_unicast_src: false,
            notify_priority_changes: false,
        }
    }
}

pub(super) fn global_defs(
    block: &[Stmt],
    config: &mut Config,
    defaults: &mut InstanceDefaults,
    out: &mut Out<'_>,
) {
    let g = &mut config.global;
    let mut fifo_script = None;
    let mut vrrp_fifo_script = None;
    for stmt in block {
        if !out.admit(Block::GlobalDefs, "global_defs", stmt) {
            continue;
        }
        let uint =
            |out: &mut Out<'_>, max: i64| one_arg(stmt, out).and_then(|t| int_in(t, 0, max, out));
        match stmt.key.text.as_str() {
            "router_id" => config.router_id = one_arg(stmt, out).map(|t| t.text.clone()),
            "vrrp_version" => {
                if let Some(v) = one_arg(stmt, out).and_then(|t| version_of(t, out)) {
                    defaults.version = v;
                }
            }
            "script_user" => match stmt.args.as_slice() {
                [user] => config.script_user = Some((user.text.clone(), None)),
                [user, group] => {
                    config.script_user = Some((user.text.clone(), Some(group.text.clone())))
                }
                _ => out.err(
                    stmt.pos(),
                    "script_user takes a user and optionally a group",
                ),
            },
            "enable_script_security" => {
                no_args(stmt, out);
                config.enable_script_security = true;
            }
            "vrrp_garp_master_delay" => {
                if let Some(v) = uint(out, 86_400) {
                    defaults.garp_master_delay_s = v as u64;
                }
            }
            "vrrp_garp_master_repeat" => {
                if let Some(v) = uint(out, 1_000) {
                    defaults.garp_master_repeat = v as u32;
                }
            }
            "vrrp_garp_master_refresh" => {
                if let Some(v) = uint(out, 86_400) {
                    defaults.garp_master_refresh_s = v as u64;
                }
            }
            "vrrp_garp_master_refresh_repeat" => {
                if let Some(v) = uint(out, 1_000) {
                    defaults.garp_master_refresh_repeat = v as u32;
                }
            }
            "vrrp_garp_lower_prio_delay" => {
                defaults.garp_lower_prio_delay_s = uint(out, 86_400).map(|v| v as u64)
            }
            "vrrp_garp_lower_prio_repeat" => {
                defaults.garp_lower_prio_repeat = uint(out, 1_000).map(|v| v as u32)
            }
            "vrrp_garp_interval" => {
                g.garp_interval_ms = one_arg(stmt, out).and_then(|t| millis(t, out))
            }
            "vrrp_gna_interval" => {
                g.gna_interval_ms = one_arg(stmt, out).and_then(|t| millis(t, out))
            }
            "vrrp_min_garp" => g.min_garp = bool_opt(stmt, out),
            "vrrp_lower_prio_no_advert" => defaults.lower_prio_no_advert = bool_opt(stmt, out),
            "vrrp_higher_prio_send_advert" => {
                defaults.higher_prio_send_advert = bool_opt(stmt, out)
            }
            "vrrp_mcast_group4" => g.mcast_group4 = one_arg(stmt, out).and_then(|t| ipv4(t, out)),
            "vrrp_mcast_group6" => g.mcast_group6 = one_arg(stmt, out).and_then(|t| ipv6(t, out)),
            "vrrp_check_unicast_src" => {
                no_args(stmt, out);
                g.check_unicast_src = true;
                defaults.check_unicast_src = true;
            }
            "vrrp_skip_check_adv_addr" => {
                g.skip_check_adv_addr = bool_opt(stmt, out);
                defaults.skip_check_adv_addr = g.skip_check_adv_addr;
            }
            "vrrp_strict" => {
                no_args(stmt, out);
                g.strict = true;
                defaults.strict = true;
            }
            "vrrp_notify_priority_changes" => {
                g.notify_priority_changes = bool_opt(stmt, out);
                defaults.notify_priority_changes = g.notify_priority_changes;
            }
            "fifo_write_vrrp_states_on_reload" => {
                no_args(stmt, out);
                g.fifo_write_states_on_reload = true;
            }
            "notify_fifo" => g.notify_fifo = fifo(stmt, out),
            "vrrp_notify_fifo" => g.vrrp_notify_fifo = fifo(stmt, out),
            "notify_fifo_script" => fifo_script = script_command(stmt, out),
            "vrrp_notify_fifo_script" => vrrp_fifo_script = script_command(stmt, out),
            _ => out.unknown(stmt, Block::GlobalDefs, "global_defs"),
        }
    }
    // keepalived: a fifo script without its fifo is ignored with a warning; halabd refuses it.
    for (script, fifo, name) in [
        (fifo_script, &mut g.notify_fifo, "notify_fifo"),
        (
            vrrp_fifo_script,
            &mut g.vrrp_notify_fifo,
            "vrrp_notify_fifo",
        ),
    ] {
        match (script, fifo) {
            (Some((command, _)), Some(fifo)) => fifo.script = Some(command),
            (Some((_, pos)), None) => {
                out.err(&pos, format!("{name}_script needs a `{name} PATH` line"))
            }
            (None, _) => {}
        }
    }
}

/// `notify_fifo PATH [USER [GROUP]]` (the user and group own the FIFO).
fn fifo(stmt: &Stmt, out: &mut Out<'_>) -> Option<FifoConf> {
    match stmt.args.as_slice() {
        [path, ..] if stmt.args.len() <= 3 && stmt.block.is_none() => Some(FifoConf {
            path: path.text.clone(),
            script: None,
        }),
        _ => {
            out.err(
                stmt.pos(),
                format!("`{} PATH [USER [GROUP]]`", stmt.key.text),
            );
            None
        }
    }
}
