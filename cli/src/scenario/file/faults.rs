//! Fault steps: `link_down`/`link_up`, `partition`, `heal`, `loss`.

use super::cx::Cx;
use super::raw::{RawHeal, RawLink, RawLoss, RawPartition};
use super::{Direction, Step};
use crate::diag::did_you_mean;
use crate::lab::model::Role;

/// `key` is `link_down` or `link_up`.
pub(super) fn link(cx: &mut Cx<'_>, path: &str, key: &str, l: &RawLink) -> Step {
    let node = cx.node(&format!("{path}.{key}.node"), &l.node, None);
    if let (Some(i), Some(n)) = (&l.interface, cx.lab.node(&l.node))
        && !n.interfaces.iter().any(|x| &x.name == i)
    {
        let names: Vec<&str> = n.interfaces.iter().map(|x| x.name.as_str()).collect();
        cx.bad(
            &format!("{path}.{key}.interface"),
            format!("node `{node}` has no interface `{i}`"),
            did_you_mean(i, &names),
        );
    }
    Step::Link {
        up: key == "link_up",
        node,
        interface: l.interface.clone(),
    }
}

pub(super) fn partition(cx: &mut Cx<'_>, path: &str, p: &RawPartition) -> Step {
    let a =
        p.a.iter()
            .enumerate()
            .map(|(j, n)| cx.node(&format!("{path}.partition.a[{j}]"), n, None))
            .collect();
    let b =
        p.b.iter()
            .enumerate()
            .map(|(j, n)| cx.node(&format!("{path}.partition.b[{j}]"), n, None))
            .collect();
    let direction = match p.direction.as_deref() {
        None | Some("both") => Direction::Both,
        Some("a_to_b") => Direction::AToB,
        Some("b_to_a") => Direction::BToA,
        Some(o) => {
            cx.bad(
                &format!("{path}.partition.direction"),
                format!("unknown direction `{o}`"),
                did_you_mean(o, &["both", "a_to_b", "b_to_a"]),
            );
            Direction::Both
        }
    };
    Step::Partition {
        a,
        b,
        direction,
        vrrp_only: p.vrrp_only.unwrap_or(false),
    }
}

pub(super) fn heal(cx: &mut Cx<'_>, path: &str, h: &RawHeal) -> Step {
    Step::Heal {
        arp_grace: cx.bound(&format!("{path}.heal.arp_grace"), h.arp_grace.as_ref()),
    }
}

pub(super) fn loss(cx: &mut Cx<'_>, path: &str, l: &RawLoss) -> Step {
    if l.percent > 100 {
        cx.bad(
            &format!("{path}.loss.percent"),
            format!("{}% is more than 100%", l.percent),
            "0 heals, 100 drops every VRRP packet",
        );
    }
    let nodes = l
        .nodes
        .iter()
        .enumerate()
        .map(|(j, n)| cx.node(&format!("{path}.loss.nodes[{j}]"), n, Some(Role::Lb)))
        .collect();
    Step::Loss {
        nodes,
        percent: l.percent,
    }
}
