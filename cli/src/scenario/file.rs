//! Scenario files: raw serde types, then validation against the lab into [`Scenario`].
//!
//! A scenario is a list of steps; each step is a map with one key, the step's kind:
//! actions (start, stop, kill, restart, reload, freeze, thaw, link_down, link_up, partition,
//! heal, loss, wait) and assertions (vip, distribution, http, stats, state, outage).
//! Errors name file, line, column and field, as lab file errors do.
//!
//! Modules: `raw.rs` (the serde types), `step.rs` (the validated [`Step`]s), `cx.rs` (the
//! checks steps share), then one per step family: `services.rs`, `faults.rs`, `vip.rs`
//! (vip, outage), `http.rs` (distribution, http), `lb_state.rs` (stats, state).

mod cx;
mod faults;
mod http;
mod lb_state;
mod raw;
mod services;
mod step;
mod vip;

use std::path::Path;

use crate::diag::Diagnostics;
use crate::lab::Lab;
use crate::lab::locate::Locator;
use cx::Cx;
use raw::{RawScenario, RawStep};
pub use step::{Direction, Order, Scenario, Step, SvcAction, SvcRef, parse_duration};

/// The JSON Schema of scenario files, from the types that parse them (`halab schema scenario`).
pub fn json_schema() -> schemars::schema::RootSchema {
    schemars::schema_for!(RawScenario)
}

/// Reads and validates a scenario file against the lab.
pub fn load(path: &Path, lab: &Lab) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("error: failed to read {}: {e}", path.display()))?;
    parse(path, &text, lab).map_err(|d| d.render(path, &text))
}

pub fn parse(path: &Path, text: &str, lab: &Lab) -> Result<Scenario, Diagnostics> {
    let loc = Locator::new(text);
    let raw: RawScenario = match serde_saphyr::from_str(text) {
        Ok(r) => r,
        Err(e) => return Err(crate::lab::serde_error_diagnose(&e, text, &loc)),
    };
    let mut cx = Cx {
        loc: &loc,
        lab,
        diags: Diagnostics::default(),
    };
    let mut steps = Vec::new();
    if raw.steps.is_empty() {
        cx.bad(
            "steps",
            "the scenario has no steps",
            "add steps such as `- vip: {holder: lb1}`",
        );
    }
    for (i, s) in raw.steps.iter().enumerate() {
        if let Some(step) = step(&mut cx, &format!("steps[{i}]"), s) {
            steps.push(step);
        }
    }
    if !cx.diags.is_empty() {
        return Err(cx.diags);
    }
    let name = raw.name.unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "scenario".into())
    });
    Ok(Scenario {
        name,
        description: raw.description,
        steps,
    })
}

fn step(cx: &mut Cx<'_>, path: &str, s: &RawStep) -> Option<Step> {
    Some(match s {
        RawStep::Start(v) => services::svc(cx, &format!("{path}.start"), SvcAction::Start, v),
        RawStep::Stop(v) => services::svc(cx, &format!("{path}.stop"), SvcAction::Stop, v),
        RawStep::Kill(v) => services::svc(cx, &format!("{path}.kill"), SvcAction::Kill, v),
        RawStep::Restart(v) => services::svc(cx, &format!("{path}.restart"), SvcAction::Restart, v),
        RawStep::Reload(v) => services::svc(cx, &format!("{path}.reload"), SvcAction::Reload, v),
        RawStep::Freeze(v) => services::svc(cx, &format!("{path}.freeze"), SvcAction::Freeze, v),
        RawStep::Thaw(v) => services::svc(cx, &format!("{path}.thaw"), SvcAction::Thaw, v),
        RawStep::LinkDown(l) => faults::link(cx, path, "link_down", l),
        RawStep::LinkUp(l) => faults::link(cx, path, "link_up", l),
        RawStep::Partition(p) => faults::partition(cx, path, p),
        RawStep::Heal(h) => faults::heal(cx, path, h),
        RawStep::Loss(l) => faults::loss(cx, path, l),
        RawStep::Wait(d) => Step::Wait(cx.duration(&format!("{path}.wait"), Some(d))?),
        RawStep::Vip(v) => vip::vip(cx, path, v),
        RawStep::Distribution(d) => http::distribution(cx, path, d),
        RawStep::Http(h) => http::http(cx, path, h),
        RawStep::Stats(st) => lb_state::stats(cx, path, st),
        RawStep::State(st) => lb_state::state(cx, path, st),
        RawStep::Outage(o) => vip::outage(cx, path, o),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::scenario::bound::Bound;

    fn seed000() -> Lab {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000/lab.yaml");
        crate::lab::load(&p).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn vip_holders_request_headers_status_and_sticky_parse() {
        // Input: a split-brain vip step, a distribution with a cookie, a status and sticky order.
        // Output: the steps with those fields.
        let text = "steps:\n  - vip: { holders: [loadbalance2, loadbalance1] }\n  - vip: { holder: none }\n  - distribution: { path: /api, status: 404, order: sticky, request_headers: { Cookie: SERVERID=A } }\n  - http: { request_headers: { Cookie: SERVERID=B }, header: { Set-Cookie: \"SERVERID=*\" } }\n";
        let s = parse(Path::new("t.yaml"), text, &seed000())
            .unwrap_or_else(|d| panic!("{}", d.render(Path::new("t.yaml"), text)));
        assert!(
            matches!(&s.steps[0], Step::Vip { holders, .. } if holders == &["loadbalance2", "loadbalance1"])
        );
        assert!(matches!(&s.steps[1], Step::Vip { holders, .. } if holders.is_empty()));
        let Step::Distribution {
            status,
            order,
            request_headers,
            path,
            ..
        } = &s.steps[2]
        else {
            panic!("not a distribution")
        };
        assert_eq!(
            (*status, *order, path.as_str()),
            (Some(404), Order::Sticky, "/api")
        );
        assert_eq!(
            request_headers,
            &[("Cookie".to_string(), "SERVERID=A".to_string())]
        );
        assert!(
            matches!(&s.steps[3], Step::Http { request_headers, .. } if request_headers.len() == 1)
        );
    }

    #[test]
    fn a_vip_step_names_one_of_holder_and_holders_and_headers_are_one_line() {
        // Input: both holder and holders; a header name with a space. Output: two diagnostics.
        let text = "steps:\n  - vip: { holder: loadbalance1, holders: [loadbalance2] }\n  - http: { request_headers: { \"Bad Name\": x } }\n";
        let Err(d) = parse(Path::new("t.yaml"), text, &seed000()) else {
            panic!("accepted an invalid scenario")
        };
        let out = d.render(Path::new("t.yaml"), text);
        assert!(
            out.contains("exactly one of `holder` and `holders`"),
            "{out}"
        );
        assert!(out.contains("is not a header line"), "{out}");
    }

    #[test]
    fn bounds_are_one_duration_or_one_per_engine() {
        // Input: max_gap as one duration and per engine, arp_grace per engine. Output: the
        // bounds; the halabd one applies once any LB runs halabd.
        let text = "steps:\n  - heal: { arp_grace: { keepalived: 65s, halabd: 1s } }\n  - outage: { max_gap: 2s }\n  - outage: { max_gap: { keepalived: 65s, halabd: 1500ms } }\n";
        let mut lab = seed000();
        let s = parse(Path::new("t.yaml"), text, &lab)
            .unwrap_or_else(|d| panic!("{}", d.render(Path::new("t.yaml"), text)));
        let secs = Duration::from_secs;
        let Step::Heal {
            arp_grace: Some(grace),
        } = s.steps[0]
        else {
            panic!("not a heal with a grace")
        };
        assert_eq!(
            grace,
            Bound {
                keepalived: secs(65),
                halabd: secs(1)
            }
        );
        let Step::Outage {
            max_gap: Some(one), ..
        } = s.steps[1]
        else {
            panic!("not an outage")
        };
        assert_eq!(one, Bound::all(secs(2)));
        let Step::Outage {
            max_gap: Some(per), ..
        } = s.steps[2]
        else {
            panic!("not an outage")
        };
        assert_eq!(per.for_lab(&lab), secs(65), "every LB runs keepalived");
        let first = lab.lbs().next().map(|n| n.name.clone()).expect("an LB");
        for node in &mut lab.nodes {
            if node.name == first {
                node.engine = Some(crate::lab::model::Engine::Halabd);
            }
        }
        assert_eq!(per.for_lab(&lab), Duration::from_millis(1_500), "mixed");
    }

    #[test]
    fn a_per_engine_bound_needs_both_engines_and_durations() {
        // Input: a per-engine bound without halabd, one with a bad duration, one with an
        // unknown engine. Output: an error for each, naming the field.
        let text = "steps:\n  - outage: { max_gap: { keepalived: 65s } }\n";
        let Err(d) = parse(Path::new("t.yaml"), text, &seed000()) else {
            panic!("accepted a bound without halabd")
        };
        let out = d.render(Path::new("t.yaml"), text);
        assert!(out.contains("halabd"), "{out}");
        let text = "steps:\n  - outage: { max_gap: { keepalived: 65s, halabd: soon } }\n";
        let Err(d) = parse(Path::new("t.yaml"), text, &seed000()) else {
            panic!("accepted a bad duration")
        };
        let out = d.render(Path::new("t.yaml"), text);
        assert!(out.contains("`soon` is not a duration"), "{out}");
        let text = "steps:\n  - outage: { max_gap: { keepalived: 65s, halabd: 1s, vrrpd: 2s } }\n";
        let Err(d) = parse(Path::new("t.yaml"), text, &seed000()) else {
            panic!("accepted an unknown engine")
        };
        let out = d.render(Path::new("t.yaml"), text);
        assert!(out.contains("vrrpd"), "{out}");
    }
}
