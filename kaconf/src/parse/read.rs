//! Small readers. Each reports its own error and returns None.

use std::net::Ipv4Addr;

use halab_vrrp::Version;

use super::Out;
use crate::lexer::{Token, split_command};
use crate::tree::Stmt;

pub(super) fn name_of(stmt: &Stmt, what: &str, out: &mut Out<'_>) -> Option<String> {
    match stmt.args.as_slice() {
        [name] => Some(name.text.clone()),
        _ => {
            out.err(stmt.pos(), format!("{what} needs exactly one name"));
            None
        }
    }
}

pub(super) fn block_of<'a>(stmt: &'a Stmt, out: &mut Out<'_>) -> Option<&'a [Stmt]> {
    match &stmt.block {
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

pub(super) fn one_arg<'a>(stmt: &'a Stmt, out: &mut Out<'_>) -> Option<&'a Token> {
    if stmt.block.is_some() {
        out.err(stmt.pos(), format!("`{}` takes no block", stmt.key.text));
        return None;
    }
    match stmt.args.as_slice() {
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

pub(super) fn no_args(stmt: &Stmt, out: &mut Out<'_>) {
    if !stmt.args.is_empty() || stmt.block.is_some() {
        out.err(stmt.pos(), format!("`{}` takes no value", stmt.key.text));
    }
}

pub(super) fn command(stmt: &Stmt, out: &mut Out<'_>) -> Option<String> {
    if stmt.args.is_empty() || stmt.block.is_some() {
        out.err(stmt.pos(), format!("`{}` needs a command", stmt.key.text));
        return None;
    }
    let text = stmt
        .args
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    match split_command(&text) {
        Ok(words) if !words.is_empty() => Some(text),
        Ok(_) => {
            out.err(stmt.pos(), format!("`{}` needs a command", stmt.key.text));
            None
        }
        Err(e) => {
            out.err(stmt.pos(), e);
            None
        }
    }
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
