//! HTTP steps: `distribution` (which backends answer) and `http` (one answer).

use super::cx::Cx;
use super::raw::{RawDist, RawHttp};
use super::{Order, Step};
use crate::diag::did_you_mean;

pub(super) fn distribution(cx: &mut Cx<'_>, path: &str, d: &RawDist) -> Step {
    let p = format!("{path}.distribution");
    let order = match d.order.as_deref() {
        None | Some("any") => Order::Any,
        Some("roundrobin") => Order::RoundRobin,
        Some("sticky") => Order::Sticky,
        Some(o) => {
            cx.bad(
                &format!("{p}.order"),
                format!("unknown order `{o}`"),
                did_you_mean(o, &["any", "roundrobin", "sticky"]),
            );
            Order::Any
        }
    };
    let requests = d.requests.unwrap_or(10);
    if !(1..=10_000).contains(&requests) {
        cx.bad(
            &format!("{p}.requests"),
            format!("{requests} requests is outside 1..10000"),
            "a handful per backend is enough: 9 for 3 backends",
        );
    }
    Step::Distribution {
        requests,
        backends: d.backends.clone(),
        absent: d.absent.clone(),
        order,
        tolerance: d.tolerance,
        path: d.path.clone().unwrap_or_else(|| "/".into()),
        status: d.status,
        request_headers: cx.headers(&format!("{p}.request_headers"), d.request_headers.as_ref()),
        vip: cx.vip(&format!("{p}.vip"), d.vip.as_ref()),
        within: cx.duration(&format!("{p}.within"), d.within.as_ref()),
    }
}

pub(super) fn http(cx: &mut Cx<'_>, path: &str, h: &RawHttp) -> Step {
    let p = format!("{path}.http");
    Step::Http {
        path: h.path.clone().unwrap_or_else(|| "/".into()),
        status: h.status.unwrap_or(200),
        contains: h.contains.clone(),
        header: h.header.clone().unwrap_or_default().into_iter().collect(),
        request_headers: cx.headers(&format!("{p}.request_headers"), h.request_headers.as_ref()),
        vip: cx.vip(&format!("{p}.vip"), h.vip.as_ref()),
        within: cx.duration(&format!("{p}.within"), h.within.as_ref()),
    }
}
