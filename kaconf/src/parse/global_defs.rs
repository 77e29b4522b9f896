//! `global_defs { ... }`: the VRRP settings, and the instances' defaults.

use halab_vrrp::Version;

use super::Out;
use super::read::{bool_opt, ipv4, ipv6, no_args, one_arg, script_command, version_of};
use crate::Config;
use crate::FifoConf;
use crate::directives::Block;
use crate::lexer::Token;
use crate::tree::{Stmt, Stmts};

/// What `global_defs` sets for every `vrrp_instance` that does not set it itself, beyond
/// [`crate::GlobalVrrp`] (whose wire defaults `wire::complete` applies).
#[derive(Debug, Clone)]
pub(super) struct InstanceDefaults {
    /// `vrrp_version`; keepalived's default 2.
    pub(super) version: Version,
}

impl Default for InstanceDefaults {
    fn default() -> Self {
        Self {
            version: Version::V2,
        }
    }
}

pub(super) fn global_defs(
    block: Stmts<'_>,
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
        match stmt.key.text {
            "router_id" => config.router_id = one_arg(stmt, out).map(|t| t.text.to_owned()),
            "vrrp_version" => {
                if let Some(v) = one_arg(stmt, out).and_then(|t| version_of(t, out)) {
                    defaults.version = v;
                }
            }
            "script_user" => match stmt.args {
                [user] => config.script_user = Some((user.text.to_owned(), None)),
                [user, group] => {
                    config.script_user = Some((user.text.to_owned(), Some(group.text.to_owned())))
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
            "vrrp_min_garp" => g.min_garp = bool_opt(stmt, out),
            "vrrp_mcast_group4" => g.mcast_group4 = one_arg(stmt, out).and_then(|t| ipv4(t, out)),
            "vrrp_mcast_group6" => g.mcast_group6 = one_arg(stmt, out).and_then(|t| ipv6(t, out)),
            "vrrp_notify_priority_changes" => g.notify_priority_changes = bool_opt(stmt, out),
            "vrrp_startup_delay" => {
                g.startup_delay_us = one_arg(stmt, out).and_then(|t| startup_delay(t, out))
            }
            "fifo_write_vrrp_states_on_reload" => {
                no_args(stmt, out);
                g.fifo_write_states_on_reload = true;
            }
            "notify_fifo" => g.notify_fifo = fifo(stmt, out),
            "vrrp_notify_fifo" => g.vrrp_notify_fifo = fifo(stmt, out),
            "notify_fifo_script" => fifo_script = script_command(stmt, out),
            "vrrp_notify_fifo_script" => vrrp_fifo_script = script_command(stmt, out),
            // vrrp_strict, vrrp_garp_*, ...: the wire's, completed per instance (wire.rs).
            _ if super::wire::global_keyword(stmt, g, out) => {}
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
fn fifo(stmt: Stmt<'_>, out: &mut Out<'_>) -> Option<FifoConf> {
    match stmt.args {
        [path, rest @ ..] if rest.len() <= 2 && stmt.block.is_none() => Some(FifoConf {
            path: path.text.to_owned(),
            owner: rest
                .first()
                .map(|user| (user.text.to_owned(), rest.get(1).map(|g| g.text.to_owned()))),
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

/// `vrrp_startup_delay SECS` in microseconds, read as keepalived 2.2.7 reads it
/// (`read_decimal_unsigned_strvec(.., TIMER_HZ / 1000, UINT_MAX, TIMER_HZ_DIGITS, ..)`):
/// up to 6 decimals, from 0.001 to 4294.967295 s. keepalived -t refuses anything else.
fn startup_delay(token: &Token, out: &mut Out<'_>) -> Option<u64> {
    const MIN_US: u64 = 1_000;
    const MAX_US: u64 = u32::MAX as u64;
    let text = &token.text;
    let hint = "it takes seconds from 0.001 to 4294.967295 (up to 6 decimals), e.g. `vrrp_startup_delay 5`";
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        out.err(
            &token.pos,
            format!("vrrp_startup_delay `{text}` is not a number: {hint}"),
        );
        return None;
    }
    if frac.len() > 6 {
        out.err(
            &token.pos,
            format!("vrrp_startup_delay `{text}` has more than 6 decimals: {hint}"),
        );
        return None;
    }
    // Too many digits for a u64 is out of range too.
    match format!("{whole}{frac:0<6}").parse::<u64>().ok() {
        Some(us) if (MIN_US..=MAX_US).contains(&us) => Some(us),
        _ => {
            out.err(
                &token.pos,
                format!("vrrp_startup_delay `{text}` is out of range: {hint}"),
            );
            None
        }
    }
}
