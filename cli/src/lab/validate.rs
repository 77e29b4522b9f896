//! Raw lab -> [`Lab`]: defaults, references, and every rule, all problems reported at once.
//!
//! Each check pushes a diagnostic with the field's YAML path and carries on with a
//! placeholder, so one run names every problem; [`validate`] returns the model only when
//! there were none (the checkpoint).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use halab_vrrp::{Version, advert_interval_cs};

use super::env::{Env, expand};
use super::locate::Locator;
use super::model::*;
use super::raw::*;
use crate::diag::{Diagnostics, did_you_mean};

pub mod files;
mod haproxy;
mod ipv6;
mod own_keepalived;
mod scripts;

pub(super) struct Ctx<'a> {
    loc: &'a Locator,
    env: &'a dyn Env,
    pub diags: Diagnostics,
}

impl Ctx<'_> {
    /// A problem with the value at `path`.
    fn bad(&mut self, path: &str, message: impl Into<String>, hint: impl Into<Option<String>>) {
        let pos = self.loc.value(path);
        self.diags.push(path, pos, message, hint.into());
    }

    /// A problem with the key at `path` (an unknown name, a duplicate).
    fn bad_key(&mut self, path: &str, message: impl Into<String>, hint: impl Into<Option<String>>) {
        let pos = self.loc.key(path);
        self.diags.push(path, pos, message, hint.into());
    }

    /// `${VAR}` / `${VAR:-default}` in a secret field; None (reported) when a variable is unset.
    fn secret(&mut self, path: &str, raw: &str) -> Option<Secret> {
        match expand(raw, self.env) {
            Ok(s) => Some(Secret::new(s)),
            Err(var) => {
                self.bad(
                    path,
                    format!("environment variable `{var}` is not set"),
                    Some(format!(
                        "export {var}=... before running halab, or write `${{{var}:-default}}`"
                    )),
                );
                None
            }
        }
    }
}

pub fn validate(
    raw: RawLab,
    file: &Path,
    loc: &Locator,
    env: &dyn Env,
) -> Result<Lab, Diagnostics> {
    let mut cx = Ctx {
        loc,
        env,
        diags: Diagnostics::default(),
    };
    let lab = build(&mut cx, raw, file);
    if cx.diags.is_empty() {
        Ok(lab)
    } else {
        Err(cx.diags)
    }
}

fn build(cx: &mut Ctx<'_>, raw: RawLab, file: &Path) -> Lab {
    check_lab_name(cx, &raw.name);
    let provider = raw.provider.unwrap_or(Provider::Netns);
    let networks = networks(cx, &raw.networks);
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut nodes = nodes(cx, &raw, &networks, provider, dir);
    if provider == Provider::Netns
        && !nodes.iter().any(|n| n.role == Role::Client)
        && let Some(client) = implicit_client(&networks, &nodes)
    {
        nodes.push(client);
    }
    own_keepalived::check(cx, &nodes, &networks, &|name| {
        raw.nodes.iter().position(|n| n.name == name)
    });
    let scripts = scripts(cx, &raw.scripts);
    scripts::check(cx, provider, &nodes, &scripts);
    let networks_ok = !networks.is_empty() && networks.len() == raw.networks.len();
    let (vrrp, resolved) = vrrp(cx, &raw.vrrp, &networks, networks_ok, &nodes, &scripts);
    if resolved {
        lbs_in_no_instance(cx, &raw.nodes, &nodes, &vrrp);
    }
    ipv6::client_reaches_ipv6(cx, &raw.nodes, &nodes, &vrrp);
    if raw.vrrp.is_empty() && nodes.iter().any(|n| n.role == Role::Lb) {
        cx.bad(
            "",
            "the lab has LB nodes but no `vrrp` instance",
            Some("add `vrrp: [{vrid: 51, vips: [ADDRESS]}]`: the VIP the LBs share".to_string()),
        );
    }
    let haproxy = haproxy::haproxy(cx, raw.haproxy.as_ref(), &nodes, &vrrp);
    haproxy::check_ports(cx, &raw, &nodes, &haproxy);
    Lab {
        name: raw.name,
        provider,
        description: raw.description,
        file: file.to_path_buf(),
        networks,
        nodes,
        vrrp,
        scripts,
        haproxy,
        hosts: raw.hosts.unwrap_or(true),
        ssh: SshDefaults {
            accept_new_host_keys: raw
                .ssh
                .as_ref()
                .and_then(|s| s.accept_new_host_keys)
                .unwrap_or(false),
        },
    }
}

/// Every LB takes part in some instance (checked only when every instance's members are known:
/// a misspelt member or network is reported as itself, not as its consequences).
fn lbs_in_no_instance(cx: &mut Ctx<'_>, raw: &[RawNode], nodes: &[Node], vrrp: &[VrrpInstance]) {
    for (i, n) in raw.iter().enumerate() {
        // A node whose addresses were rejected (reported) cannot be placed on a network.
        let placed = nodes
            .iter()
            .find(|m| m.name == n.name)
            .is_some_and(|m| !m.interfaces.is_empty());
        if n.role == Role::Lb
            && placed
            && !vrrp.is_empty()
            && !vrrp.iter().any(|v| v.member(&n.name).is_some())
        {
            cx.bad(&format!("nodes[{i}].name"), format!("LB node `{}` takes part in no VRRP instance", n.name), Some(format!("an LB without VRRP peers never gets the VIP: add `{}: PRIORITY` to an instance's `priorities`", n.name)));
        }
    }
}

fn check_lab_name(cx: &mut Ctx<'_>, name: &str) {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        cx.bad(
            "name",
            format!("lab name `{name}` is not 1-40 letters, digits, `-` or `_`"),
            Some("the name becomes part of namespace and state-directory names".to_string()),
        );
    }
}

pub(super) fn parse_cidr(s: &str) -> Option<Cidr> {
    let (a, p) = s.split_once('/')?;
    let addr: Ipv4Addr = a.parse().ok()?;
    let prefix: u8 = p.parse().ok()?;
    (prefix <= 32).then_some(Cidr { addr, prefix })
}

fn networks(cx: &mut Ctx<'_>, raw: &[RawNetwork]) -> Vec<Network> {
    let mut out: Vec<Network> = Vec::new();
    if raw.is_empty() {
        cx.bad(
            "networks",
            "the lab has no network",
            Some("add `networks: [{name: lan, cidr: 10.0.0.0/24}]`".to_string()),
        );
    }
    for (i, n) in raw.iter().enumerate() {
        let path = format!("networks[{i}]");
        if out.iter().any(|o| o.name == n.name) {
            cx.bad(
                &format!("{path}.name"),
                format!("network `{}` is defined twice", n.name),
                Some("network names must be unique".to_string()),
            );
            continue;
        }
        match parse_cidr(&n.cidr) {
            Some(c) if (8..=30).contains(&c.prefix) => {
                if let Some(o) = out
                    .iter()
                    .find(|o| o.cidr.contains(c.network()) || c.contains(o.cidr.network()))
                {
                    cx.bad(
                        &format!("{path}.cidr"),
                        format!("{} overlaps network `{}` ({})", n.cidr, o.name, o.cidr),
                        Some("lab networks must not overlap".to_string()),
                    );
                }
                let ipv6 = n
                    .ipv6
                    .as_ref()
                    .and_then(|s| ipv6::network6(cx, &path, s, &out));
                out.push(Network {
                    name: n.name.clone(),
                    cidr: Cidr {
                        addr: c.network(),
                        prefix: c.prefix,
                    },
                    ipv6,
                });
            }
            Some(c) => cx.bad(
                &format!("{path}.cidr"),
                format!("prefix /{} is outside /8../30", c.prefix),
                Some("a lab network needs room for its nodes and VIPs: /24 is usual".to_string()),
            ),
            None => cx.bad(
                &format!("{path}.cidr"),
                format!("`{}` is not an IPv4 network", n.cidr),
                Some("write it as ADDRESS/PREFIX, e.g. 192.168.0.0/24".to_string()),
            ),
        }
    }
    out
}

fn valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn valid_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

fn nodes(
    cx: &mut Ctx<'_>,
    raw: &RawLab,
    networks: &[Network],
    provider: Provider,
    dir: &Path,
) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::new();
    let mut seen_ips: HashMap<Ipv4Addr, String> = HashMap::new();
    let mut seen_ips6: HashMap<Ipv6Addr, String> = HashMap::new();
    let net_names: Vec<&str> = networks.iter().map(|n| n.name.as_str()).collect();
    if raw.nodes.is_empty() {
        cx.bad(
            "nodes",
            "the lab has no node",
            Some("a lab needs LB nodes (role: lb) and web nodes (role: web)".to_string()),
        );
    }
    for k in raw.sysctl.keys() {
        check_sysctl(cx, &format!("sysctl.{k}"), k);
    }
    if !raw.nodes.iter().any(|n| n.role == Role::Lb) && !raw.nodes.is_empty() {
        cx.bad_key(
            "nodes",
            "the lab has no LB node",
            Some(
                "add at least two nodes with `role: lb`: they run HAProxy and share the VIP"
                    .to_string(),
            ),
        );
    }
    for (i, n) in raw.nodes.iter().enumerate() {
        let path = format!("nodes[{i}]");
        if out.iter().any(|o| o.name == n.name) {
            cx.bad(
                &format!("{path}.name"),
                format!("node `{}` is defined twice", n.name),
                Some("node names must be unique".to_string()),
            );
            continue;
        }
        if !valid_hostname(&n.name) {
            cx.bad(
                &format!("{path}.name"),
                format!("node name `{}` is not a valid host name", n.name),
                Some("use letters, digits and `-`".to_string()),
            );
        }
        let mut interfaces = Vec::new();
        // (network, address, interface, path of the entry, address6 and its path)
        type Attachment<'a> = (
            String,
            &'a str,
            Option<&'a String>,
            String,
            Option<(&'a str, String)>,
        );
        if n.address6.is_some() && n.address.is_none() {
            cx.bad_key(&format!("{path}.address6"), "`address6` is set without `address`", Some("a lab node is IPv4 or dual stack: add `address` (IPv4) beside it, or write both in `addresses: [{network, address, address6}]`".to_string()));
        }
        let attachments: Vec<Attachment<'_>> = match (&n.address, n.addresses.is_empty()) {
            (Some(a), true) => match networks.first() {
                Some(net) => vec![(
                    net.name.clone(),
                    a.as_str(),
                    n.interface.as_ref(),
                    format!("{path}.address"),
                    n.address6
                        .as_ref()
                        .map(|a6| (a6.as_str(), format!("{path}.address6"))),
                )],
                None => vec![],
            },
            (None, false) => n
                .addresses
                .iter()
                .enumerate()
                .map(|(j, at)| {
                    (
                        at.network.clone(),
                        at.address.as_str(),
                        at.interface.as_ref(),
                        format!("{path}.addresses[{j}]"),
                        at.address6
                            .as_ref()
                            .map(|a6| (a6.as_str(), format!("{path}.addresses[{j}].address6"))),
                    )
                })
                .collect(),
            (Some(_), false) => {
                cx.bad(
                    &format!("{path}.address"),
                    "both `address` and `addresses` are set",
                    Some("use `address` for one network, `addresses` for several".to_string()),
                );
                vec![]
            }
            (None, true) => {
                cx.bad_key(&format!("{path}.name"), format!("node `{}` has no address", n.name), Some("add `address: IP` (on the first network) or `addresses: [{network, address}]`".to_string()));
                vec![]
            }
        };
        for (k, (net_name, addr, ifname, apath, addr6)) in attachments.iter().enumerate() {
            let Some(net) = networks.iter().find(|x| &x.name == net_name) else {
                cx.bad(
                    &format!("{apath}.network"),
                    format!("no network named `{net_name}`"),
                    Some(did_you_mean(net_name, &net_names)),
                );
                continue;
            };
            let addr_path = if n.address.is_some() {
                apath.clone()
            } else {
                format!("{apath}.address")
            };
            let Ok(ip) = addr.parse::<Ipv4Addr>() else {
                cx.bad(&addr_path, format!("`{addr}` is not an IPv4 address"), Some("write a plain address like 192.168.0.131; the prefix comes from the network".to_string()));
                continue;
            };
            if !net.cidr.contains(ip) {
                cx.bad(
                    &addr_path,
                    format!("{ip} is outside network `{}` ({})", net.name, net.cidr),
                    Some(format!("pick an address inside {}", net.cidr)),
                );
            } else if ip == net.cidr.network() || ip == net.cidr.broadcast() {
                cx.bad(
                    &addr_path,
                    format!("{ip} is the network or broadcast address of {}", net.cidr),
                    Some("pick a host address".to_string()),
                );
            }
            if let Some(other) = seen_ips.insert(ip, n.name.clone()) {
                cx.bad(
                    &addr_path,
                    format!("address {ip} is also node `{other}`'s"),
                    Some("every node needs its own address".to_string()),
                );
            }
            let ifname = ifname.cloned().unwrap_or_else(|| format!("eth{k}"));
            if !valid_ifname(&ifname) {
                let if_path = if n.address.is_some() {
                    format!("{path}.interface")
                } else {
                    format!("{apath}.interface")
                };
                cx.bad(&if_path, format!("interface name `{ifname}` is not 1-15 letters, digits, `-`, `_` or `.`"), Some(format!("Linux limits interface names to 15 characters (IFNAMSIZ); `{ifname}` has {}", ifname.chars().count())));
            }
            let address6 = addr6
                .as_ref()
                .and_then(|(a6, p6)| ipv6::node_address6(cx, p6, a6, net, &n.name, &mut seen_ips6));
            interfaces.push(Interface {
                network: net.name.clone(),
                name: ifname,
                address: ip,
                prefix: net.cidr.prefix,
                address6,
                prefix6: address6.and(net.ipv6.map(|c| c.prefix)),
            });
        }
        if n.engine.is_some() && n.role != Role::Lb {
            cx.bad_key(
                &format!("{path}.engine"),
                format!("`engine` is set on {:?} node `{}`", n.role, n.name).to_lowercase(),
                Some("only LB nodes run a VRRP engine".to_string()),
            );
        }
        if n.web.is_some() && n.role == Role::Client {
            cx.bad_key(
                &format!("{path}.web"),
                format!("client node `{}` has a `web` section", n.name),
                Some("use `role: web` for a node that serves pages".to_string()),
            );
        }
        let web = match (&n.web, n.role) {
            (Some(w), _) => Some(web(cx, &format!("{path}.web"), w, &n.name)),
            (None, Role::Web) => Some(Web {
                port: 80,
                index: format!("<h1>{}</h1>\n", n.name),
                server_name: n.name.clone(),
            }),
            _ => None,
        };
        let mut sysctl = BTreeMap::new();
        if n.role == Role::Lb {
            for (k, v) in &raw.sysctl {
                sysctl.insert(k.clone(), v.0.clone());
            }
        }
        for (k, v) in &n.sysctl {
            sysctl.insert(k.clone(), v.0.clone());
        }
        for k in n.sysctl.keys() {
            check_sysctl(cx, &format!("{path}.sysctl.{k}"), k);
        }
        let ssh = ssh_target(cx, &path, n, raw.ssh.as_ref(), provider);
        let files = files::files(cx, &path, &n.files, dir, provider);
        out.push(Node {
            name: n.name.clone(),
            hostname: n.hostname.clone().unwrap_or_else(|| n.name.clone()),
            role: n.role,
            interfaces,
            engine: (n.role == Role::Lb)
                .then(|| n.engine.or(raw.engine).unwrap_or(Engine::Keepalived)),
            router_id: n.router_id.clone().unwrap_or_else(|| n.name.clone()),
            web,
            sysctl,
            ssh,
            files,
        });
    }
    out
}

fn check_sysctl(cx: &mut Ctx<'_>, path: &str, key: &str) {
    if !key.starts_with("net.") {
        cx.bad_key(path, format!("sysctl `{key}` is not a network sysctl"), Some("only net.* sysctls are per node (network namespace); others would change the whole machine".to_string()));
    }
}

fn ssh_target(
    cx: &mut Ctx<'_>,
    path: &str,
    n: &RawNode,
    defaults: Option<&RawSshDefaults>,
    provider: Provider,
) -> Option<SshTarget> {
    match (&n.ssh, provider) {
        (Some(s), _) => Some(SshTarget {
            host: s.host.clone(),
            user: s
                .user
                .clone()
                .or_else(|| defaults.and_then(|d| d.user.clone()))
                .unwrap_or_else(|| "root".to_string()),
            port: s
                .port
                .or_else(|| defaults.and_then(|d| d.port))
                .unwrap_or(22),
            identity_file: s
                .identity_file
                .clone()
                .or_else(|| defaults.and_then(|d| d.identity_file.clone())),
            jump: s
                .jump
                .clone()
                .or_else(|| defaults.and_then(|d| d.jump.clone())),
        }),
        (None, Provider::Ssh) if n.role != Role::Client => {
            cx.bad_key(
                &format!("{path}.name"),
                format!(
                    "node `{}` has no `ssh` section but the provider is ssh",
                    n.name
                ),
                Some("add `ssh: {host: HOST}` (an ssh_config alias works too)".to_string()),
            );
            None
        }
        (None, _) => None,
    }
}

fn web(cx: &mut Ctx<'_>, path: &str, w: &RawWeb, node: &str) -> Web {
    let port = w.port.unwrap_or(80);
    if port == 0 {
        cx.bad(
            &format!("{path}.port"),
            "port 0 is not a port",
            Some("nginx listens on 1..65535; 80 is usual".to_string()),
        );
    }
    Web {
        port,
        index: w
            .index
            .clone()
            .unwrap_or_else(|| format!("<h1>{node}</h1>\n")),
        server_name: w.server_name.clone().unwrap_or_else(|| node.to_string()),
    }
}

/// A client node for labs that name none: the netns provider's probes run from it.
fn implicit_client(networks: &[Network], nodes: &[Node]) -> Option<Node> {
    let net = networks.first()?;
    let used: BTreeSet<Ipv4Addr> = nodes
        .iter()
        .flat_map(|n| n.interfaces.iter().map(|i| i.address))
        .collect();
    let mut ip = u32::from(net.cidr.broadcast()).checked_sub(1)?;
    while used.contains(&Ipv4Addr::from(ip)) && ip > u32::from(net.cidr.network()) + 1 {
        ip -= 1;
    }
    // On a dual-stack network the client gets an IPv6 address too (the highest free one up
    // to ::fffe), so that it can probe IPv6 VIPs.
    let used6: BTreeSet<Ipv6Addr> = nodes
        .iter()
        .flat_map(|n| n.interfaces.iter().filter_map(|i| i.address6))
        .collect();
    let address6 = net.ipv6.and_then(|c| {
        let base = u128::from(c.network());
        (0x64_u128..=0xfffe)
            .rev()
            .map(|k| Ipv6Addr::from(base | k))
            .find(|a| c.contains(*a) && !used6.contains(a))
    });
    let name = if nodes.iter().any(|n| n.name == "client") {
        "halab-client"
    } else {
        "client"
    };
    Some(Node {
        name: name.to_string(),
        hostname: name.to_string(),
        role: Role::Client,
        interfaces: vec![Interface {
            network: net.name.clone(),
            name: "eth0".to_string(),
            address: Ipv4Addr::from(ip),
            prefix: net.cidr.prefix,
            address6,
            prefix6: address6.and(net.ipv6.map(|c| c.prefix)),
        }],
        engine: None,
        router_id: name.to_string(),
        web: None,
        sysctl: BTreeMap::new(),
        ssh: None,
        files: Vec::new(),
    })
}

fn scripts(cx: &mut Ctx<'_>, raw: &BTreeMap<String, RawScript>) -> Vec<TrackScript> {
    let mut out = Vec::new();
    for (name, s) in raw {
        let path = format!("scripts.{name}");
        let interval = s.interval.unwrap_or(1.0);
        if !(interval > 0.0 && interval <= 3600.0) {
            cx.bad(
                &format!("{path}.interval"),
                format!("interval {interval} is outside (0, 3600] seconds"),
                Some(
                    "keepalived runs the script every `interval` seconds; 1 or 2 is usual"
                        .to_string(),
                ),
            );
        }
        if let Some(t) = s.timeout
            && !(t > 0.0 && t <= 3600.0)
        {
            cx.bad(&format!("{path}.timeout"), format!("timeout {t} is outside (0, 3600] seconds"), Some("keepalived waits `timeout` seconds for the script before counting it failed; keep it below `interval`".to_string()));
        }
        let weight = s.weight.unwrap_or(0);
        if !(-253..=253).contains(&weight) {
            cx.bad(&format!("{path}.weight"), format!("weight {weight} is outside -253..253"), Some("keepalived adds a positive weight while the script succeeds and subtracts a negative one while it fails; 0 puts the instance in FAULT on failure".to_string()));
        }
        let mut count = |field: &str, v: Option<i64>| -> u32 {
            let v = v.unwrap_or(1);
            if !(1..=100).contains(&v) {
                cx.bad(
                    &format!("{path}.{field}"),
                    format!("{field} {v} is outside 1..100"),
                    Some(format!(
                        "`{field}` counts consecutive results before the script's state changes"
                    )),
                );
            }
            u32::try_from(v.clamp(1, 100)).unwrap_or(1)
        };
        let rise = count("rise", s.rise);
        let fall = count("fall", s.fall);
        if let Some(f) = &s.file {
            if !f.path.starts_with('/') {
                cx.bad(&format!("{path}.file.path"), format!("script path `{}` is not absolute", f.path), Some("write it where keepalived expects it, e.g. /etc/keepalived/check_haproxy.sh".to_string()));
            } else if !f.path.starts_with("/etc/keepalived/") || f.path.contains("/../") {
                // The checks and the netns provider give a node its own /etc/keepalived;
                // a script elsewhere would be written over the host's file.
                cx.bad(&format!("{path}.file.path"), format!("script file `{}` is outside /etc/keepalived/", f.path), Some("halab writes script bodies beside keepalived.conf: use /etc/keepalived/NAME.sh".to_string()));
            }
        }
        if s.script.trim().is_empty() {
            cx.bad(
                &format!("{path}.script"),
                "the script is empty",
                Some(
                    "write the command keepalived runs, e.g. `script: \"killall -0 haproxy\"`"
                        .to_string(),
                ),
            );
        }
        out.push(TrackScript {
            name: name.clone(),
            script: s.script.clone(),
            interval,
            timeout: s.timeout,
            weight: i32::try_from(weight.clamp(-253, 253)).unwrap_or(0),
            rise,
            fall,
            file: s.file.as_ref().map(|f| ScriptFile {
                path: f.path.clone(),
                content: f.content.clone(),
            }),
        });
    }
    out
}

pub(super) fn parse_vip(s: &str) -> Option<Vip> {
    match s.split_once('/') {
        Some((a, p)) => {
            let prefix: u8 = p.parse().ok()?;
            let address: IpAddr = a.parse().ok()?;
            (prefix <= if address.is_ipv4() { 32 } else { 128 }).then_some(())?;
            Some(Vip {
                address,
                prefix: Some(prefix),
            })
        }
        None => Some(Vip {
            address: s.parse().ok()?,
            prefix: None,
        }),
    }
}

/// The instances, and whether every instance's members are known (no misspelt member or
/// network, no member whose address was rejected).
/// `networks_ok`: every network of the file was accepted (else VIPs are not checked against them).
fn vrrp(
    cx: &mut Ctx<'_>,
    raw: &[RawVrrp],
    networks: &[Network],
    networks_ok: bool,
    nodes: &[Node],
    scripts: &[TrackScript],
) -> (Vec<VrrpInstance>, bool) {
    let mut out: Vec<VrrpInstance> = Vec::new();
    let mut all_resolved = true;
    let node_ips: HashMap<IpAddr, &str> = nodes
        .iter()
        .flat_map(|n| n.all_addresses().map(move |a| (a, n.name.as_str())))
        .collect();
    let mut vip_seen: HashMap<IpAddr, String> = HashMap::new();
    for (i, r) in raw.iter().enumerate() {
        let path = format!("vrrp[{i}]");
        let name = r.name.clone().unwrap_or_else(|| format!("VI_{}", i + 1));
        if out.iter().any(|o| o.name == name) {
            cx.bad(
                &format!("{path}.name"),
                format!("VRRP instance `{name}` is defined twice"),
                Some("instance names must be unique".to_string()),
            );
        }
        if !(1..=255).contains(&r.vrid) {
            cx.bad(&format!("{path}.vrid"), format!("vrid {} is outside 1..255", r.vrid), Some("RFC 5798 5.2.3: the Virtual Router Identifier is 1..255; pick one no other VRRP group on this network uses".to_string()));
        }
        let vrid = u8::try_from(r.vrid.clamp(1, 255)).unwrap_or(1);
        let number = r.version.unwrap_or(2);
        let version = Version::from_number(number).unwrap_or_else(|| {
            cx.bad(
                &format!("{path}.version"),
                format!("VRRP version {number} does not exist"),
                Some("use 2 (RFC 3768, keepalived's default) or 3 (RFC 5798)".to_string()),
            );
            Version::V2
        });
        let advert_int_cs = advert_int(cx, &path, r.advert_int.unwrap_or(1.0), version);
        // VIPs and the network they live on.
        let mut vips = Vec::new();
        if r.vips.is_empty() {
            cx.bad(
                &format!("{path}.vips"),
                "the instance has no VIP",
                Some(
                    "add the virtual address clients use, e.g. `vips: [192.168.0.130]`".to_string(),
                ),
            );
        }
        for (j, v) in r.vips.iter().enumerate() {
            let vpath = format!("{path}.vips[{j}]");
            let Some(vip) = parse_vip(v) else {
                cx.bad(
                    &vpath,
                    format!("`{v}` is not an IP address"),
                    Some(
                        "write ADDRESS or ADDRESS/PREFIX, e.g. 192.168.64.200/24 or fd00:30::100"
                            .to_string(),
                    ),
                );
                continue;
            };
            if let Some(first) = vips.first().map(|f: &Vip| f.address)
                && first.is_ipv4() != vip.address.is_ipv4()
            {
                cx.bad(&vpath, format!("VIP {} is not of the family of the instance's first VIP {first}", vip.address), Some("keepalived runs an instance over the first VIP's family; dual stack is two instances, one IPv4 and one IPv6 (they may share the vrid)".to_string()));
                continue;
            }
            if vip.address.is_ipv6() && version == Version::V2 && vips.is_empty() {
                let at = if r.version.is_some() {
                    format!("{path}.version")
                } else {
                    vpath.clone()
                };
                cx.bad(&at, format!("IPv6 VIP {} needs VRRPv3, but the instance is VRRPv2", vip.address), Some("VRRPv2 (RFC 3768) carries IPv4 only; add `version: 3` (RFC 5798: VRRP over IPv6)".to_string()));
            }
            if let IpAddr::V6(a) = vip.address
                && (a.is_multicast()
                    || a.is_loopback()
                    || a.is_unspecified()
                    || (a.segments()[0] & 0xffc0) == 0xfe80)
            {
                cx.bad(
                    &vpath,
                    format!("VIP {a} is a multicast, loopback, link-local or unspecified address"),
                    Some(
                        "a VIP is a global or unique-local address in a network's `ipv6` prefix"
                            .to_string(),
                    ),
                );
            }
            if networks_ok && !networks.iter().any(|n| n.contains(vip.address)) {
                let nets: Vec<String> = networks
                    .iter()
                    .map(|n| format!("{} ({})", n.name, n.prefix_of(vip.address)))
                    .collect();
                cx.bad(
                    &vpath,
                    format!("VIP {} is outside every network", vip.address),
                    Some(format!(
                        "clients reach a VIP through a lab network: pick an address in {}",
                        nets.join(", ")
                    )),
                );
            }
            if let Some(node) = node_ips.get(&vip.address) {
                cx.bad(
                    &vpath,
                    format!("VIP {} is node `{node}`'s address", vip.address),
                    Some("a VIP must be an address no node owns".to_string()),
                );
            }
            if let Some(other) = vip_seen.insert(vip.address, name.clone()) {
                cx.bad(
                    &vpath,
                    format!("VIP {} is also in instance `{other}`", vip.address),
                    Some("two instances would fight over one address".to_string()),
                );
            }
            vips.push(vip);
        }
        let net_names: Vec<&str> = networks.iter().map(|n| n.name.as_str()).collect();
        let mut resolved = networks_ok;
        let network = match &r.network {
            Some(nn) if networks.iter().any(|n| &n.name == nn) => nn.clone(),
            Some(nn) => {
                cx.bad(
                    &format!("{path}.network"),
                    format!("no network named `{nn}`"),
                    Some(did_you_mean(nn, &net_names)),
                );
                resolved = false;
                nn.clone()
            }
            None => vips
                .first()
                .and_then(|v| networks.iter().find(|n| n.contains(v.address)))
                .or(networks.first())
                .map(|n| n.name.clone())
                .unwrap_or_default(),
        };
        if let Some(net) = networks.iter().find(|n| n.name == network) {
            for (j, v) in vips.iter().enumerate() {
                if networks.iter().any(|n| n.contains(v.address)) && !net.contains(v.address) {
                    cx.bad(&format!("{path}.vips[{j}]"), format!("VIP {} is not on the instance's network `{}` ({})", v.address, net.name, net.prefix_of(v.address)), Some("an instance's VIPs live on the network its adverts use; make a second instance for the other network".to_string()));
                }
            }
        }
        let ipv6 = vips.first().is_some_and(|v| v.address.is_ipv6());
        let (members, members_known) = members(cx, &path, r, nodes, &network, ipv6);
        resolved &= members_known;
        all_resolved &= resolved;
        if resolved {
            check_member_count(cx, &path, r, &name, &network, &members, ipv6);
        }
        // RFC 5798 5.2.3: IPv4 and IPv6 virtual routers are separate, a vrid may serve both.
        if let Some(o) = out
            .iter()
            .find(|o| o.vrid == vrid && o.network == network && o.is_ipv6() == ipv6)
        {
            cx.bad(&format!("{path}.vrid"), format!("vrid {vrid} is also used by instance `{}` on network `{network}`", o.name), Some("two groups with one VRID on one network see each other's adverts (keepalived logs `ip address associated with VRID not present`); give each a unique vrid".to_string()));
        }
        let auth = r.auth.as_ref().map(|a| {
            let s = cx.secret(&format!("{path}.auth.pass"), &a.pass);
            let len = s.as_ref().map_or(1, |s| s.expose().len());
            if !(1..=8).contains(&len) {
                cx.bad(&format!("{path}.auth.pass"), format!("auth pass is {len} characters; it must be 1 to 8"), Some("VRRPv2 carries 8 bytes of password; keepalived silently truncates longer ones".to_string()));
            }
            s.unwrap_or_else(|| Secret::new(String::new()))
        });
        if version == Version::V3 && auth.is_some() {
            cx.bad_key(
                &format!("{path}.auth"),
                "VRRPv3 has no authentication",
                Some("RFC 5798 removed it; drop `auth` or use version 2".to_string()),
            );
        }
        for (j, t) in r.track_scripts.iter().enumerate() {
            if !scripts.iter().any(|s| &s.name == t) {
                let names: Vec<&str> = scripts.iter().map(|s| s.name.as_str()).collect();
                cx.bad(
                    &format!("{path}.track_scripts[{j}]"),
                    format!("no script named `{t}`"),
                    Some(format!(
                        "define it under `scripts:`; {}",
                        did_you_mean(t, &names)
                    )),
                );
            }
        }
        for (j, t) in r.track_interfaces.iter().enumerate() {
            check_track_interface(
                cx,
                &format!("{path}.track_interfaces[{j}]"),
                t,
                &members,
                nodes,
            );
        }
        let preempt = r.preempt.unwrap_or(true);
        if let Some(d) = r.preempt_delay {
            if !(0.0..=1000.0).contains(&d) {
                cx.bad(
                    &format!("{path}.preempt_delay"),
                    format!("preempt_delay {d} is outside 0..1000 seconds"),
                    Some("keepalived accepts a preempt_delay of 0 to 1000 seconds".to_string()),
                );
            }
            if !preempt {
                cx.bad_key(
                    &format!("{path}.preempt_delay"),
                    "`preempt_delay` is set with `preempt: false`",
                    Some(
                        "nopreempt never preempts, so there is nothing to delay: drop one of them"
                            .to_string(),
                    ),
                );
            }
        }
        out.push(VrrpInstance {
            name,
            vrid,
            network,
            version,
            advert_int_cs,
            members,
            vips,
            auth,
            preempt,
            preempt_delay: r.preempt_delay,
            unicast: r.unicast.unwrap_or(false),
            track_scripts: r.track_scripts.clone(),
            track_interfaces: r.track_interfaces.clone(),
            notify: r
                .notify
                .as_ref()
                .map(|n| Notify {
                    master: n.master.clone(),
                    backup: n.backup.clone(),
                    fault: n.fault.clone(),
                    any: n.any.clone(),
                })
                .unwrap_or_default(),
            garp_master_delay: r.garp_master_delay,
            garp_master_repeat: r.garp_master_repeat,
            garp_master_refresh: r.garp_master_refresh,
            sync_group: r.sync_group.clone(),
        });
    }
    let mut groups: BTreeMap<&str, usize> = BTreeMap::new();
    for v in &out {
        if let Some(g) = &v.sync_group {
            *groups.entry(g.as_str()).or_default() += 1;
        }
    }
    for (i, r) in raw.iter().enumerate() {
        if let Some(g) = &r.sync_group {
            for (j, t) in r.track_scripts.iter().enumerate() {
                if scripts.iter().any(|s| &s.name == t && s.weight != 0) {
                    cx.bad(&format!("vrrp[{i}].track_scripts[{j}]"), format!("script `{t}` has a weight, but instance is in sync group `{g}`"), Some("keepalived ignores tracked-script weights inside a sync group (the group moves on FAULT only): set `weight: 0` on the script".to_string()));
                }
            }
            if groups.get(g.as_str()) == Some(&1) {
                cx.bad(&format!("vrrp[{i}].sync_group"), format!("sync group `{g}` has one instance"), Some("a sync group moves several instances together; keepalived warns about (and ignores) a group of one".to_string()));
            }
        }
    }
    (out, all_resolved)
}

/// An instance needs two members: with one, nothing takes the VIP over; with none, no LB runs it.
fn check_member_count(
    cx: &mut Ctx<'_>,
    path: &str,
    r: &RawVrrp,
    name: &str,
    network: &str,
    members: &[VrrpMember],
    ipv6: bool,
) {
    match members {
        [] => {
            let at = if r.network.is_some() {
                format!("{path}.network")
            } else {
                format!("{path}.vips")
            };
            if ipv6 {
                cx.bad(&at, format!("instance `{name}` has no member: no LB node has an IPv6 address on network `{network}`"), Some(format!("give the LB nodes an `address6` in `{network}`'s `ipv6` prefix")));
            } else {
                cx.bad(&at, format!("instance `{name}` has no member: no LB node has an address on network `{network}`"), Some(format!("give the LB nodes an address on `{network}` (`addresses: [{{network: {network}, address: IP}}]`), or run the instance on their network")));
            }
        }
        [one] => {
            let at = if r.priorities.is_empty() {
                format!("{path}.vrid")
            } else {
                format!("{path}.priorities")
            };
            cx.bad(&at, format!("instance `{name}` has one member (`{}`): an LB without VRRP peers", one.node), Some(format!("list at least two LB nodes on `{network}`; with one, nothing can take the VIP over")));
        }
        _ => {}
    }
}

/// A tracked interface must exist on every member (keepalived puts the instance in FAULT otherwise).
fn check_track_interface(
    cx: &mut Ctx<'_>,
    path: &str,
    t: &str,
    members: &[VrrpMember],
    nodes: &[Node],
) {
    if members.iter().any(|m| m.interface == t) {
        cx.bad(path, format!("`{t}` is the interface the instance runs on"), Some("keepalived ignores tracking its own interface (a down link already means FAULT); track another link, e.g. the back network's".to_string()));
        return;
    }
    let ifaces = |m: &VrrpMember| {
        nodes
            .iter()
            .find(|n| n.name == m.node)
            .map(|n| {
                n.interfaces
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let lacking: Vec<String> = members
        .iter()
        .filter(|m| !ifaces(m).contains(&t))
        .map(|m| format!("`{}`", m.node))
        .collect();
    if lacking.is_empty() {
        return;
    }
    let have: Vec<String> = members
        .iter()
        .map(|m| format!("{}: {}", m.node, ifaces(m).join(", ")))
        .collect();
    cx.bad(path, format!("interface `{t}` is missing on {}", lacking.join(", ")), Some(format!("the members' interfaces are {}; `interface:` on a node (or its `addresses` entry) names them", have.join("; "))));
}

/// The interval in centiseconds; the rules are halab-vrrp's.
fn advert_int(cx: &mut Ctx<'_>, path: &str, secs: f64, version: Version) -> u16 {
    // Whole microseconds: finer than any rule, so 0.015 stays off the centisecond grid.
    let micros = if secs.is_finite() && secs > 0.0 {
        (secs * 1e6).round().min(u64::MAX as f64) as u64
    } else {
        0
    };
    match advert_interval_cs(version, micros) {
        Ok(cs) => cs,
        Err(_) => {
            let p = format!("{path}.advert_int");
            match version {
                Version::V2 => cx.bad(&p, format!("advert_int {secs} cannot be carried by VRRPv2"), Some("VRRPv2 (RFC 3768) sends whole seconds 1..255; use `version: 3` for sub-second adverts".to_string())),
                Version::V3 => cx.bad(
                    &p,
                    format!("advert_int {secs} cannot be carried by VRRPv3"),
                    Some("VRRPv3 (RFC 5798) sends centiseconds: 0.01..40.95 in steps of 0.01".to_string()),
                ),
            }
            100
        }
    }
}

/// The instance's members, and whether every one is known: false when a listed node is
/// unknown, no LB or off the network, or an LB's address was rejected (each reported).
fn members(
    cx: &mut Ctx<'_>,
    path: &str,
    r: &RawVrrp,
    nodes: &[Node],
    network: &str,
    ipv6: bool,
) -> (Vec<VrrpMember>, bool) {
    // An IPv6 instance's members need an IPv6 address on the network (keepalived sends from
    // the link-local one, but unicast peers and the lab's client need a global one).
    let on_net = |n: &Node| {
        n.interface_on(network)
            .and_then(|i| Some((i.name.clone(), i.address_of(ipv6)?)))
    };
    let what = if ipv6 { "IPv6 address" } else { "address" };
    let unplaced = |n: &Node| n.interfaces.is_empty();
    let mut list: Vec<(String, i64)> = Vec::new();
    let mut known = !nodes.iter().any(|n| n.role == Role::Lb && unplaced(n));
    if r.priorities.is_empty() {
        for (k, n) in nodes
            .iter()
            .filter(|n| n.role == Role::Lb && on_net(n).is_some())
            .enumerate()
        {
            list.push((n.name.clone(), 100 - 10 * i64::try_from(k).unwrap_or(0)));
        }
    } else {
        // A misspelt member is most likely an LB that is not listed yet.
        let unlisted: Vec<&str> = nodes
            .iter()
            .filter(|n| n.role == Role::Lb && !r.priorities.contains_key(&n.name))
            .map(|n| n.name.as_str())
            .collect();
        // Keep the lab's node order, not the map's, so MASTER ties go to the first listed node.
        let mut keyed: Vec<(usize, String, i64)> = Vec::new();
        for (name, prio) in &r.priorities {
            let ppath = format!("{path}.priorities.{name}");
            match nodes.iter().position(|n| &n.name == name) {
                None => cx.bad_key(
                    &ppath,
                    format!("no node named `{name}`"),
                    Some(did_you_mean(name, &unlisted)),
                ),
                Some(idx) if nodes[idx].role != Role::Lb => cx.bad_key(
                    &ppath,
                    format!("node `{name}` is not an LB node"),
                    Some(
                        "only `role: lb` nodes run VRRP; web nodes are haproxy's servers"
                            .to_string(),
                    ),
                ),
                // Its address was rejected, and that is reported.
                Some(idx) if unplaced(&nodes[idx]) => {}
                Some(idx) if on_net(&nodes[idx]).is_none() => cx.bad_key(
                    &ppath,
                    format!("node `{name}` has no {what} on network `{network}`"),
                    Some(if ipv6 {
                        format!("give `{name}` an `address6` on `{network}` (its `ipv6` prefix), or leave it out of this IPv6 instance")
                    } else {
                        format!("add one to its `addresses`, or leave `{name}` out of this instance")
                    }),
                ),
                Some(idx) => {
                    keyed.push((idx, name.clone(), *prio));
                    continue;
                }
            }
            known = false;
        }
        keyed.sort();
        list = keyed.into_iter().map(|(_, n, p)| (n, p)).collect();
    }
    let mut out = Vec::new();
    for (name, prio) in &list {
        if !(1..=254).contains(prio) {
            cx.bad(&format!("{path}.priorities.{name}"), format!("priority {prio} is outside 1..254"), Some("255 is reserved for the address owner and 0 for a master that resigns (RFC 5798 5.2.4)".to_string()));
        }
    }
    let best = list.iter().map(|(_, p)| *p).max().unwrap_or(0);
    let preempt = r.preempt.unwrap_or(true);
    let master = match &r.master {
        Some(m) => {
            if !list.iter().any(|(n, _)| n == m) {
                let names: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
                cx.bad(
                    &format!("{path}.master"),
                    format!("`{m}` is not a member of this instance"),
                    Some(did_you_mean(m, &names)),
                );
            }
            if !preempt {
                cx.bad(&format!("{path}.master"), format!("`master: {m}` (initial state MASTER) is set with `preempt: false`"), Some("keepalived's nopreempt only works when every member starts as BACKUP: drop `master` (the highest priority still wins the first election)".to_string()));
            }
            Some(m.clone())
        }
        None if preempt => list
            .iter()
            .find(|(_, p)| *p == best)
            .map(|(n, _)| n.clone()),
        None => None,
    };
    for (name, prio) in list {
        let Some((interface, address)) = nodes.iter().find(|n| n.name == name).and_then(on_net)
        else {
            continue;
        };
        out.push(VrrpMember {
            state: if master.as_deref() == Some(name.as_str()) {
                InitialState::Master
            } else {
                InitialState::Backup
            },
            node: name,
            priority: u8::try_from(prio.clamp(1, 254)).unwrap_or(100),
            interface,
            address,
        });
    }
    (out, known)
}
