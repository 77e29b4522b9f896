//! Daemon state steps: `stats` (a server in haproxy's stats) and `state` (a VRRP state).

use super::Step;
use super::cx::Cx;
use super::raw::{RawState, RawStats};
use crate::diag::did_you_mean;
use crate::lab::model::Role;

pub(super) fn stats(cx: &mut Cx<'_>, path: &str, st: &RawStats) -> Step {
    let p = format!("{path}.stats");
    let node = cx.node(&format!("{p}.node"), &st.node, Some(Role::Lb));
    let up = match st.status.to_ascii_uppercase().as_str() {
        "UP" => true,
        "DOWN" => false,
        o => {
            cx.bad(
                &format!("{p}.status"),
                format!("unknown server status `{o}`"),
                "UP or DOWN, as the stats page shows",
            );
            true
        }
    };
    match cx.lab.haproxy.proxy(&st.backend) {
        Some(px) if !px.servers.iter().any(|s| s.name == st.server) => {
            let names: Vec<&str> = px.servers.iter().map(|s| s.name.as_str()).collect();
            cx.bad(
                &format!("{p}.server"),
                format!("backend `{}` has no server `{}`", st.backend, st.server),
                did_you_mean(&st.server, &names),
            );
        }
        Some(_) => {}
        None => {
            let names: Vec<&str> = cx
                .lab
                .haproxy
                .proxies
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            cx.bad(
                &format!("{p}.backend"),
                format!("haproxy has no backend `{}`", st.backend),
                did_you_mean(&st.backend, &names),
            );
        }
    }
    Step::Stats {
        node,
        backend: st.backend.clone(),
        server: st.server.clone(),
        up,
        within: cx.duration(&format!("{p}.within"), st.within.as_ref()),
    }
}

pub(super) fn state(cx: &mut Cx<'_>, path: &str, st: &RawState) -> Step {
    let p = format!("{path}.state");
    let node = cx.node(&format!("{p}.node"), &st.node, Some(Role::Lb));
    let state = st.state.to_ascii_uppercase();
    if !["MASTER", "BACKUP", "FAULT", "STOPPED"].contains(&state.as_str()) {
        cx.bad(
            &format!("{p}.state"),
            format!("unknown VRRP state `{}`", st.state),
            "MASTER, BACKUP, FAULT or STOPPED",
        );
    }
    if let Some(i) = &st.instance
        && !cx.lab.vrrp.iter().any(|v| &v.name == i)
    {
        let names: Vec<&str> = cx.lab.vrrp.iter().map(|v| v.name.as_str()).collect();
        cx.bad(
            &format!("{p}.instance"),
            format!("no VRRP instance `{i}`"),
            did_you_mean(i, &names),
        );
    }
    Step::State {
        node,
        instance: st.instance.clone(),
        state,
        within: cx.duration(&format!("{p}.within"), st.within.as_ref()),
    }
}
