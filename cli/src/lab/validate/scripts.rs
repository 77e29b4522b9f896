//! Track scripts against the engines that run them: a lab file `validate` accepts is one the
//! engines' own checks accept (keepalived -t takes whole seconds, halabd -t decimals to the
//! millisecond), and a script halab must provide is one the lab file provides.

use std::path::Path;

use super::Ctx;
use crate::lab::model::{Engine, Node, Provider, Role, TrackScript};

/// keepalived 2.2's `vrrp_script` bounds: `interval` 1..4294 whole seconds, `timeout` whole.
const KEEPALIVED_MAX_INTERVAL: f64 = 4294.0;

/// The rules of each engine an LB of this lab runs, on every script (each LB's
/// keepalived.conf holds every script), and the script's program where halab can tell.
pub(super) fn check(cx: &mut Ctx<'_>, provider: Provider, nodes: &[Node], scripts: &[TrackScript]) {
    let engines: Vec<(Engine, &str)> = nodes
        .iter()
        .filter(|n| n.role == Role::Lb)
        .filter_map(|n| n.engine.map(|e| (e, n.name.as_str())))
        .collect();
    for s in scripts {
        let path = format!("scripts.{}", s.name);
        if let Some((_, node)) = engines.iter().find(|(e, _)| *e == Engine::Keepalived) {
            keepalived_times(cx, &path, s, node);
        }
        if engines.iter().any(|(e, _)| *e == Engine::Halabd) {
            halabd_times(cx, &path, s);
        }
        program(cx, &path, s, scripts, nodes, provider);
    }
}

fn whole(x: f64) -> bool {
    x.fract() == 0.0
}

fn keepalived_times(cx: &mut Ctx<'_>, path: &str, s: &TrackScript, node: &str) {
    let hint = format!(
        "keepalived (on {node}) takes whole seconds; for a sub-second check run halabd on every LB (`engine: halabd`), which takes decimals"
    );
    if !whole(s.interval) || !(1.0..=KEEPALIVED_MAX_INTERVAL).contains(&s.interval) {
        cx.bad(
            &format!("{path}.interval"),
            format!(
                "keepalived rejects interval {}: it must be a whole number of seconds from 1 to 4294",
                s.interval
            ),
            Some(hint.clone()),
        );
    }
    if let Some(t) = s.timeout
        && !whole(t)
    {
        cx.bad(
            &format!("{path}.timeout"),
            format!("keepalived rejects timeout {t}: it must be a whole number of seconds"),
            Some(hint),
        );
    }
}

fn halabd_times(cx: &mut Ctx<'_>, path: &str, s: &TrackScript) {
    let millis = |x: f64| (x * 1000.0 - (x * 1000.0).round()).abs() < 1e-6;
    for (field, v) in [("interval", Some(s.interval)), ("timeout", s.timeout)] {
        if let Some(v) = v
            && !millis(v)
        {
            cx.bad(
                &format!("{path}.{field}"),
                format!("halabd rejects {field} {v}: at most 3 decimals (milliseconds)"),
                Some(format!("round it, e.g. {field}: {:.3}", v)),
            );
        }
    }
}

/// The script's program must be there when the engine runs it: under /etc/keepalived/ only
/// what the lab file writes exists (halab owns that dir on every LB), and on this machine's
/// namespaces (netns provider) any other absolute path is the host's.
fn program(
    cx: &mut Ctx<'_>,
    path: &str,
    s: &TrackScript,
    scripts: &[TrackScript],
    nodes: &[Node],
    provider: Provider,
) {
    let Some(first) = s.script.split_whitespace().next() else {
        return;
    };
    // A relative program, or a script whose own file is refused (reported there).
    if !first.starts_with('/') || s.file.as_ref().is_some_and(|f| !f.path.starts_with('/')) {
        return;
    }
    let written = scripts
        .iter()
        .filter_map(|x| x.file.as_ref())
        .any(|f| f.path == first)
        || own_on_every_lb(nodes, first);
    if first.starts_with("/etc/keepalived/") && !written {
        cx.bad(
            &format!("{path}.script"),
            format!("`{first}` does not exist on the LBs: halab writes /etc/keepalived/ with only what the lab file gives"),
            Some(format!(
                "add its body to this script: `file: {{ path: {first}, content: \"#!/bin/sh\\n...\" }}`, or run a program that exists (e.g. `script: \"killall -0 haproxy\"`)"
            )),
        );
    } else if provider == Provider::Netns && !written && !Path::new(first).exists() {
        cx.bad(
            &format!("{path}.script"),
            format!("`{first}` does not exist on this machine, whose /usr and /bin the lab's nodes share"),
            Some(format!(
                "install it, or give its body with `file: {{ path: /etc/keepalived/{}, content: ... }}`",
                Path::new(first)
                    .file_name()
                    .map_or("check.sh".into(), |n| n.to_string_lossy())
            )),
        );
    }
}

/// Every LB brings the file at `path` among its own files (`files:`).
fn own_on_every_lb(nodes: &[Node], path: &str) -> bool {
    let mut lbs = nodes.iter().filter(|n| n.role == Role::Lb).peekable();
    lbs.peek().is_some() && lbs.all(|n| n.own_file(path).is_some())
}
