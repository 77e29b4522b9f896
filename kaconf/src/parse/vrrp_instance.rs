//! `vrrp_instance NAME { ... }`.

use halab_vrrp::{AdvertIntervalError, InitialState, Password, advert_interval_cs};

use super::Out;
use super::addresses::{ip, route, settle_families, vip};
use super::global_defs::InstanceDefaults;
use super::read::{block_of, bool_opt, command, int_in, millis, no_args, one_arg, version_of};
use super::vrrp_sync_group::refs;
use crate::directives::Block;
use crate::lexer::Pos;
use crate::tree::{Stmt, Stmts};
use crate::{InstanceConf, InstanceTracking, InstanceWire, NotifyConf, PeerTtl};

pub(super) fn instance(
    name: String,
    stmt: Stmt<'_>,
    block: Stmts<'_>,
    defaults: &InstanceDefaults,
    out: &mut Out<'_>,
) -> Option<InstanceConf> {
    let within = format!("vrrp_instance {name}");
    let mut interface = None;
    let mut vrid = None;
    let mut advert: Option<(u64, Pos)> = None;
    let mut conf = InstanceConf {
        name: name.clone(),
        initial_state: InitialState::Backup,
        interface: String::new(),
        vrid: 0,
        priority: 100,
        advert_interval_cs: 100,
        version: defaults.version,
        auth: None,
        vips: Vec::new(),
        track_scripts: Vec::new(),
        track_interfaces: Vec::new(),
        preempt: true,
        preempt_delay_ms: 0,
        // keepalived's defaults; wire::complete applies global_defs' vrrp_garp_master_*.
        garp_master_delay_s: 5,
        garp_master_repeat: 5,
        garp_master_refresh_s: 0,
        unicast_src_ip: None,
        unicast_peers: Vec::new(),
        notify: NotifyConf::default(),
        virtual_routes: Vec::new(),
        excluded_vips: Vec::new(),
        // Completed with global_defs' defaults by wire::complete.
        wire: InstanceWire::default(),
        tracking: InstanceTracking::default(),
    };
    let mut version_pos = None;
    for s in block {
        if !out.admit(Block::VrrpInstance, &within, s) {
            continue;
        }
        match s.key.text {
            "state" => match one_arg(s, out).map(|t| t.text) {
                Some("MASTER") => conf.initial_state = InitialState::Master,
                Some("BACKUP") => conf.initial_state = InitialState::Backup,
                Some(other) => out.err(
                    s.pos(),
                    format!("state must be MASTER or BACKUP, not `{other}`"),
                ),
                None => {}
            },
            "interface" => interface = one_arg(s, out).map(|t| t.text.to_owned()),
            "virtual_router_id" => {
                vrid = one_arg(s, out)
                    .and_then(|t| int_in(t, 1, 255, out))
                    .map(|v| v as u8)
            }
            "priority" => {
                if let Some(p) = one_arg(s, out).and_then(|t| int_in(t, 1, 255, out)) {
                    conf.priority = p as u8;
                }
            }
            "advert_int" => {
                advert = one_arg(s, out)
                    .and_then(|t| millis(t, out))
                    .map(|ms| (ms, *s.pos()))
            }
            "version" => {
                if let Some(v) = one_arg(s, out).and_then(|t| version_of(t, out)) {
                    conf.version = v;
                    version_pos = Some(*s.pos());
                }
            }
            "authentication" => {
                if let Some(b) = block_of(s, out) {
                    conf.auth = authentication(b, s, out);
                }
            }
            "virtual_ipaddress" => {
                if let Some(b) = block_of(s, out) {
                    conf.vips.reserve_exact(b.len());
                    for entry in b {
                        if let Some(vip) = vip(entry, out) {
                            conf.vips.push(vip);
                        }
                    }
                }
            }
            "virtual_ipaddress_excluded" => {
                if let Some(b) = block_of(s, out) {
                    conf.excluded_vips.reserve_exact(b.len());
                    for entry in b {
                        if let Some(vip) = vip(entry, out) {
                            conf.excluded_vips.push(vip);
                        }
                    }
                }
            }
            "track_script" => {
                if let Some(b) = block_of(s, out) {
                    conf.track_scripts.reserve_exact(b.len());
                    for entry in b {
                        if let Some((name, weight, reverse)) = tracked(entry, out) {
                            if reverse {
                                conf.tracking.reverse_scripts.push(name.clone());
                            }
                            conf.track_scripts.push((name, weight));
                        }
                    }
                }
            }
            "track_interface" => {
                if let Some(b) = block_of(s, out) {
                    conf.track_interfaces.reserve_exact(b.len());
                    for entry in b {
                        if let Some((name, weight, reverse)) = tracked(entry, out) {
                            if reverse {
                                conf.tracking.reverse_interfaces.push(name.clone());
                            }
                            conf.track_interfaces.push((name, weight.unwrap_or(0)));
                        }
                    }
                }
            }
            "nopreempt" => {
                no_args(s, out);
                conf.preempt = false;
            }
            "preempt_delay" => {
                if let Some(ms) = one_arg(s, out).and_then(|t| millis(t, out)) {
                    if ms > 1_000_000 {
                        out.err(s.pos(), "preempt_delay is at most 1000 seconds");
                    }
                    conf.preempt_delay_ms = ms;
                }
            }
            "garp_master_delay" => {
                if let Some(v) = one_arg(s, out).and_then(|t| int_in(t, 0, 86_400, out)) {
                    conf.garp_master_delay_s = v as u64;
                }
            }
            "garp_master_repeat" => {
                if let Some(v) = one_arg(s, out).and_then(|t| int_in(t, 1, 1_000, out)) {
                    conf.garp_master_repeat = v as u32;
                }
            }
            "garp_master_refresh" => {
                if let Some(v) = one_arg(s, out).and_then(|t| int_in(t, 0, 86_400, out)) {
                    conf.garp_master_refresh_s = v as u64;
                }
            }
            "unicast_src_ip" => conf.unicast_src_ip = one_arg(s, out).and_then(|t| ip(t, out)),
            "unicast_peer" => {
                if let Some(b) = block_of(s, out) {
                    conf.unicast_peers.reserve_exact(b.len());
                    for entry in b {
                        if let Some(ip) = ip(entry.key, out) {
                            conf.unicast_peers.push(ip);
                            if let Some(ttl) = peer_ttl(ip, entry, out) {
                                conf.wire.peer_ttls.push(ttl);
                            }
                        }
                    }
                }
            }
            "unicast_ttl" => {
                conf.wire.unicast_ttl = one_arg(s, out)
                    .and_then(|t| int_in(t, 1, 255, out))
                    .map(|v| v as u8)
            }
            "unicast_fault_no_peer" => {
                no_args(s, out);
                conf.wire.unicast_fault_no_peer = true;
            }
            "native_ipv6" => {
                no_args(s, out);
                conf.wire.native_ipv6 = true;
            }
            "preempt" => {
                no_args(s, out);
                conf.preempt = true;
            }
            "track_file" => refs(s, &mut conf.tracking.files, out),
            "track_process" => refs(s, &mut conf.tracking.processes, out),
            "dont_track_primary" => {
                no_args(s, out);
                conf.tracking.dont_track_primary = true;
            }
            "notify_deleted" => {
                conf.tracking.notify_deleted = Some(if s.args.is_empty() {
                    None
                } else {
                    command(s, out).map(|c| c.command)
                })
            }
            "notify_master_rx_lower_pri" => {
                conf.tracking.notify_master_rx_lower_pri = command(s, out).map(|c| c.command)
            }
            "notify_priority_changes" => {
                conf.tracking.notify_priority_changes = Some(bool_opt(s, out))
            }
            "notify_master" => conf.notify.master = command(s, out).map(Box::new),
            "notify_backup" => conf.notify.backup = command(s, out).map(Box::new),
            "notify_fault" => conf.notify.fault = command(s, out).map(Box::new),
            "notify_stop" => conf.notify.stop = command(s, out).map(Box::new),
            "notify" => conf.notify.any = command(s, out).map(Box::new),
            "virtual_routes" => {
                if let Some(b) = block_of(s, out) {
                    conf.virtual_routes.reserve_exact(b.len());
                    for entry in b {
                        if let Some(route) = route(entry, out) {
                            conf.virtual_routes.push(route);
                        }
                    }
                }
            }
            // use_vmac, accept, strict_mode, garp timings, ...: the wire's (wire.rs).
            _ if super::wire::instance_keyword(s, &mut conf.wire, out) => {}
            _ => out.unknown(s, Block::VrrpInstance, &within),
        }
    }
    if let Some((ms, pos)) = advert {
        match advert_interval_cs(conf.version, ms.saturating_mul(1_000)) {
            Ok(cs) => conf.advert_interval_cs = cs,
            Err(AdvertIntervalError::NotWholeSeconds) => out.err(&pos, format!("advert_int {} s is not a whole number of seconds, which vrrp version 2 needs (use `version 3`)", ms as f64 / 1000.0)),
            Err(AdvertIntervalError::Resolution) => out.err(&pos, "advert_int has a resolution of 0.01 s"),
            Err(e @ (AdvertIntervalError::V2Range | AdvertIntervalError::V3Range)) => {
                out.err(&pos, format!("advert_int is out of range: {e}"))
            }
        }
    }
    let mut complete = true;
    match interface {
        Some(i) => conf.interface = i,
        None => {
            out.err(stmt.pos(), format!("{within} has no `interface`"));
            complete = false;
        }
    }
    match vrid {
        Some(v) => conf.vrid = v,
        None => {
            out.err(stmt.pos(), format!("{within} has no `virtual_router_id`"));
            complete = false;
        }
    }
    if conf.vips.is_empty() {
        out.notice(stmt.pos(), format!("{within} has no virtual_ipaddress"));
    }
    settle_families(&mut conf, version_pos.as_ref().unwrap_or(stmt.pos()), out);
    complete.then_some(conf)
}

pub(super) fn authentication(
    block: Stmts<'_>,
    stmt: Stmt<'_>,
    out: &mut Out<'_>,
) -> Option<Password> {
    let mut kind = None;
    let mut pass = None;
    for s in block {
        if !out.admit(Block::Authentication, "authentication", s) {
            continue;
        }
        match s.key.text {
            "auth_type" => kind = one_arg(s, out).map(|t| (t.text.to_owned(), *s.pos())),
            "auth_pass" => pass = one_arg(s, out).map(|t| (t.text.to_owned(), *s.pos())),
            _ => out.unknown(s, Block::Authentication, "authentication"),
        }
    }
    match kind {
        Some((k, _)) if k == "PASS" => {}
        Some((k, pos)) if k == "AH" => {
            out.err(
                &pos,
                "auth_type AH is not supported by halabd (use PASS or none)",
            );
            return None;
        }
        Some((k, pos)) => {
            out.err(&pos, format!("auth_type must be PASS, not `{k}`"));
            return None;
        }
        None => {
            out.err(stmt.pos(), "authentication needs `auth_type PASS`");
            return None;
        }
    }
    let Some((mut text, pos)) = pass else {
        out.err(stmt.pos(), "authentication needs `auth_pass`");
        return None;
    };
    if text.len() > 8 {
        // keepalived truncates to 8 bytes as well, with a warning.
        out.notice(
            &pos,
            "auth_pass is longer than 8 characters, truncated as keepalived does",
        );
        while text.len() > 8 {
            text.pop();
        }
    }
    Password::from_text(&text).ok()
}

/// `NAME [weight N]`.
/// `NAME [weight N [reverse]]`: the name, the weight and whether it is reversed.
pub(super) fn tracked(entry: Stmt<'_>, out: &mut Out<'_>) -> Option<(String, Option<i32>, bool)> {
    match entry.args {
        [] => Some((entry.key.text.to_owned(), None, false)),
        [w, n] if w.text == "weight" => {
            let weight = int_in(n, -253, 253, out)?;
            Some((entry.key.text.to_owned(), Some(weight as i32), false))
        }
        [w, n, r] if w.text == "weight" && r.text == "reverse" => {
            let weight = int_in(n, -253, 253, out)?;
            Some((entry.key.text.to_owned(), Some(weight as i32), true))
        }
        _ => {
            out.err(
                entry.pos(),
                "expected `NAME`, `NAME weight N` or `NAME weight N reverse`",
            );
            None
        }
    }
}

/// `ADDR [min_ttl N] [max_ttl N]`: the TTL bounds, if any are given.
fn peer_ttl(peer: std::net::IpAddr, entry: Stmt<'_>, out: &mut Out<'_>) -> Option<PeerTtl> {
    let mut ttl = PeerTtl {
        peer,
        min_ttl: None,
        max_ttl: None,
    };
    let mut args = entry.args.iter();
    while let Some(key) = args.next() {
        let Some(value) = args.next() else {
            out.err(&key.pos, format!("`{}` needs a value", key.text));
            return None;
        };
        let bound = int_in(value, 0, 255, out).map(|v| v as u8);
        match key.text {
            "min_ttl" => ttl.min_ttl = bound,
            "max_ttl" => ttl.max_ttl = bound,
            other => {
                out.err(
                    &key.pos,
                    format!("unknown unicast_peer option `{other}` (min_ttl and max_ttl are)"),
                );
                return None;
            }
        }
    }
    (ttl.min_ttl.is_some() || ttl.max_ttl.is_some()).then_some(ttl)
}
