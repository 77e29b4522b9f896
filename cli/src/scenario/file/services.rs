//! Service steps: start, stop, kill, restart, reload, freeze, thaw.

use super::cx::Cx;
use super::raw::RawSvc;
use super::step::SERVICES;
use super::{Step, SvcAction, SvcRef};
use crate::diag::did_you_mean;
use crate::lab::model::Role;

pub(super) fn svc(cx: &mut Cx<'_>, path: &str, action: SvcAction, v: &RawSvc) -> Step {
    let node = cx.node(&format!("{path}.node"), &v.node, None);
    let names: Vec<&String> = match (&v.service, v.services.is_empty()) {
        (Some(s), true) => vec![s],
        (None, false) => v.services.iter().collect(),
        _ => {
            cx.bad(
                path,
                "name exactly one of `service` and `services`",
                "e.g. `service: nginx` or `services: [vrrp, haproxy]`",
            );
            vec![]
        }
    };
    let mut out = Vec::new();
    for (j, s) in names.into_iter().enumerate() {
        let sp = if v.service.is_some() {
            format!("{path}.service")
        } else {
            format!("{path}.services[{j}]")
        };
        let svc = match s.as_str() {
            "nginx" => SvcRef::Nginx,
            "haproxy" => SvcRef::Haproxy,
            "vrrp" => SvcRef::Vrrp,
            "keepalived" => SvcRef::Keepalived,
            "halabd" => SvcRef::Halabd,
            o => {
                cx.bad(
                    &sp,
                    format!("unknown service `{o}`"),
                    did_you_mean(o, SERVICES),
                );
                continue;
            }
        };
        if let Some(n) = cx.lab.node(&node) {
            let runs = match svc {
                SvcRef::Nginx => n.web.is_some(),
                SvcRef::Haproxy | SvcRef::Vrrp | SvcRef::Keepalived | SvcRef::Halabd => {
                    n.role == Role::Lb
                }
            };
            if !runs {
                cx.bad(
                    &sp,
                    format!("node `{node}` does not run {s}"),
                    "nginx runs on web nodes; haproxy and VRRP (`vrrp`) on LB nodes",
                );
            }
        }
        out.push(svc);
    }
    Step::Service {
        action,
        node,
        services: out,
    }
}
