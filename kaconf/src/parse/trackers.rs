//! `track_file NAME { ... }` and `vrrp_track_process NAME { ... }` (keepalived's
//! trackers/track_file.c and vrrp_parser.c).

use super::Out;
use super::read::{int_in, millis, no_args, one_arg};
use crate::directives::Block;
use crate::tree::{Stmt, Stmts};
use crate::{ParamMatch, TrackFileConf, TrackProcessConf};

pub(super) fn track_file(
    name: String,
    stmt: Stmt<'_>,
    block: Stmts<'_>,
    out: &mut Out<'_>,
) -> Option<TrackFileConf> {
    let within = format!("track_file {name}");
    let mut file = None;
    let mut conf = TrackFileConf {
        name,
        file: String::new(),
        weight: 1,
        reverse: false,
        init: None,
    };
    for s in block {
        if !out.admit(Block::TrackFile, &within, s) {
            continue;
        }
        match s.key.text {
            "file" => file = one_arg(s, out).map(|t| t.text.to_owned()),
            "weight" => {
                if let Some((w, reverse)) = weight(s, out) {
                    conf.weight = w;
                    conf.reverse = reverse;
                }
            }
            // `init_file [VALUE] [overwrite]`.
            "init_file" => {
                let mut value = 0;
                let mut overwrite = false;
                for arg in s.args {
                    if arg.text == "overwrite" {
                        overwrite = true;
                    } else if let Some(v) = int_in(arg, -254, 254, out) {
                        value = v;
                    }
                }
                conf.init = Some((value, overwrite));
            }
            _ => out.unknown(s, Block::TrackFile, &within),
        }
    }
    match file {
        Some(f) => conf.file = f,
        None => {
            out.err(stmt.pos(), format!("{within} has no `file PATH`"));
            return None;
        }
    }
    Some(conf)
}

pub(super) fn track_process(
    name: String,
    stmt: Stmt<'_>,
    block: Stmts<'_>,
    out: &mut Out<'_>,
) -> Option<TrackProcessConf> {
    let within = format!("vrrp_track_process {name}");
    let mut conf = TrackProcessConf {
        name,
        process: String::new(),
        args: Vec::new(),
        param_match: ParamMatch::Any,
        weight: 0,
        reverse: false,
        quorum: 1,
        quorum_max: None,
        delay_ms: 0,
        terminate_delay_ms: None,
        fork_delay_ms: None,
        full_command: false,
    };
    for s in block {
        if !out.admit(Block::VrrpTrackProcess, &within, s) {
            continue;
        }
        match s.key.text {
            "process" => match s.args.split_first() {
                Some((process, args)) => {
                    conf.process = process.text.to_owned();
                    conf.args = args.iter().map(|t| t.text.to_owned()).collect();
                    // keepalived: arguments mean the command line is matched, exactly
                    // unless param_match says otherwise.
                    if !args.is_empty() {
                        conf.full_command = true;
                        if conf.param_match == ParamMatch::Any {
                            conf.param_match = ParamMatch::Exact;
                        }
                    }
                }
                None => out.err(s.pos(), "process needs a process name"),
            },
            // keepalived: `param_match` alone is exact; any of them matches the command line.
            "param_match" => {
                let how = match s.args {
                    [] => Some(ParamMatch::Exact),
                    [how] => match how.text {
                        "exact" => Some(ParamMatch::Exact),
                        "partial" => Some(ParamMatch::Partial),
                        "initial" => Some(ParamMatch::Initial),
                        other => {
                            out.err(
                                s.pos(),
                                format!("param_match is exact, partial or initial, not `{other}`"),
                            );
                            None
                        }
                    },
                    _ => {
                        out.err(s.pos(), "param_match takes at most one word");
                        None
                    }
                };
                if let Some(how) = how {
                    conf.param_match = how;
                    conf.full_command = true;
                }
            }
            "weight" => {
                if let Some((w, reverse)) = weight(s, out) {
                    conf.weight = w;
                    conf.reverse = reverse;
                }
            }
            "quorum" => {
                if let Some(q) = one_arg(s, out).and_then(|t| int_in(t, 1, 65_535, out)) {
                    conf.quorum = q as u32;
                }
            }
            "quorum_max" => {
                conf.quorum_max = one_arg(s, out)
                    .and_then(|t| int_in(t, 1, 65_535, out))
                    .map(|q| q as u32)
            }
            "delay" => {
                if let Some(ms) = one_arg(s, out).and_then(|t| millis(t, out)) {
                    conf.delay_ms = ms;
                }
            }
            "terminate_delay" => {
                conf.terminate_delay_ms = one_arg(s, out).and_then(|t| millis(t, out))
            }
            "fork_delay" => conf.fork_delay_ms = one_arg(s, out).and_then(|t| millis(t, out)),
            "full_command" => {
                no_args(s, out);
                conf.full_command = true;
            }
            _ => out.unknown(s, Block::VrrpTrackProcess, &within),
        }
    }
    if conf.process.is_empty() {
        out.err(stmt.pos(), format!("{within} has no `process NAME`"));
        return None;
    }
    if let Some(max) = conf.quorum_max
        && max < conf.quorum
    {
        out.err(stmt.pos(), format!("{within}: quorum_max is below quorum"));
    }
    Some(conf)
}

/// `weight N [reverse]`, -254..=254.
fn weight(s: Stmt<'_>, out: &mut Out<'_>) -> Option<(i32, bool)> {
    match s.args {
        [w] => int_in(w, -254, 254, out).map(|w| (w as i32, false)),
        [w, r] if r.text == "reverse" => int_in(w, -254, 254, out).map(|w| (w as i32, true)),
        _ => {
            out.err(s.pos(), "weight takes a number and optionally `reverse`");
            None
        }
    }
}
