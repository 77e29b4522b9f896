//! The wire-visible directives of an instance and their `global_defs` defaults: `use_vmac`,
//! `vmac_xmit_base`, `mcast_src_ip`, `accept`/`no_accept`, `strict_mode`/`vrrp_strict`,
//! `skip_check_adv_addr`, `check_unicast_src`, the garp timings, `lower_prio_no_advert`,
//! `higher_prio_send_advert`; then [`complete`]: keepalived 2.2.7's `vrrp_complete_instance`
//! for them (global defaults, what strict mode implies, each adjustment a notice as keepalived
//! reports it).

use super::Out;
use super::read::{int_in, millis, no_args, one_arg};
use crate::tree::{Stmt, Stmts};
use crate::{GlobalVrrp, InstanceConf, InstanceWire};

/// keepalived's `garp_master_repeat` / `garp_lower_prio_repeat` default.
const GARP_REPEAT: u32 = 5;
/// keepalived's `garp_master_delay` default, seconds.
const GARP_DELAY_S: u64 = 5;

/// `on`/`off`-style optional argument keepalived takes after flags (`strict_mode [BOOL]`).
fn flag(stmt: Stmt<'_>, out: &mut Out<'_>) -> bool {
    match stmt.args {
        [] => true,
        [value] => match value.text.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" => true,
            "false" | "off" | "no" => false,
            other => {
                out.err(
                    &value.pos,
                    format!("`{}` takes true or false, not `{other}`", stmt.key.text),
                );
                false
            }
        },
        _ => {
            out.err(
                stmt.pos(),
                format!("`{}` takes at most one value", stmt.key.text),
            );
            false
        }
    }
}

fn seconds(stmt: Stmt<'_>, out: &mut Out<'_>) -> Option<u64> {
    one_arg(stmt, out)
        .and_then(|t| int_in(t, 0, 86_400, out))
        .map(|v| v as u64)
}

fn count(stmt: Stmt<'_>, out: &mut Out<'_>) -> Option<u32> {
    one_arg(stmt, out)
        .and_then(|t| int_in(t, 0, 1_000, out))
        .map(|v| v as u32)
}

/// A `global_defs` keyword of the wire; false if it is not one.
pub(super) fn global_keyword(stmt: Stmt<'_>, global: &mut GlobalVrrp, out: &mut Out<'_>) -> bool {
    match stmt.key.text {
        "vrrp_strict" => {
            no_args(stmt, out);
            global.strict = true;
        }
        "vrrp_skip_check_adv_addr" => global.skip_check_adv_addr = flag(stmt, out),
        "vrrp_check_unicast_src" => {
            no_args(stmt, out);
            global.check_unicast_src = true;
        }
        "vrrp_lower_prio_no_advert" => global.lower_prio_no_advert = flag(stmt, out),
        "vrrp_higher_prio_send_advert" => global.higher_prio_send_advert = flag(stmt, out),
        "vrrp_garp_master_delay" => global.garp_master_delay_s = seconds(stmt, out),
        "vrrp_garp_master_repeat" => global.garp_master_repeat = count(stmt, out),
        "vrrp_garp_master_refresh" => global.garp_master_refresh_s = seconds(stmt, out),
        "vrrp_garp_master_refresh_repeat" => global.garp_master_refresh_repeat = count(stmt, out),
        "vrrp_garp_lower_prio_delay" => global.garp_lower_prio_delay_s = seconds(stmt, out),
        "vrrp_garp_lower_prio_repeat" => global.garp_lower_prio_repeat = count(stmt, out),
        "vrrp_garp_interval" => {
            global.garp_interval_ms = one_arg(stmt, out).and_then(|t| millis(t, out));
        }
        "vrrp_gna_interval" => {
            global.gna_interval_ms = one_arg(stmt, out).and_then(|t| millis(t, out));
        }
        _ => return false,
    }
    true
}

/// An instance keyword of the wire; false if it is not one.
pub(super) fn instance_keyword(stmt: Stmt<'_>, wire: &mut InstanceWire, out: &mut Out<'_>) -> bool {
    match stmt.key.text {
        "use_vmac" => match stmt.args {
            [] => wire.use_vmac = Some(None),
            [name] if !name.text.contains(':') && name.text.len() <= 15 => {
                wire.use_vmac = Some(Some(name.text.to_owned()));
            }
            _ => out.err(
                stmt.pos(),
                "use_vmac takes an optional interface name (15 characters at most); halabd does not set a MAC of its own (keepalived's `use_vmac NAME MAC`)",
            ),
        },
        "vmac_xmit_base" => {
            no_args(stmt, out);
            wire.vmac_xmit_base = true;
        }
        "mcast_src_ip" => wire.mcast_src_ip = one_arg(stmt, out).and_then(|t| super::addresses::ip(t, out)),
        "accept" => {
            no_args(stmt, out);
            wire.accept = Some(true);
        }
        "no_accept" => {
            no_args(stmt, out);
            wire.accept = Some(false);
        }
        "strict_mode" => wire.strict_mode = flag(stmt, out),
        "skip_check_adv_addr" => wire.skip_check_adv_addr = flag(stmt, out),
        "check_unicast_src" => {
            no_args(stmt, out);
            wire.check_unicast_src = true;
        }
        "lower_prio_no_advert" => wire.lower_prio_no_advert = flag(stmt, out),
        "higher_prio_send_advert" => wire.higher_prio_send_advert = flag(stmt, out),
        "garp_master_refresh_repeat" => {
            if let Some(n) = count(stmt, out) {
                wire.garp_master_refresh_repeat = n;
            }
        }
        "garp_lower_prio_delay" => wire.garp_lower_prio_delay_s = seconds(stmt, out),
        "garp_lower_prio_repeat" => wire.garp_lower_prio_repeat = count(stmt, out),
        _ => return false,
    }
    true
}

/// Whether `block` sets `key`.
fn sets(block: Stmts<'_>, key: &str) -> bool {
    block.iter().any(|s| s.key.text == key)
}

/// keepalived `vrrp_complete_instance` for the wire options: global defaults where the
/// instance is silent, then what strict mode implies (each reset a notice, as keepalived
/// reports it and carries on; the refusals are errors).
pub(super) fn complete(
    conf: &mut InstanceConf,
    block: Stmts<'_>,
    global: &GlobalVrrp,
    pos: &crate::lexer::Pos,
    out: &mut Out<'_>,
) {
    let name = conf.name.clone();
    let wire = &mut conf.wire;
    // Global defaults.
    if !sets(block, "strict_mode") {
        wire.strict_mode = global.strict;
    }
    if !sets(block, "skip_check_adv_addr") {
        wire.skip_check_adv_addr = global.skip_check_adv_addr;
    }
    wire.check_unicast_src |= global.check_unicast_src;
    if !sets(block, "lower_prio_no_advert") {
        wire.lower_prio_no_advert = global.lower_prio_no_advert;
    }
    if !sets(block, "higher_prio_send_advert") {
        wire.higher_prio_send_advert = global.higher_prio_send_advert;
    }
    if !sets(block, "garp_master_delay") {
        conf.garp_master_delay_s = global.garp_master_delay_s.unwrap_or(GARP_DELAY_S);
    }
    if !sets(block, "garp_master_repeat") {
        conf.garp_master_repeat = global.garp_master_repeat.unwrap_or(GARP_REPEAT);
    }
    if !sets(block, "garp_master_refresh") {
        conf.garp_master_refresh_s = global.garp_master_refresh_s.unwrap_or(0);
    }
    if !sets(block, "garp_master_refresh_repeat") {
        wire.garp_master_refresh_repeat = global.garp_master_refresh_repeat.unwrap_or(1);
    }
    // keepalived vrrp_complete_init: the lower-priority garps default to the global master
    // ones (not the instance's).
    let global_delay = global.garp_master_delay_s.unwrap_or(GARP_DELAY_S);
    let global_repeat = global.garp_master_repeat.unwrap_or(GARP_REPEAT);
    // keepalived: mcast_src_ip and unicast_src_ip are one setting.
    if let Some(src) = wire.mcast_src_ip {
        match conf.unicast_src_ip {
            Some(other) if other != src => out.err(
                pos,
                format!("vrrp_instance {name}: mcast_src_ip {src} and unicast_src_ip {other} differ; keepalived takes them as one setting"),
            ),
            _ => conf.unicast_src_ip = Some(src),
        }
    }
    let owner = conf.priority == 255;
    if wire.strict_mode {
        if conf.vips.is_empty() {
            out.err(
                pos,
                format!("vrrp_instance {name}: strict mode needs at least one virtual_ipaddress"),
            );
        }
        if !conf.unicast_peers.is_empty() {
            out.err(
                pos,
                format!("vrrp_instance {name}: unicast peers are not supported in strict mode (keepalived refuses the instance); remove vrrp_strict or the unicast_peer block"),
            );
        }
        let mut reset = |what: &str| {
            out.notice(
                pos,
                format!("vrrp_instance {name}: {what} (strict mode), as keepalived does"),
            );
        };
        if (conf.initial_state == halab_vrrp::InitialState::Master) != owner {
            reset("state MASTER must match being address owner (priority 255): state reset");
            conf.initial_state = if owner {
                halab_vrrp::InitialState::Master
            } else {
                halab_vrrp::InitialState::Backup
            };
        }
        if conf.auth.take().is_some() {
            reset("authentication is ignored");
        }
        if conf.preempt_delay_ms != 0 {
            conf.preempt_delay_ms = 0;
            reset("preempt_delay is reset");
        }
        if wire.vmac_xmit_base {
            wire.vmac_xmit_base = false;
            reset("vmac_xmit_base is reset");
        }
        if sets(block, "garp_lower_prio_repeat") && wire.garp_lower_prio_repeat != Some(0) {
            reset("garp_lower_prio_repeat is reset to 0");
        }
        wire.garp_lower_prio_repeat = Some(0);
        if sets(block, "garp_lower_prio_delay") && wire.garp_lower_prio_delay_s != Some(0) {
            reset("garp_lower_prio_delay is reset to 0");
        }
        wire.garp_lower_prio_delay_s = Some(0);
        if sets(block, "lower_prio_no_advert") && !wire.lower_prio_no_advert {
            reset("lower_prio_no_advert is set");
        }
        wire.lower_prio_no_advert = true;
        if wire.higher_prio_send_advert {
            reset("higher_prio_send_advert is cleared");
        }
        wire.higher_prio_send_advert = false;
    } else {
        wire.garp_lower_prio_repeat = Some(
            wire.garp_lower_prio_repeat
                .or(global.garp_lower_prio_repeat)
                .unwrap_or(global_repeat),
        );
        wire.garp_lower_prio_delay_s = Some(
            wire.garp_lower_prio_delay_s
                .or(global.garp_lower_prio_delay_s)
                .unwrap_or(global_delay),
        );
    }
    // keepalived: accept mode defaults to on, off in strict mode unless the address owner; a
    // VRRPv2 non-owner in strict mode may not have it (RFC 3768).
    let accept = wire.accept.unwrap_or(owner || !wire.strict_mode);
    let accept = if accept && !owner && wire.strict_mode && conf.version == halab_vrrp::Version::V2
    {
        out.notice(
            pos,
            format!("vrrp_instance {name}: accept mode for VRRP version 2 does not comply with RFC 3768 (strict mode): reset, as keepalived does"),
        );
        false
    } else {
        accept
    };
    wire.accept = Some(accept);
    if wire.vmac_xmit_base && wire.use_vmac.is_none() {
        out.notice(
            pos,
            format!("vrrp_instance {name}: vmac_xmit_base without use_vmac has no effect"),
        );
    }
    if wire.unicast_ttl.is_some() && conf.unicast_peers.is_empty() {
        out.notice(
            pos,
            format!("vrrp_instance {name}: unicast_ttl without unicast peers is reset, as keepalived does"),
        );
        wire.unicast_ttl = None;
    }
    if !wire.peer_ttls.is_empty() {
        // keepalived: a peer's min_ttl/max_ttl turns the unicast source check on.
        wire.check_unicast_src = true;
    }
    for peer in &wire.peer_ttls {
        if peer.min_ttl.unwrap_or(0) > peer.max_ttl.unwrap_or(255) {
            out.notice(
                pos,
                format!(
                    "vrrp_instance {name}: unicast peer {} has min_ttl above max_ttl: all its adverts will be discarded",
                    peer.peer
                ),
            );
        }
    }
}
