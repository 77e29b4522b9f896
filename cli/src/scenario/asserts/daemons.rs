//! `stats` (a server's status in haproxy's stats) and `state` (a node's VRRP state), polled
//! on the node.

use std::time::Duration;

use super::{fail, last_vip_samples, poll};
use crate::scenario::ctx::Ctx;
use crate::scenario::result::Outcome;

/// haproxy's `show stat` over its admin socket.
pub fn server_status(
    cx: &Ctx<'_>,
    node: &str,
    backend: &str,
    server: &str,
) -> Result<String, String> {
    let text = cx.fleet.haproxy_stat(node)?;
    let mut lines = text.lines();
    let head: Vec<&str> = lines
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let col = head
        .iter()
        .position(|c| *c == "status")
        .ok_or("no status column")?;
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if f.first() == Some(&backend) && f.get(1) == Some(&server) {
            return Ok(f.get(col).unwrap_or(&"").to_string());
        }
    }
    Err(format!("{backend}/{server} not in haproxy's stats"))
}

pub(super) fn stats(
    cx: &Ctx<'_>,
    node: &str,
    backend: &str,
    server: &str,
    up: bool,
    deadline: Duration,
) -> Outcome {
    let want = if up { "UP" } else { "DOWN" };
    let mut last = String::new();
    let r = poll(deadline, Duration::from_millis(100), || {
        let st = server_status(cx, node, backend, server)?;
        last = st.clone();
        // "UP 1/3" is still UP (going down), "DOWN 1/2" still DOWN (coming up), as the page colours them.
        if st.starts_with(want) {
            Ok(())
        } else {
            Err(format!("status {st}"))
        }
    });
    match r {
        Ok(()) => Outcome::Passed { detail: Some(last) },
        Err(seen) => fail(
            format!(
                "{backend}/{server} {want} on {node}'s haproxy within {:.1}s",
                deadline.as_secs_f64()
            ),
            seen,
            vec![],
        ),
    }
}

pub(super) fn vrrp_state(
    cx: &Ctx<'_>,
    node: &str,
    instance: Option<&str>,
    state: &str,
    deadline: Duration,
) -> Outcome {
    let Some(n) = cx.lab.node(node) else {
        return fail(format!("node {node}"), "no such node", vec![]);
    };
    let Some(engine) = n.engine else {
        return fail(format!("{node} runs VRRP"), "not an LB", vec![]);
    };
    let r = poll(deadline, Duration::from_millis(100), || {
        let m = cx.machine(node)?;
        let states =
            crate::status::vrrp_states(cx.lab, m.as_ref(), engine, &cx.fleet.addresses(node));
        let mine: Vec<_> = states
            .iter()
            .filter(|s| instance.is_none_or(|i| s.instance == i))
            .collect();
        if !mine.is_empty() && mine.iter().all(|s| s.state == state) {
            Ok(())
        } else {
            Err(mine
                .iter()
                .map(|s| format!("{} {}", s.instance, s.state))
                .collect::<Vec<_>>()
                .join(", "))
        }
    });
    match r {
        Ok(()) => Outcome::Passed { detail: None },
        Err(seen) => fail(
            format!("{node} {} {state}", instance.unwrap_or("VRRP")),
            seen,
            last_vip_samples(cx, 4),
        ),
    }
}
