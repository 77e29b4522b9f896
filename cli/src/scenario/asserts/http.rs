//! `distribution` (which backends answer a batch of requests) and `http` (one answer), sent
//! from the client node through a VIP.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::{fail, last_probe_samples, poll};
use crate::observe;
use crate::scenario::ctx::Ctx;
use crate::scenario::file::{Order, Step};
use crate::scenario::result::Outcome;

fn target(cx: &Ctx<'_>, vip: Option<IpAddr>) -> Result<SocketAddr, String> {
    let vip = vip
        .or_else(|| observe::client_vips(cx.lab).first().copied())
        .ok_or("the client reaches no VIP")?;
    observe::http_target(cx.lab, vip).ok_or_else(|| format!("no frontend serves {vip}"))
}

/// One GET from the client node, with extra request headers.
fn client_get(
    cx: &Ctx<'_>,
    t: SocketAddr,
    path: &str,
    headers: &[(String, String)],
) -> Result<crate::probe::Reply, String> {
    cx.fleet
        .client_get(t, path, Duration::from_secs(2), headers)
}

pub(super) fn distribution(cx: &Ctx<'_>, step: &Step) -> Outcome {
    let Step::Distribution {
        requests,
        backends,
        absent,
        order,
        tolerance,
        path,
        status,
        request_headers,
        vip,
        within,
    } = step
    else {
        return Outcome::Skipped;
    };
    let t = match target(cx, *vip) {
        Ok(t) => t,
        Err(e) => return fail("a VIP to send requests to", e, vec![]),
    };
    let deadline = within.unwrap_or(Duration::ZERO);
    let mut last_seen = Vec::new();
    let r = poll(deadline, Duration::from_millis(200), || {
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..*requests {
            match client_get(cx, t, path, request_headers) {
                Ok(r) if status.map_or((200..400).contains(&r.status), |s| s == r.status) => {
                    seen.push(r.backend())
                }
                Ok(r) => seen.push(format!("HTTP {}", r.status)),
                Err(e) => seen.push(format!("error: {e}")),
            }
        }
        last_seen = seen.clone();
        judge(&seen, backends.as_deref(), absent, *order, *tolerance)
    });
    let summary = |seen: &[String]| {
        let mut c: BTreeMap<&str, usize> = BTreeMap::new();
        for s in seen {
            *c.entry(s).or_default() += 1;
        }
        c.iter()
            .map(|(k, v)| format!("{k} x{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match r {
        Ok(()) => Outcome::Passed {
            detail: Some(summary(&last_seen)),
        },
        Err(why) => fail(
            describe_want(backends.as_deref(), absent, *order),
            format!("{why}; answers: {}", summary(&last_seen)),
            last_seen.iter().map(|s| s.to_string()).collect(),
        ),
    }
}

fn describe_want(backends: Option<&[String]>, absent: &[String], order: Order) -> String {
    let mut s = backends.map_or("answers from the lab's backends".to_string(), |b| {
        format!("answers from exactly {}", b.join(", "))
    });
    if !absent.is_empty() {
        s.push_str(&format!(", never from {}", absent.join(", ")));
    }
    match order {
        Order::RoundRobin => s.push_str(", in a fixed rotation"),
        Order::Sticky => s.push_str(", all from one backend"),
        Order::Any => {}
    }
    s
}

/// Whether a batch of answers is what the step wants.
pub fn judge(
    seen: &[String],
    backends: Option<&[String]>,
    absent: &[String],
    order: Order,
    tolerance: Option<f64>,
) -> Result<(), String> {
    if let Some(bad) = seen
        .iter()
        .find(|s| s.starts_with("HTTP ") || s.starts_with("error: "))
    {
        return Err(format!("a request failed ({bad})"));
    }
    let set: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
    if let Some(a) = absent.iter().find(|a| set.contains(a.as_str())) {
        return Err(format!("{a} answered"));
    }
    if let Some(b) = backends {
        let want: BTreeSet<&str> = b.iter().map(String::as_str).collect();
        if want != set {
            return Err(format!(
                "answered: {}",
                set.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if order == Order::Sticky && set.len() > 1 {
        return Err(format!("{} backends answered, not one", set.len()));
    }
    if order == Order::RoundRobin {
        let k = set.len();
        if let Some(i) = (k..seen.len()).find(|&i| seen[i] != seen[i - k]) {
            return Err(format!(
                "not a rotation: answer {} was {}, {} answers before it was {}",
                i + 1,
                seen[i],
                k,
                seen[i - k]
            ));
        }
    }
    if let Some(tol) = tolerance {
        let even = seen.len() as f64 / set.len().max(1) as f64;
        for b in &set {
            let n = seen.iter().filter(|s| s == b).count() as f64;
            if (n - even).abs() > even * tol / 100.0 {
                return Err(format!(
                    "{b} answered {n} of {} times, more than {tol}% from an even {even:.1}",
                    seen.len()
                ));
            }
        }
    }
    Ok(())
}

/// A header value as a step wants it: exact, or a prefix when it ends in `*`.
fn header_matches(got: Option<&str>, want: &str) -> bool {
    match (got, want.strip_suffix('*')) {
        (Some(g), Some(prefix)) => g.starts_with(prefix),
        (Some(g), None) => g == want,
        (None, _) => false,
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn http(
    cx: &Ctx<'_>,
    path: &str,
    status: u16,
    contains: Option<&str>,
    header: &[(String, String)],
    request_headers: &[(String, String)],
    vip: Option<IpAddr>,
    deadline: Duration,
) -> Outcome {
    let t = match target(cx, vip) {
        Ok(t) => t,
        Err(e) => return fail("a VIP to send requests to", e, vec![]),
    };
    let r = poll(deadline, Duration::from_millis(100), || {
        let r = client_get(cx, t, path, request_headers)?;
        if r.status != status {
            return Err(format!("status {}", r.status));
        }
        if let Some(c) = contains
            && !r.body.contains(c)
        {
            return Err(format!(
                "body without {c:?}: {:?}",
                r.body.chars().take(200).collect::<String>()
            ));
        }
        for (k, v) in header {
            if !header_matches(r.header(k), v) {
                return Err(format!("header {k}: {:?}", r.header(k)));
            }
        }
        Ok(())
    });
    match r {
        Ok(()) => Outcome::Passed { detail: None },
        Err(seen) => fail(
            format!("GET http://{t}{path} -> {status}"),
            seen,
            last_probe_samples(cx, 5),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judge_checks_sets_absence_rotation_and_balance() {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let rr = v(&["a", "b", "c", "a", "b", "c"]);
        assert!(
            judge(
                &rr,
                Some(&v(&["a", "b", "c"])),
                &[],
                Order::RoundRobin,
                Some(10.0)
            )
            .is_ok()
        );
        assert!(
            judge(
                &v(&["a", "b", "a", "a"]),
                None,
                &[],
                Order::RoundRobin,
                None
            )
            .is_err()
        );
        assert!(judge(&rr, None, &v(&["b"]), Order::Any, None).is_err());
        assert!(judge(&rr, Some(&v(&["a", "b"])), &[], Order::Any, None).is_err());
        assert!(judge(&v(&["a", "a", "a", "b"]), None, &[], Order::Any, Some(20.0)).is_err());
        assert!(judge(&v(&["a", "HTTP 503"]), None, &[], Order::Any, None).is_err());
    }

    #[test]
    fn judge_sticky_wants_one_backend_and_headers_match_exactly_or_by_prefix() {
        // Input: all answers from one backend, then two. Output: sticky holds only for the first.
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(judge(&v(&["a", "a", "a"]), None, &[], Order::Sticky, None).is_ok());
        assert!(judge(&v(&["a", "b", "a"]), None, &[], Order::Sticky, None).is_err());
        assert!(header_matches(Some("SERVERID=A; path=/"), "SERVERID=*"));
        assert!(!header_matches(Some("OTHER=A"), "SERVERID=*"));
        assert!(header_matches(Some("web1"), "web1"));
        assert!(!header_matches(Some("web1 "), "web1"));
        assert!(!header_matches(None, "*"));
    }
}
