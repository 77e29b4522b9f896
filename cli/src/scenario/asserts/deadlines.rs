//! The deadlines assertions default to, from the lab's timers.

use std::time::Duration;

use crate::lab::Lab;

/// VIP moves: two master-down intervals (detect, then take over), script detection, margin.
pub fn vip_deadline(lab: &Lab) -> Duration {
    let down = lab
        .vrrp
        .iter()
        .map(|v| v.master_down_ms())
        .max()
        .unwrap_or(4000);
    let script = lab
        .scripts
        .iter()
        .map(|s| {
            ((s.interval * f64::from(s.fall.max(s.rise)) + s.timeout.unwrap_or(s.interval))
                * 1000.0) as u64
        })
        .max()
        .unwrap_or(0);
    Duration::from_millis(2 * down + script + 3000)
}

/// haproxy health checks: a server goes DOWN after `fall` failed checks `inter` apart, and
/// UP after `rise` good ones.
pub fn health_deadline(lab: &Lab) -> Duration {
    let ms = |s: &str| -> u64 {
        let d = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let n: u64 = d.parse().unwrap_or(2000);
        match &s[d.len()..] {
            "s" => n * 1000,
            "m" => n * 60_000,
            "us" => n / 1000,
            _ => n,
        }
    };
    let worst = lab
        .haproxy
        .proxies
        .iter()
        .flat_map(|p| p.servers.iter().map(move |s| (p, s)))
        .map(|(p, s)| {
            let d = p.server_defaults.as_ref();
            let inter = s
                .inter
                .as_deref()
                .or(d.and_then(|d| d.inter.as_deref()))
                .map_or(2000, ms);
            let fall = u64::from(s.fall.or(d.and_then(|d| d.fall)).unwrap_or(3));
            let rise = u64::from(s.rise.or(d.and_then(|d| d.rise)).unwrap_or(2));
            inter * (fall.max(rise) + 1)
        })
        .max()
        .unwrap_or(8000);
    Duration::from_millis(worst + 3000)
}
