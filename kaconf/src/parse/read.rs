//! Small readers. Each reports its own error and returns None.

use std::net::{Ipv4Addr, Ipv6Addr};

use halab_vrrp::Version;

use super::Out;
use crate::lexer::{Pos, Token, split_command};
use crate::tree::{Stmt, Stmts};
use crate::{Command, TrackRef};

pub(super) fn name_of(stmt: Stmt<'_>, what: &str, out: &mut Out<'_>) -> Option<String> {
    match stmt.args {
        [name] => Some(name.text.to_owned()),
        _ => {
            out.err(stmt.pos(), format!("{what} needs exactly one name"));
            None
        }
    }
}

pub(super) fn block_of<'a>(stmt: Stmt<'a>, out: &mut Out<'_>) -> Option<Stmts<'a>> {
    match stmt.block {
        Some(block) => Some(block),
        None => {
            out.err(
                stmt.pos(),
                format!("`{}` needs a `{{ ... }}` block", stmt.key.text),
            );
            None
        }
    }
}

pub(super) fn one_arg<'a>(stmt: Stmt<'a>, out: &mut Out<'_>) -> Option<&'a Token<'a>> {
    if stmt.block.is_some() {
        out.err(stmt.pos(), format!("`{}` takes no block", stmt.key.text));
        return None;
    }
    match stmt.args {
        [arg] => Some(arg),
        _ => {
            out.err(
                stmt.pos(),
                format!("`{}` takes exactly one value", stmt.key.text),
            );
            None
        }
    }
}

pub(super) fn no_args(stmt: Stmt<'_>, out: &mut Out<'_>) {
    if !stmt.args.is_empty() || stmt.block.is_some() {
        out.err(stmt.pos(), format!("`{}` takes no value", stmt.key.text));
    }
}

/// `KEYWORD COMMAND [USER [GROUP]]`, as keepalived reads notify scripts (notify.c
/// notify_script_init): the first word (a quoted string is one word) is the command line, the
/// next ones the user and group it runs as. `notify_master /path/x.sh root root` is
/// `/path/x.sh` run as root:root, not three arguments.
pub(super) fn command(stmt: Stmt<'_>, out: &mut Out<'_>) -> Option<Command> {
    script_command(stmt, out).map(|(command, _)| command)
}

/// [`command`], with the statement's place.
pub(super) fn script_command<'a>(stmt: Stmt<'a>, out: &mut Out<'_>) -> Option<(Command, Pos<'a>)> {
    let key = &stmt.key.text;
    let (first, user, group) = match (stmt.args, &stmt.block) {
        ([first], None) => (first, None, None),
        ([first, user], None) => (first, Some(user), None),
        ([first, user, group], None) => (first, Some(user), Some(group)),
        ([], _) | (_, Some(_)) => {
            out.err(stmt.pos(), format!("`{key}` needs a command"));
            return None;
        }
        _ => {
            out.err(
                stmt.pos(),
                format!(
                    "`{key}` takes a command, then optionally a user and a group; quote a command \
                     with arguments: {key} \"{} ...\"",
                    stmt.args[0].text
                ),
            );
            return None;
        }
    };
    match split_command(first.text) {
        Ok(words) if !words.is_empty() => Some((
            Command {
                command: first.text.to_owned(),
                user: user.map(|t| t.text.to_owned()),
                group: group.map(|t| t.text.to_owned()),
            },
            *stmt.pos(),
        )),
        Ok(_) => {
            out.err(stmt.pos(), format!("`{key}` needs a command"));
            None
        }
        Err(e) => {
            out.err(stmt.pos(), e);
            None
        }
    }
}

/// `KEYWORD [true|on|yes|false|off|no]`, true without a value (keepalived's check_true_false).
pub(super) fn bool_opt(stmt: Stmt<'_>, out: &mut Out<'_>) -> bool {
    match (stmt.args, &stmt.block) {
        ([], None) => true,
        ([value], None) => match value.text {
            "true" | "on" | "yes" => true,
            "false" | "off" | "no" => false,
            other => {
                out.err(
                    &value.pos,
                    format!(
                        "`{}` takes true/on/yes or false/off/no, not `{other}`",
                        stmt.key.text
                    ),
                );
                false
            }
        },
        _ => {
            out.err(
                stmt.pos(),
                format!(
                    "`{}` takes at most one value (true or false)",
                    stmt.key.text
                ),
            );
            false
        }
    }
}

/// `NAME [weight N [reverse]]` (keepalived's tracker references), weight in -254..=254.
pub(super) fn track_ref(entry: Stmt<'_>, out: &mut Out<'_>) -> Option<TrackRef> {
    let name = entry.key.text.to_owned();
    let (weight, reverse) = match entry.args {
        [] => (None, false),
        [w, n] if w.text == "weight" => (Some(int_in(n, -254, 254, out)?), false),
        [w, n, r] if w.text == "weight" && r.text == "reverse" => {
            (Some(int_in(n, -254, 254, out)?), true)
        }
        _ => {
            out.err(
                entry.pos(),
                "expected `NAME`, `NAME weight N` or `NAME weight N reverse`",
            );
            return None;
        }
    };
    if entry.block.is_some() {
        out.err(entry.pos(), "unexpected block");
        return None;
    }
    Some(TrackRef {
        name,
        weight: weight.map(|w| w as i32),
        reverse,
    })
}

pub(super) fn int_in(token: &Token, min: i64, max: i64, out: &mut Out<'_>) -> Option<i64> {
    match token.text.parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Some(v),
        Ok(v) => {
            out.err(&token.pos, format!("{v} is out of range {min}..={max}"));
            None
        }
        Err(_) => {
            out.err(
                &token.pos,
                format!("`{}` is not a whole number", token.text),
            );
            None
        }
    }
}

/// Seconds, possibly with decimals ("0.1", "2"), as milliseconds.
pub(super) fn millis(token: &Token, out: &mut Out<'_>) -> Option<u64> {
    let text = &token.text;
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 3 {
        out.err(
            &token.pos,
            format!("`{text}` is not a number of seconds (up to 3 decimals)"),
        );
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        match whole.parse::<u64>() {
            Ok(w) if w <= 1_000_000 => w,
            _ => {
                out.err(&token.pos, format!("`{text}` seconds is too long"));
                return None;
            }
        }
    };
    let frac_ms: u64 = format!("{frac:0<3}").parse().unwrap_or(0);
    Some(whole * 1_000 + frac_ms)
}

pub(super) fn ipv4(token: &Token, out: &mut Out<'_>) -> Option<Ipv4Addr> {
    match token.text.parse() {
        Ok(ip) => Some(ip),
        Err(_) => {
            out.err(
                &token.pos,
                format!("`{}` is not an IPv4 address", token.text),
            );
            None
        }
    }
}

pub(super) fn version_of(token: &Token, out: &mut Out<'_>) -> Option<Version> {
    let version = token.text.parse().ok().and_then(Version::from_number);
    if version.is_none() {
        out.err(
            &token.pos,
            format!("vrrp version must be 2 or 3, not `{}`", token.text),
        );
    }
    version
}

pub(super) fn ipv6(token: &Token, out: &mut Out<'_>) -> Option<Ipv6Addr> {
    match token.text.parse() {
        Ok(ip) => Some(ip),
        Err(_) => {
            out.err(
                &token.pos,
                format!("`{}` is not an IPv6 address", token.text),
            );
            None
        }
    }
}
