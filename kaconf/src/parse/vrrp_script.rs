//! `vrrp_script NAME { ... }`.

use super::Out;
use super::read::{int_in, millis, no_args, one_arg};
use crate::ScriptConf;
use crate::directives::Block;
use crate::lexer::split_command;
use crate::tree::{Stmt, Stmts};

pub(super) fn script(
    name: &str,
    stmt: Stmt<'_>,
    block: Stmts<'_>,
    out: &mut Out<'_>,
) -> Option<ScriptConf> {
    let mut command = None;
    let mut conf = ScriptConf {
        name: name.to_owned(),
        command: String::new(),
        argv: Vec::new(),
        interval_ms: 1_000,
        timeout_ms: None,
        weight: 0,
        rise: 1,
        fall: 1,
        init_fail: false,
        reverse: false,
        user: None,
        shell: false,
    };
    let within = format!("vrrp_script {name}");
    for s in block {
        if !out.admit(Block::VrrpScript, &within, s) {
            continue;
        }
        match s.key.text {
            "script" => {
                if s.args.is_empty() {
                    out.err(s.pos(), "script needs a command");
                    continue;
                }
                // keepalived 2.2.7 (set_script_params_array) runs the FIRST word only: a
                // quoted string is one word, split into argv; words after it are ignored.
                let text = s.args[0].text.to_owned();
                if s.args.len() > 1 {
                    out.notice(
                        s.pos(),
                        format!(
                            "only `{text}` is run: keepalived ignores the words after the first; quote the whole command line"
                        ),
                    );
                }
                match split_command(&text) {
                    Ok(argv) if !argv.is_empty() => {
                        conf.shell = runs_in_shell(&argv[0]);
                        conf.argv = argv;
                        command = Some(text);
                    }
                    Ok(_) => out.err(s.pos(), "script needs a command"),
                    Err(e) => out.err(s.pos(), e),
                }
            }
            "interval" => {
                if let Some(ms) = one_arg(s, out).and_then(|t| millis(t, out)) {
                    if ms == 0 {
                        out.err(s.pos(), "interval must be above 0");
                    }
                    conf.interval_ms = ms.max(1);
                }
            }
            "timeout" => conf.timeout_ms = one_arg(s, out).and_then(|t| millis(t, out)),
            "weight" => match s.args {
                [w] => conf.weight = int_in(w, -253, 253, out).unwrap_or(0) as i32,
                [w, reverse] if reverse.text == "reverse" => {
                    conf.weight = int_in(w, -253, 253, out).unwrap_or(0) as i32;
                    conf.reverse = true;
                }
                _ => out.err(s.pos(), "weight takes a number and optionally `reverse`"),
            },
            "user" => match s.args {
                [user] => conf.user = Some((user.text.to_owned(), None)),
                [user, group] => {
                    conf.user = Some((user.text.to_owned(), Some(group.text.to_owned())))
                }
                _ => out.err(s.pos(), "user takes a user and optionally a group"),
            },
            "rise" => {
                conf.rise = one_arg(s, out)
                    .and_then(|t| int_in(t, 1, 1_000_000, out))
                    .unwrap_or(1) as u32
            }
            "fall" => {
                conf.fall = one_arg(s, out)
                    .and_then(|t| int_in(t, 1, 1_000_000, out))
                    .unwrap_or(1) as u32
            }
            "init_fail" => {
                no_args(s, out);
                conf.init_fail = true;
            }
            _ => out.unknown(s, Block::VrrpScript, &within),
        }
    }
    let Some(command) = command else {
        out.err(
            stmt.pos(),
            format!("vrrp_script {name} has no `script` line"),
        );
        return None;
    };
    conf.command = command;
    Some(conf)
}

/// keepalived (notify.c check_script_secure): a command starting `</` (spaces allowed after
/// the `<`) tests a file for being openable and is run by system(), i.e. `/bin/sh -c`.
pub(super) fn runs_in_shell(program: &str) -> bool {
    program
        .strip_prefix('<')
        .is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with('/'))
}
