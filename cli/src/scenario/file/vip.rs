//! VIP steps: `vip` (who holds it) and `outage` (what the client saw).

use super::Step;
use super::cx::Cx;
use super::raw::{RawOutage, RawVip};
use crate::lab::model::Role;

pub(super) fn vip(cx: &mut Cx<'_>, path: &str, v: &RawVip) -> Step {
    let p = format!("{path}.vip");
    let holders = match (&v.holder, &v.holders) {
        (Some(h), None) if h == "none" => vec![],
        (Some(h), None) => vec![cx.node(&format!("{p}.holder"), h, Some(Role::Lb))],
        (None, Some(hs)) if !hs.is_empty() => hs
            .iter()
            .enumerate()
            .map(|(j, h)| cx.node(&format!("{p}.holders[{j}]"), h, Some(Role::Lb)))
            .collect(),
        _ => {
            cx.bad(
                &p,
                "name exactly one of `holder` and `holders`",
                "`holder: lb1`, `holder: none`, or `holders: [lb1, lb2]` for a split brain",
            );
            vec![]
        }
    };
    let throughout = v.throughout.unwrap_or(false);
    if throughout && v.vip.is_none() {
        cx.bad(
            &format!("{p}.throughout"),
            "`throughout` needs the VIP it is about",
            "add `vip: ADDRESS`: the VIP that must never have moved",
        );
    }
    Step::Vip {
        holders,
        vip: cx.vip(&format!("{p}.vip"), v.vip.as_ref()),
        within: cx.duration(&format!("{p}.within"), v.within.as_ref()),
        throughout,
    }
}

pub(super) fn outage(cx: &mut Cx<'_>, path: &str, o: &RawOutage) -> Step {
    Step::Outage {
        max_failed: o.max_failed,
        max_gap: cx.bound(&format!("{path}.outage.max_gap"), o.max_gap.as_ref()),
        down: o.down.unwrap_or(false),
        vip: cx.vip(&format!("{path}.outage.vip"), o.vip.as_ref()),
    }
}
