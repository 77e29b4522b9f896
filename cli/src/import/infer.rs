//! The hosts' configs -> the lab file: networks from VIP prefixes and server addresses, LB
//! nodes named after hosts (their interface names from keepalived.conf), one web node per
//! haproxy server, the `vrrp` and `scripts` sections from keepalived.conf, `haproxy` from
//! haproxy.cfg, every file attached with `files:`. What is guessed is said at the top.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use halab_kaconf::{Config, InstanceConf};

use super::Problem;
use super::haproxy_cfg::{self, Section};
use super::hosts::{Host, HostFile};

const KA: &str = "/etc/keepalived/keepalived.conf";
const HA: &str = "/etc/haproxy/haproxy.cfg";

struct Lb<'a> {
    host: &'a Host,
    file: &'a HostFile,
    config: Config,
}

struct Net {
    name: String,
    base: Ipv4Addr,
    prefix: u8,
}

impl Net {
    fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        };
        u32::from(ip) & mask == u32::from(self.base) & mask
    }
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

fn line_of(text: &str, words: &[&str]) -> usize {
    text.lines()
        .position(|l| {
            let toks: Vec<&str> = l
                .split(['#', '!'])
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            toks.windows(words.len()).any(|w| w == words)
        })
        .map_or(0, |i| i + 1)
}

fn secs(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        format!("{}", ms as f64 / 1000.0)
    }
}

pub fn lab(name: &str, hosts: &[Host], out_dir: &Path, problems: &mut Vec<Problem>) -> String {
    let mut notes: Vec<String> = Vec::new();
    // keepalived.conf of each LB.
    let mut lbs: Vec<Lb<'_>> = Vec::new();
    for h in hosts {
        let Some(f) = h.file(KA) else { continue };
        match halab_kaconf::parse_str(&f.source, &f.text) {
            Ok(p) => lbs.push(Lb {
                host: h,
                file: f,
                config: p.config,
            }),
            Err(e) => {
                for d in e.0 {
                    problems.push(Problem::error(&d.file, d.line, d.message, Some("halab reads keepalived.conf with halabd's parser; fix the line or leave the host out".to_string())));
                }
            }
        }
    }
    if lbs.is_empty() && !problems.iter().any(|p| p.error) {
        let at = hosts.first().map_or(Path::new("."), |h| h.dir.as_path());
        problems.push(Problem::error(
            at,
            0,
            "no host has a keepalived.conf: there is no load balancer to test",
            Some("give each LB's directory its keepalived.conf".to_string()),
        ));
    }
    if lbs.len() == 1 {
        problems.push(Problem::warning(
            &lbs[0].file.source,
            0,
            "only one LB: nothing to fail over to",
            Some("add the other LB's directory".to_string()),
        ));
    }
    // Instances grouped by their first VIP.
    let mut groups: BTreeMap<Ipv4Addr, Vec<(usize, &InstanceConf)>> = BTreeMap::new();
    for (i, lb) in lbs.iter().enumerate() {
        for inst in &lb.config.instances {
            match inst.vips.first().map(|v| v.vip.address) {
                Some(IpAddr::V4(a)) => groups.entry(a).or_default().push((i, inst)),
                Some(IpAddr::V6(a)) => problems.push(Problem::warning(
                    &lb.file.source,
                    line_of(&lb.file.text, &["vrrp_instance", &inst.name]),
                    format!(
                        "vrrp_instance {} is IPv6 ({a}): left out, import reads IPv4 instances",
                        inst.name
                    ),
                    None,
                )),
                None => problems.push(Problem::warning(
                    &lb.file.source,
                    line_of(&lb.file.text, &["vrrp_instance", &inst.name]),
                    format!(
                        "vrrp_instance {} has no virtual_ipaddress: left out",
                        inst.name
                    ),
                    None,
                )),
            }
        }
    }
    for (vip, members) in &groups {
        let (i0, first) = members[0];
        for (i, inst) in &members[1..] {
            let f = &lbs[*i].file;
            if inst.vrid != first.vrid {
                problems.push(Problem::error(
                    &f.source,
                    line_of(&f.text, &["virtual_router_id", &inst.vrid.to_string()]),
                    format!(
                        "VIP {vip} has virtual_router_id {} here but {} in {}:{}",
                        inst.vrid,
                        first.vrid,
                        lbs[i0].file.source.display(),
                        line_of(
                            &lbs[i0].file.text,
                            &["virtual_router_id", &first.vrid.to_string()]
                        )
                    ),
                    Some(
                        "the LBs sharing a VIP must use one VRID, else both become MASTER"
                            .to_string(),
                    ),
                ));
            }
            if inst.auth != first.auth {
                problems.push(Problem::warning(&f.source, line_of(&f.text, &["auth_pass"]), format!("VIP {vip}: authentication differs from {}'s: the LBs will not accept each other's adverts (split brain)", lbs[i0].host.name), None));
            }
            if inst.advert_interval_cs != first.advert_interval_cs {
                problems.push(Problem::warning(
                    &f.source,
                    line_of(&f.text, &["advert_int"]),
                    format!("VIP {vip}: advert_int differs from {}'s", lbs[i0].host.name),
                    None,
                ));
            }
            if inst.priority == first.priority {
                problems.push(Problem::warning(
                    &f.source,
                    line_of(&f.text, &["priority", &inst.priority.to_string()]),
                    format!(
                        "VIP {vip}: priority {} is also {}'s: the higher address wins the election",
                        inst.priority, lbs[i0].host.name
                    ),
                    None,
                ));
            }
        }
    }
    // Networks: each VIP's (its prefix, else /24), then server addresses' /24.
    let mut nets: Vec<Net> = Vec::new();
    let net_for = |ip: Ipv4Addr,
                   prefix: u8,
                   nets: &mut Vec<Net>,
                   notes: &mut Vec<String>,
                   why: &str|
     -> usize {
        if let Some(i) = nets.iter().position(|n| n.contains(ip)) {
            return i;
        }
        let prefix = if (8..=30).contains(&prefix) {
            prefix
        } else {
            24
        };
        let mask = u32::MAX << (32 - u32::from(prefix));
        let base = Ipv4Addr::from(u32::from(ip) & mask);
        let name = format!("net{}", nets.len());
        notes.push(format!("network {name} {base}/{prefix}: {why}"));
        nets.push(Net { name, base, prefix });
        nets.len() - 1
    };
    for (vip, members) in &groups {
        let prefix = members[0].1.vips[0].vip.prefix_len;
        let why = if (8..=30).contains(&prefix) {
            format!("VIP {vip}/{prefix}")
        } else {
            format!("the /24 around VIP {vip} (the VIP has no prefix: check it)")
        };
        net_for(*vip, prefix, &mut nets, &mut notes, &why);
    }
    // haproxy.cfg: the first LB's; the others compared.
    let mut sections: Vec<Section> = Vec::new();
    let mut ha_file: Option<&HostFile> = None;
    for lb in &lbs {
        let Some(f) = lb.host.file(HA) else {
            problems.push(Problem::warning(
                &lb.file.source,
                0,
                format!(
                    "{} has no haproxy.cfg: halab renders its own there",
                    lb.host.name
                ),
                None,
            ));
            continue;
        };
        match ha_file {
            None => {
                let (s, ps) = haproxy_cfg::read(&f.text);
                for (line, m) in ps {
                    problems.push(Problem::warning(
                        &f.source,
                        line,
                        m,
                        Some("the line is left to haproxy -c".to_string()),
                    ));
                }
                sections = s;
                ha_file = Some(f);
            }
            Some(first) if first.text != f.text => problems.push(Problem::warning(
                &f.source,
                0,
                format!(
                    "differs from {}: the lab's haproxy section follows the first",
                    first.source.display()
                ),
                None,
            )),
            _ => {}
        }
    }
    // Web nodes: one per server address.
    let mut webs: BTreeMap<Ipv4Addr, (String, u16)> = BTreeMap::new();
    if let Some(f) = ha_file {
        // The default backend of the first frontend first: a web node serving several ports
        // serves the one clients reach through the VIP.
        let default = sections
            .iter()
            .find(|s| s.kind != "backend" && !s.stats)
            .and_then(|s| s.default_backend.as_deref());
        let mut ordered: Vec<&Section> = sections.iter().collect();
        ordered.sort_by_key(|s| Some(s.name.as_str()) != default);
        for s in ordered.iter().flat_map(|s| &s.servers) {
            let Ok(ip) = s.host.parse::<Ipv4Addr>() else {
                problems.push(Problem::error(
                    &f.source,
                    s.line,
                    format!(
                        "server {} address `{}` is a name: halab cannot place it in a network",
                        s.name, s.host
                    ),
                    Some("write the server's IPv4 address".to_string()),
                ));
                continue;
            };
            if ip.is_loopback() || ip.is_unspecified() {
                problems.push(Problem::warning(
                    &f.source,
                    s.line,
                    format!(
                        "server {} at {ip} is on the LB itself: no web node for it",
                        s.name
                    ),
                    None,
                ));
                continue;
            }
            if groups.contains_key(&ip) {
                problems.push(Problem::error(
                    &f.source,
                    s.line,
                    format!("server {} address {ip} is a VIP", s.name),
                    Some("a server is a backend's own address".to_string()),
                ));
                continue;
            }
            net_for(
                ip,
                24,
                &mut nets,
                &mut notes,
                &format!("the /24 around server {} {ip}", s.name),
            );
            // A host directory named after the server (`ms1.srv1` as `ms1-srv1`) is its node.
            let node = hosts
                .iter()
                .find(|h| h.name == s.name || h.name == sanitize(&s.name))
                .map_or_else(|| sanitize(&s.name), |h| h.name.clone());
            let port = s.port.unwrap_or(80);
            let (web, served) = webs.entry(ip).or_insert((node, port)).clone();
            let own_nginx = hosts
                .iter()
                .any(|h| h.name == web && h.file("/etc/nginx/nginx.conf").is_some());
            if served != port && !own_nginx {
                problems.push(Problem::warning(
                    &f.source,
                    s.line,
                    format!("server {} is {ip}:{port}, but web node {web} at {ip} serves port {served} only: this server will be down in the lab", s.name),
                    Some(format!("give {web} its own nginx.conf listening on every port (a directory {web}/ with nginx.conf)")),
                ));
            }
        }
    }
    // Addresses: taken ones, then halab's picks for each LB on each network.
    let mut used: BTreeSet<Ipv4Addr> = groups.keys().copied().chain(webs.keys().copied()).collect();
    let pick = |net: &Net, used: &mut BTreeSet<Ipv4Addr>| -> Option<Ipv4Addr> {
        let start = u32::from(net.base) + 2;
        let end = u32::from(net.base) | !(u32::MAX << (32 - u32::from(net.prefix)));
        let ip = (start..end)
            .map(Ipv4Addr::from)
            .find(|ip| !used.contains(ip))?;
        used.insert(ip);
        Some(ip)
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Imported by `halab import` from {}.",
        hosts
            .iter()
            .map(|h| h.dir.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(out, "name: {name}");
    out.push_str("networks:\n");
    for n in &nets {
        let _ = writeln!(
            out,
            "  - {{ name: {}, cidr: {}/{} }}",
            n.name, n.base, n.prefix
        );
    }
    out.push_str("nodes:\n");
    let web_names: BTreeSet<&str> = webs.values().map(|(n, _)| n.as_str()).collect();
    for lb in &lbs {
        let _ = writeln!(out, "  - name: {}\n    role: lb", lb.host.name);
        if let Some(r) = &lb.config.router_id {
            let _ = writeln!(out, "    router_id: {}", q(r));
        }
        out.push_str("    addresses:\n");
        let mut on: Vec<(usize, String)> = Vec::new();
        for inst in &lb.config.instances {
            if let Some(v) = inst.vips.first()
                && let IpAddr::V4(a) = v.vip.address
                && let Some(i) = nets.iter().position(|n| n.contains(a))
                && !on.iter().any(|(j, _)| *j == i)
            {
                on.push((i, inst.interface.clone()));
            }
        }
        for (i, net) in nets.iter().enumerate() {
            if !on.iter().any(|(j, _)| *j == i) && webs.keys().any(|w| net.contains(*w)) {
                on.push((i, format!("eth{}", on.len())));
            }
        }
        for (i, iface) in &on {
            let n = &nets[*i];
            let given = lb
                .config
                .instances
                .iter()
                .filter_map(|x| match x.unicast_src_ip {
                    Some(IpAddr::V4(a)) => Some(a),
                    _ => None,
                })
                .find(|ip| n.contains(*ip) && !used.contains(ip));
            let ip = match given {
                Some(ip) => {
                    used.insert(ip);
                    Some(ip)
                }
                None => {
                    let ip = pick(n, &mut used);
                    if let Some(ip) = ip {
                        notes.push(format!(
                            "{}'s address on {} ({ip}) is halab's pick: the configs do not say it",
                            lb.host.name, n.name
                        ));
                    }
                    ip
                }
            };
            if let Some(ip) = ip {
                let _ = writeln!(
                    out,
                    "      - {{ network: {}, address: {ip}, interface: {} }}",
                    n.name,
                    q(iface)
                );
            }
        }
        files(&mut out, lb.host, out_dir);
    }
    for (ip, (node, port)) in &webs {
        let _ = writeln!(out, "  - name: {node}\n    role: web");
        match nets.iter().position(|n| n.contains(*ip)) {
            Some(i) if i > 0 => {
                let _ = writeln!(
                    out,
                    "    addresses: [{{ network: {}, address: {ip} }}]",
                    nets[i].name
                );
            }
            _ => {
                let _ = writeln!(out, "    address: {ip}");
            }
        }
        let _ = writeln!(out, "    web: {{ port: {port} }}");
        if let Some(h) = hosts.iter().find(|h| &h.name == node) {
            files(&mut out, h, out_dir);
        }
    }
    for h in hosts {
        if h.file(KA).is_none() && !web_names.contains(h.name.as_str()) {
            problems.push(Problem::warning(
                &h.dir,
                0,
                format!(
                    "host `{}` has no keepalived.conf and is no haproxy server: left out",
                    h.name
                ),
                Some("name its directory after the haproxy `server` it is".to_string()),
            ));
        }
    }
    if sections
        .iter()
        .any(|s| s.binds.iter().any(|b| b.0.is_some()))
    {
        // haproxy binds the VIP on the backup too, where it is not (yet) an address.
        out.push_str("sysctl:\n  net.ipv4.ip_nonlocal_bind: 1\n");
        notes.push(
            "net.ipv4.ip_nonlocal_bind = 1 on the LBs: haproxy.cfg binds specific addresses"
                .to_string(),
        );
    }
    vrrp_and_scripts(&mut out, &lbs, &groups, &nets, problems, &mut notes);
    if let Some(f) = ha_file {
        haproxy(&mut out, &sections, &webs, f, &mut notes);
    }
    let mut head = String::new();
    for n in &notes {
        let _ = writeln!(head, "# inferred: {n}");
    }
    for p in problems.iter().filter(|p| !p.error) {
        for (i, l) in p.to_string().lines().enumerate() {
            let _ = writeln!(head, "#{} {l}", if i == 0 { "" } else { " " });
        }
    }
    format!("{head}{out}")
}

fn sanitize(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    t.trim_matches('-').to_string()
}

fn files(out: &mut String, h: &Host, out_dir: &Path) {
    if h.files.is_empty() {
        return;
    }
    out.push_str("    files:\n");
    for f in &h.files {
        let abs = f.source.canonicalize().unwrap_or_else(|_| f.source.clone());
        let base = out_dir
            .canonicalize()
            .unwrap_or_else(|_| out_dir.to_path_buf());
        let src = relative(&abs, &base);
        let _ = writeln!(
            out,
            "      - {{ path: {}, source: {}, mode: \"{:04o}\" }}",
            q(&f.path),
            q(&src.to_string_lossy()),
            f.mode
        );
    }
}

fn vrrp_and_scripts(
    out: &mut String,
    lbs: &[Lb<'_>],
    groups: &BTreeMap<Ipv4Addr, Vec<(usize, &InstanceConf)>>,
    nets: &[Net],
    problems: &mut Vec<Problem>,
    notes: &mut Vec<String>,
) {
    let mut scripts: BTreeMap<String, (String, u64, i32, u32, u32)> = BTreeMap::new();
    out.push_str("vrrp:\n");
    for (vip, members) in groups {
        let first = members[0].1;
        let net = nets
            .iter()
            .find(|n| n.contains(*vip))
            .map_or("net0", |n| n.name.as_str());
        let _ = writeln!(
            out,
            "  - name: {}\n    vrid: {}\n    network: {net}",
            q(&first.name),
            first.vrid
        );
        if first.version == halab_vrrp::Version::V3 {
            out.push_str("    version: 3\n");
        }
        let _ = writeln!(
            out,
            "    advert_int: {}",
            secs(u64::from(first.advert_interval_cs) * 10)
        );
        let prios: Vec<String> = members
            .iter()
            .map(|(i, inst)| format!("{}: {}", lbs[*i].host.name, inst.priority))
            .collect();
        let _ = writeln!(out, "    priorities: {{ {} }}", prios.join(", "));
        if !first.preempt {
            out.push_str("    preempt: false\n");
        }
        let vips: Vec<String> = first
            .vips
            .iter()
            .map(|v| {
                if v.vip.prefix_len == 32 {
                    v.vip.address.to_string()
                } else {
                    format!("{}/{}", v.vip.address, v.vip.prefix_len)
                }
            })
            .collect();
        let _ = writeln!(out, "    vips: [{}]", vips.join(", "));
        let tracked: Vec<String> = first.track_scripts.iter().map(|(n, _)| n.clone()).collect();
        if !tracked.is_empty() {
            let _ = writeln!(
                out,
                "    track_scripts: [{}]",
                tracked.iter().map(|t| q(t)).collect::<Vec<_>>().join(", ")
            );
        }
        if first.track_scripts.iter().any(|(_, w)| w.is_some()) {
            notes.push(format!(
                "{}: a track_script weight override is not carried into the lab's expectations",
                first.name
            ));
        }
        for (i, inst) in members {
            let lb = &lbs[*i];
            script_order(lb, inst, problems);
            for s in &lb.config.scripts {
                if !tracked.contains(&s.name) {
                    continue;
                }
                let entry = (s.command.clone(), s.interval_ms, s.weight, s.rise, s.fall);
                if let Some(prev) = scripts.get(&s.name) {
                    if *prev != entry {
                        problems.push(Problem::warning(&lb.file.source, line_of(&lb.file.text, &["vrrp_script", &s.name]), format!("vrrp_script {} differs between the LBs: the lab's expectations use the first", s.name), None));
                    }
                } else {
                    scripts.insert(s.name.clone(), entry);
                }
                // The program must exist on the node: among its files, or on this machine.
                if let Some(prog) = s.argv.first().filter(|p| p.starts_with('/'))
                    && lb.host.file(prog).is_none()
                    && !Path::new(prog).exists()
                {
                    problems.push(Problem::error(&lb.file.source, line_of(&lb.file.text, &["script"]).max(line_of(&lb.file.text, &["vrrp_script", &s.name])), format!("vrrp_script {} runs {prog}, which is not among {}'s files", s.name, lb.host.name), Some(format!("copy it into {}/ (a .sh file goes to /etc/keepalived/) or {}/etc/... with its path", lb.host.dir.display(), lb.host.dir.display()))));
                }
            }
        }
    }
    if !scripts.is_empty() {
        out.push_str("scripts:\n");
        for (name, (cmd, interval, weight, rise, fall)) in scripts {
            let _ = writeln!(
                out,
                "  {}:\n    script: {}\n    interval: {}\n    weight: {weight}\n    rise: {rise}\n    fall: {fall}",
                q(&name),
                q(&cmd),
                secs(interval)
            );
        }
    }
}

/// keepalived 2.2 resolves a `track_script` only against the `vrrp_script`s above it: one
/// defined further down is ignored ("track script X not found, ignoring...") and the config
/// test fails. halabd's parser does not mind the order, so import says it.
fn script_order(lb: &Lb<'_>, inst: &InstanceConf, problems: &mut Vec<Problem>) {
    let text = &lb.file.text;
    let at = line_of(text, &["vrrp_instance", &inst.name]);
    for (name, _) in &inst.track_scripts {
        let def = line_of(text, &["vrrp_script", name]);
        if def > at {
            problems.push(Problem::warning(
                &lb.file.source,
                def,
                format!(
                    "vrrp_script {name} is defined below vrrp_instance {} (line {at}), which tracks it: keepalived 2.2 ignores the track script (\"track script {name} not found, ignoring\") and its config test fails",
                    inst.name
                ),
                Some(format!("move vrrp_script {name} above vrrp_instance {}", inst.name)),
            ));
        }
    }
}

fn haproxy(
    out: &mut String,
    sections: &[Section],
    webs: &BTreeMap<Ipv4Addr, (String, u16)>,
    f: &HostFile,
    notes: &mut Vec<String>,
) {
    let backends: BTreeSet<&str> = sections
        .iter()
        .filter(|s| s.kind == "backend")
        .map(|s| s.name.as_str())
        .collect();
    let mut kinds: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in sections {
        let servers: Vec<String> = s
            .servers
            .iter()
            .filter_map(|x| {
                let ip: Ipv4Addr = x.host.parse().ok()?;
                let (node, _) = webs.get(&ip)?;
                Some(format!(
                    "{{ node: {node}, name: {}, check: {}{} }}",
                    q(&x.name),
                    x.check,
                    if x.backup { ", backup: true" } else { "" }
                ))
            })
            .collect();
        let kind = match s.kind.as_str() {
            "frontend" => "frontends",
            "backend" => "backends",
            _ => "listens",
        };
        if s.stats && servers.is_empty() && s.default_backend.is_none() {
            notes.push(format!("{} {} (stats page, {}:{}) is not in the lab's haproxy section; it is in the attached haproxy.cfg", s.kind, s.name, f.source.display(), s.line));
            continue;
        }
        if s.kind != "backend" && s.binds.is_empty() {
            continue;
        }
        let mut e = format!("    - name: {}\n", q(&s.name));
        if !s.binds.is_empty() {
            let b: Vec<String> = s
                .binds
                .iter()
                .map(|(_, p, _)| format!("\"*:{p}\""))
                .collect();
            let _ = writeln!(e, "      bind: [{}]", b.join(", "));
        }
        match &s.default_backend {
            Some(d) if backends.contains(d.as_str()) => {
                let _ = writeln!(e, "      default_backend: {}", q(d));
            }
            _ => {
                let _ = writeln!(e, "      servers: [{}]", servers.join(", "));
            }
        }
        kinds.entry(kind).or_default().push(e);
    }
    if kinds.is_empty() {
        return;
    }
    out.push_str("haproxy:\n");
    for (k, entries) in kinds {
        let _ = writeln!(out, "  {k}:");
        for e in entries {
            out.push_str(&e);
        }
    }
}

/// `path` relative to `base` (both absolute), with `..` where they part.
fn relative(path: &Path, base: &Path) -> std::path::PathBuf {
    let p: Vec<_> = path.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common <= 1 {
        return path.to_path_buf();
    }
    let mut out = std::path::PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    out
}
