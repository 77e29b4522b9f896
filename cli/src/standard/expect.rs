//! What a lab's own configuration says will happen, computed from its timers, priorities and
//! track scripts as keepalived applies them (keepalived.conf(5), `vrrp_script`):
//! a script with `weight` > 0 adds it while it succeeds, < 0 subtracts it while it fails,
//! 0 puts the instance in FAULT while it fails. No machine is needed: this is arithmetic.

use std::net::IpAddr;

use halab_vrrp::time::skew_time_us;

use crate::lab::model::{Lab, TrackScript, VrrpInstance, VrrpMember};

/// A member's priority as keepalived computes it, with `failing` scripts failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub node: String,
    pub base: u8,
    pub priority: i32,
    /// A weight-0 script failed: the instance is in FAULT and holds no VIP.
    pub fault: bool,
    pub address: IpAddr,
}

/// The priority of `m` in `inst` with the scripts named in `failing` failed (the others pass).
pub fn effective(lab: &Lab, inst: &VrrpInstance, m: &VrrpMember, failing: &[&str]) -> Effective {
    let mut p = i32::from(m.priority);
    let mut fault = false;
    // keepalived leaves the address owner (255) at 255 whatever its scripts say.
    if m.priority != 255 {
        for s in inst.track_scripts.iter().filter_map(|n| lab.script(n)) {
            let fails = failing.contains(&s.name.as_str()) || never_succeeds(lab, s).is_some();
            match (s.weight, fails) {
                (0, true) => fault = true,
                (w, false) if w > 0 => p += w,
                (w, true) if w < 0 => p += w,
                _ => {}
            }
        }
        p = p.clamp(1, 254);
    }
    Effective {
        node: m.node.clone(),
        base: m.priority,
        priority: p,
        fault,
        address: m.address,
    }
}

/// keepalived's election between two masters: the higher priority, then the higher address.
pub fn wins(a: &Effective, b: &Effective) -> bool {
    !a.fault && (b.fault || (a.priority, a.address) > (b.priority, b.address))
}

/// The members ordered as the election ranks them with nothing failed: the master first.
pub fn ranked(lab: &Lab, inst: &VrrpInstance) -> Vec<Effective> {
    let mut all: Vec<Effective> = inst
        .members
        .iter()
        .map(|m| effective(lab, inst, m, &[]))
        .collect();
    all.sort_by_key(|e| std::cmp::Reverse((e.priority, e.address)));
    all
}

/// Timers of one instance, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Timers {
    pub advert_ms: u64,
    /// The backup's skew time: how long it waits after a priority-0 advert.
    pub skew_ms: u64,
    /// 3 x advert_int + skew: how long a backup waits for a silent master.
    pub master_down_ms: u64,
}

pub fn timers(inst: &VrrpInstance, backup_priority: u8) -> Timers {
    let cs = u32::from(inst.advert_int_cs);
    let skew_ms = skew_time_us(inst.version, backup_priority, cs).div_ceil(1000);
    Timers {
        advert_ms: u64::from(cs) * 10,
        skew_ms,
        master_down_ms: 3 * u64::from(cs) * 10 + skew_ms,
    }
}

/// How long keepalived takes to call a script failed: `fall` runs, `interval` apart.
pub fn detect_ms(s: &TrackScript) -> u64 {
    // keepalived's `fall` defaults to 1; the model carries what the lab says.
    (s.interval * f64::from(s.fall.max(1)) * 1000.0).ceil() as u64
}

/// The service a track script watches, read from its command (and its file's body when the
/// lab has it): haproxy, nginx, or what listens on the port it probes. None: cannot tell.
pub fn watched_service(lab: &Lab, s: &TrackScript) -> Option<&'static str> {
    let t = script_text(lab, s).to_ascii_lowercase();
    if t.contains("haproxy") {
        return Some("haproxy");
    }
    if t.contains("nginx") {
        return Some("nginx");
    }
    // A port probe (`</dev/tcp/127.0.0.1/80`, `curl http://localhost:80`): haproxy when a
    // frontend binds it on the LB, nginx when the LB serves it.
    let port = probed_port(&t)?;
    let haproxy_binds = lab
        .haproxy
        .proxies
        .iter()
        .any(|p| p.binds.iter().any(|b| b.port == port));
    if haproxy_binds {
        return Some("haproxy");
    }
    lab.lbs()
        .any(|n| n.web.as_ref().is_some_and(|w| w.port == port))
        .then_some("nginx")
}

/// The script restarts the service it watches (seed 002's checkHaproxy.sh runs `haproxy -f`
/// when none runs; others `systemctl start|restart X`, `service X start`).
pub fn restarts(lab: &Lab, s: &TrackScript, service: &str) -> bool {
    let t = script_text(lab, s).to_ascii_lowercase();
    t.lines().any(|l| {
        let l = l.split('#').next().unwrap_or("");
        l.contains(service)
            && (l.contains("restart")
                || l.contains(" start")
                || l.contains(&format!("/{service} -f"))
                || l.trim_start().starts_with(&format!("{service} -f")))
    })
}

/// Why the script can never succeed on the LBs, if it cannot: it probes a loopback port
/// (`</dev/tcp/127.0.0.1/80`) where nothing listens, haproxy binding that port only on other
/// addresses (seed 004's `bind 192.168.64.200:80`). keepalived runs a `script "..."` without a
/// shell, so a `|| pidof haproxy` after it is no fallback: `||` is an argument.
pub fn never_succeeds(lab: &Lab, s: &TrackScript) -> Option<String> {
    let t = script_text(lab, s).to_ascii_lowercase();
    let i = t.find("/dev/tcp/")?;
    let rest = &t[i + "/dev/tcp/".len()..];
    let host = rest.split('/').next()?;
    if !(host == "127.0.0.1" || host == "localhost") {
        return None;
    }
    let port = probed_port(&t)?;
    let binds: Vec<(Option<IpAddr>, String)> = binds(lab)
        .into_iter()
        .filter(|(_, p, _)| *p == port)
        .map(|(a, p, at)| {
            let shown = a.map_or_else(|| format!("*:{p}"), |a| format!("{a}:{p}"));
            (a, format!("{shown}{at}"))
        })
        .collect();
    let loopback_served = binds
        .iter()
        .any(|(a, _)| a.is_none_or(|a| a.is_loopback() || a.is_unspecified()))
        || lab
            .lbs()
            .any(|n| n.web.as_ref().is_some_and(|w| w.port == port));
    if loopback_served || binds.is_empty() {
        return None;
    }
    let binds: Vec<String> = binds.into_iter().map(|(_, s)| s).collect();
    let shell = if s.file.is_none()
        && ["||", "&&", "|"]
            .iter()
            .any(|op| s.script.split_whitespace().any(|w| w == *op))
    {
        " keepalived runs the script without a shell, so the `||` after the probe is only an argument, never a fallback."
    } else {
        ""
    };
    Some(format!(
        "it probes 127.0.0.1:{port}, where nothing listens: haproxy binds only {}.{shell}",
        binds.join(", ")
    ))
}

/// haproxy's binds on the LBs: (address, None for `*`; port; where, as " (haproxy.cfg:N)"),
/// read from an LB's own haproxy.cfg when it has one (import keeps only the port in the lab's
/// haproxy section), else from the lab's.
fn binds(lab: &Lab) -> Vec<(Option<IpAddr>, u16, String)> {
    let own = lab
        .lbs()
        .find_map(|n| n.own_file("/etc/haproxy/haproxy.cfg"));
    if let Some(f) = own {
        let (sections, _) = crate::import::haproxy_cfg::read(&String::from_utf8_lossy(&f.bytes));
        return sections
            .iter()
            .flat_map(|s| &s.binds)
            .map(|(a, p, line)| (a.map(IpAddr::from), *p, format!(" (haproxy.cfg:{line})")))
            .collect();
    }
    lab.haproxy
        .proxies
        .iter()
        .flat_map(|p| &p.binds)
        .map(|b| (b.address, b.port, String::new()))
        .collect()
}

/// The line of the script that stops the VRRP daemon outright (`systemctl stop keepalived`,
/// `service keepalived stop`, `/etc/init.d/keepalived stop`, `killall keepalived`), if any.
pub fn stops_vrrp(lab: &Lab, s: &TrackScript) -> Option<String> {
    let t = script_text(lab, s);
    t.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("keepalived")
                && (l.contains(" stop")
                    || l.starts_with("killall")
                    || l.starts_with("pkill")
                    || l.starts_with("kill "))
        })
        .map(str::to_string)
}

/// The script's command, and its body where the lab has it (`file:`, or an LB's own file).
fn script_text(lab: &Lab, s: &TrackScript) -> String {
    let mut text = s.script.clone();
    if let Some(f) = &s.file {
        text.push('\n');
        text.push_str(&f.content);
    }
    // A script given among the LBs' own files (`files:`).
    let program = s.script.split_whitespace().next().unwrap_or("");
    for n in lab.lbs() {
        if let Some(f) = n.own_file(program) {
            text.push('\n');
            text.push_str(&String::from_utf8_lossy(&f.bytes));
            break;
        }
    }
    text
}

fn probed_port(t: &str) -> Option<u16> {
    if let Some(i) = t.find("/dev/tcp/") {
        let rest = &t[i + "/dev/tcp/".len()..];
        let port = rest.split('/').nth(1)?;
        let digits: String = port.chars().take_while(char::is_ascii_digit).collect();
        return digits.parse().ok();
    }
    if t.contains("curl") || t.contains("wget") {
        let url = t.split_whitespace().find(|w| w.contains("://"))?;
        let host = url.split("://").nth(1)?.split('/').next()?;
        return match host.rsplit_once(':') {
            Some((_, p)) => p.parse().ok(),
            None => Some(80),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_probed_by_common_scripts() {
        assert_eq!(probed_port("</dev/tcp/127.0.0.1/80"), Some(80));
        assert_eq!(
            probed_port("/usr/bin/timeout 2 bash -c '</dev/tcp/127.0.0.1/8080' || x"),
            Some(8080)
        );
        assert_eq!(probed_port("curl -sf http://localhost:81/health"), Some(81));
        assert_eq!(probed_port("curl -sf http://localhost/"), Some(80));
        assert_eq!(probed_port("killall -0 x"), None);
    }
}
