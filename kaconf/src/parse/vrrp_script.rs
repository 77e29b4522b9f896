//! `vrrp_script NAME { ... }`.

use super::Out;
use super::read::{int_in, millis, no_args, one_arg};
use crate::ScriptConf;
use crate::lexer::split_command;
use crate::tree::Stmt;

pub(super) fn script(
    name: &str,
    stmt: &Stmt,
    block: &[Stmt],
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
    };
    for s in block {
        match s.key.text.as_str() {
            "script" => {
                if s.args.is_empty() {
                    out.err(s.pos(), "script needs a command");
                    continue;
                }
                // `script "cmd args"` or `script cmd args`.
                let text = s
                    .args
                    .iter()
                    .map(|t| t.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                match split_command(&text) {
                    Ok(argv) if !argv.is_empty() => {
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
            "weight" => match s.args.as_slice() {
                [w] => conf.weight = int_in(w, -253, 253, out).unwrap_or(0) as i32,
                [_, reverse] if reverse.text == "reverse" => {
                    out.err(s.pos(), "`weight N reverse` is not supported by halabd")
                }
                _ => out.err(s.pos(), "weight takes one number"),
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
            _ => out.unknown(
                s,
                &format!("vrrp_script {name}"),
                &[
                    "script",
                    "interval",
                    "timeout",
                    "weight",
                    "rise",
                    "fall",
                    "init_fail",
                ],
            ),
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
