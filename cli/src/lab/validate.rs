//! Raw lab -> [`Lab`]: defaults, references, and every rule, all problems reported at once.
//!
//! Each check pushes a diagnostic with the field's YAML path and carries on with a
//! placeholder, so one run names every problem; [`validate`] returns the model only when
//! there were none (the checkpoint).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

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
mod vrrp;

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
    let (vrrp, resolved) = vrrp::vrrp(cx, &raw.vrrp, &networks, networks_ok, &nodes, &scripts);
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
