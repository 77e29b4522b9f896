//! The `haproxy` section: proxies, references between them, servers that are web nodes.

use std::net::{IpAddr, Ipv6Addr};

use super::Ctx;
use crate::diag::did_you_mean;
use crate::lab::model::*;
use crate::lab::raw::*;

const TIMEOUTS: &[&str] = &[
    "check",
    "client",
    "client-fin",
    "connect",
    "http-keep-alive",
    "http-request",
    "queue",
    "server",
    "server-fin",
    "tarpit",
    "tunnel",
];

const BALANCE: &[&str] = &[
    "roundrobin",
    "static-rr",
    "leastconn",
    "first",
    "source",
    "uri",
    "url_param",
    "hdr",
    "random",
    "rdp-cookie",
];

/// haproxy's predefined ACLs (configuration manual 7.4).
const PREDEFINED_ACLS: &[&str] = &[
    "FALSE",
    "HTTP",
    "HTTP_1.0",
    "HTTP_1.1",
    "HTTP_2.0",
    "HTTP_3.0",
    "HTTP_CONTENT",
    "HTTP_URL_ABS",
    "HTTP_URL_SLASH",
    "HTTP_URL_STAR",
    "LOCALHOST",
    "METH_CONNECT",
    "METH_DELETE",
    "METH_GET",
    "METH_HEAD",
    "METH_OPTIONS",
    "METH_POST",
    "METH_PUT",
    "METH_TRACE",
    "RDP_COOKIE",
    "REQ_CONTENT",
    "TRUE",
    "WAIT_END",
];

pub(super) fn haproxy(
    cx: &mut Ctx<'_>,
    raw: Option<&RawHaproxy>,
    nodes: &[Node],
    vrrp: &[VrrpInstance],
) -> Haproxy {
    let empty = RawHaproxy::default();
    let raw = raw.unwrap_or(&empty);
    let g = raw.global.as_ref();
    let d = raw.defaults.as_ref();
    let mode = d.and_then(|d| d.mode).unwrap_or(Mode::Http);
    let mut timeouts = vec![
        ("connect".to_string(), "5s".to_string()),
        ("client".to_string(), "30s".to_string()),
        ("server".to_string(), "30s".to_string()),
        ("check".to_string(), "2s".to_string()),
    ];
    if let Some(d) = d {
        merge_timeouts(cx, "haproxy.defaults.timeouts", &d.timeouts, &mut timeouts);
    }
    let default_options = match mode {
        Mode::Http => vec!["dontlognull".to_string(), "redispatch".to_string()],
        Mode::Tcp => vec!["redispatch".to_string()],
    };
    let defaults = Defaults {
        mode,
        balance: d
            .and_then(|d| d.balance.as_ref())
            .map(|b| balance(cx, "haproxy.defaults.balance", b)),
        options: d.and_then(|d| d.options.clone()).unwrap_or(default_options),
        retries: d.and_then(|d| d.retries).unwrap_or(3),
        maxconn: d.and_then(|d| d.maxconn),
        timeouts,
        extra: d.map(|d| d.extra.clone()).unwrap_or_default(),
    };
    let mut proxies = Vec::new();
    let sections = [
        (ProxyKind::Frontend, "frontends", &raw.frontends),
        (ProxyKind::Backend, "backends", &raw.backends),
        (ProxyKind::Listen, "listens", &raw.listens),
    ];
    if sections.iter().all(|s| s.2.is_empty()) {
        proxies = default_proxies(nodes);
    } else {
        for (kind, key, list) in sections {
            for (i, p) in list.iter().enumerate() {
                let path = format!("haproxy.{key}[{i}]");
                if let Some(prev) = proxies.iter().find(|x: &&Proxy| x.name == p.name) {
                    cx.bad(
                        &format!("{path}.name"),
                        format!("`{}` is already the name of a {}", p.name, prev.kind),
                        Some("give every frontend, backend and listen its own name".to_string()),
                    );
                }
                proxies.push(proxy(cx, &path, kind, p, nodes, vrrp));
            }
        }
    }
    let hp = Haproxy {
        maxconn: g.and_then(|g| g.maxconn).unwrap_or(4000),
        nbthread: g.and_then(|g| g.nbthread),
        log: match g.and_then(|g| g.log.as_deref()) {
            Some("none") => None,
            Some(l) => Some(l.to_string()),
            None => Some("127.0.0.1:514 local2".to_string()),
        },
        global_extra: g.map(|g| g.extra.clone()).unwrap_or_default(),
        defaults,
        proxies,
    };
    check_references(cx, &hp, raw);
    hp
}

/// No haproxy section: one HTTP frontend on :80 and every web node behind it, round robin.
fn default_proxies(nodes: &[Node]) -> Vec<Proxy> {
    let servers = web_servers(nodes);
    vec![
        Proxy {
            kind: ProxyKind::Frontend,
            binds: vec![Bind {
                address: None,
                port: 80,
            }],
            default_backend: Some("web".to_string()),
            ..Proxy::empty("main")
        },
        Proxy {
            kind: ProxyKind::Backend,
            balance: Some(Balance("roundrobin".to_string())),
            servers,
            ..Proxy::empty("web")
        },
    ]
}

fn web_servers(nodes: &[Node]) -> Vec<Server> {
    nodes
        .iter()
        .filter_map(|n| n.web.as_ref().map(|w| Server::for_node(n, w.port)))
        .collect()
}

impl Proxy {
    fn empty(name: &str) -> Proxy {
        Proxy {
            kind: ProxyKind::Backend,
            name: name.to_string(),
            binds: vec![],
            mode: None,
            balance: None,
            options: vec![],
            acls: vec![],
            use_backends: vec![],
            default_backend: None,
            httpchk: None,
            cookie: None,
            server_defaults: None,
            servers: vec![],
            stats: None,
            maxconn: None,
            timeouts: vec![],
            extra: vec![],
        }
    }
}

impl Server {
    fn for_node(n: &Node, port: u16) -> Server {
        Server {
            name: n.name.clone(),
            node: Some(n.name.clone()),
            address: IpAddr::V4(n.address()),
            port,
            check: true,
            inter: None,
            rise: None,
            fall: None,
            weight: None,
            maxconn: None,
            backup: false,
            cookie: None,
        }
    }
}

fn merge_timeouts(
    cx: &mut Ctx<'_>,
    path: &str,
    raw: &std::collections::BTreeMap<String, String>,
    into: &mut Vec<(String, String)>,
) {
    for (k, v) in raw {
        let p = format!("{path}.{k}");
        if !TIMEOUTS.contains(&k.as_str()) {
            cx.bad_key(
                &p,
                format!("unknown haproxy timeout `{k}`"),
                Some(did_you_mean(k, TIMEOUTS)),
            );
            continue;
        }
        duration(cx, &p, v);
        match into.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v.clone(),
            None => into.push((k.clone(), v.clone())),
        }
    }
}

/// haproxy time format: a number with an optional unit (us, ms, s, m, h, d); bare is ms.
fn duration(cx: &mut Ctx<'_>, path: &str, v: &str) {
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &v[digits.len()..];
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || !["", "us", "ms", "s", "m", "h", "d"].contains(&unit)
    {
        cx.bad(
            path,
            format!("`{v}` is not a haproxy duration"),
            Some("write a number and a unit: 2000 (ms), 500ms, 10s, 1m, 1h".to_string()),
        );
    }
}

fn balance(cx: &mut Ctx<'_>, path: &str, b: &str) -> Balance {
    let mut words = b.split_whitespace();
    let first = words.next().unwrap_or("");
    let algo = first.split('(').next().unwrap_or("");
    let arg_ok = match algo {
        "url_param" => words.next().is_some(),
        "hdr" => first.ends_with(')') && first.len() > "hdr()".len(),
        _ => true,
    };
    if !BALANCE.contains(&algo) {
        cx.bad(
            path,
            format!("unknown balance algorithm `{b}`"),
            Some(did_you_mean(algo, BALANCE)),
        );
    } else if !arg_ok {
        cx.bad(
            path,
            format!("`{b}` lacks its argument"),
            Some("write `url_param NAME` or `hdr(NAME)`".to_string()),
        );
    }
    Balance(b.to_string())
}

fn proxy(
    cx: &mut Ctx<'_>,
    path: &str,
    kind: ProxyKind,
    p: &RawProxy,
    nodes: &[Node],
    vrrp: &[VrrpInstance],
) -> Proxy {
    let only = |cx: &mut Ctx<'_>, present: bool, field: &str, allowed: &[ProxyKind]| {
        if present && !allowed.contains(&kind) {
            let names: Vec<String> = allowed.iter().map(|k| k.to_string()).collect();
            cx.bad_key(
                &format!("{path}.{field}"),
                format!("`{field}` is not allowed in a {kind}"),
                Some(format!("it belongs in a {}", names.join(" or "))),
            );
        }
    };
    use ProxyKind::{Backend, Frontend, Listen};
    only(cx, !p.bind.is_empty(), "bind", &[Frontend, Listen]);
    only(
        cx,
        !p.acls.is_empty() && kind == Backend && p.use_backends.is_empty(),
        "acls",
        &[Frontend, Listen],
    );
    only(
        cx,
        !p.use_backends.is_empty(),
        "use_backends",
        &[Frontend, Listen],
    );
    only(
        cx,
        p.default_backend.is_some(),
        "default_backend",
        &[Frontend, Listen],
    );
    only(cx, p.balance.is_some(), "balance", &[Backend, Listen]);
    if p.servers.is_some() && kind == Frontend {
        cx.bad_key(&format!("{path}.servers"), "`servers` is not allowed in a frontend", Some("move them into a backend and point `default_backend` at it, or make this section a `listens` entry".to_string()));
    }
    only(
        cx,
        p.server_defaults.is_some(),
        "server_defaults",
        &[Backend, Listen],
    );
    only(cx, p.httpchk.is_some(), "httpchk", &[Backend, Listen]);
    only(cx, p.cookie.is_some(), "cookie", &[Backend, Listen]);
    if kind != Backend && p.bind.is_empty() {
        cx.bad_key(
            &format!("{path}.name"),
            format!("{kind} `{}` has no `bind`", p.name),
            Some("add `bind: [\"*:80\"]` (or `VIP:PORT`): where haproxy listens".to_string()),
        );
    }
    let vips: Vec<IpAddr> = vrrp
        .iter()
        .flat_map(|v| v.vips.iter().map(|x| x.address))
        .collect();
    let mut binds = Vec::new();
    for (i, b) in p.bind.iter().enumerate() {
        let bp = format!("{path}.bind[{i}]");
        let Some((a, port)) = b.rsplit_once(':') else {
            cx.bad(
                &bp,
                format!("`{b}` is not ADDRESS:PORT"),
                Some("write `*:80` or `VIP:80`".to_string()),
            );
            continue;
        };
        let Some(port) = port.parse::<u16>().ok().filter(|p| *p != 0) else {
            cx.bad(
                &bp,
                format!("`{port}` is not a port"),
                Some("a port is 1..65535: `*:80`".to_string()),
            );
            continue;
        };
        // haproxy writes IPv6 as `[fd00::100]:80`, `[::]:80` or `:::80`.
        let a = a
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(a);
        let address = match a {
            "" | "*" | "0.0.0.0" => None,
            a => match a.parse::<IpAddr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    cx.bad(
                        &bp,
                        format!("`{a}` is not an IP address"),
                        Some("write `*:80`, `[::]:80` (every IPv6 address) or a VIP (`[fd00::100]:80` for IPv6)".to_string()),
                    );
                    continue;
                }
            },
        };
        if let Some(ip) = address.filter(|ip| !ip.is_unspecified()) {
            if !vips.contains(&ip) {
                cx.bad(
                    &bp,
                    format!("{ip} is no VIP of the lab"),
                    Some("every LB runs the same haproxy.cfg: bind `*` or a VIP".to_string()),
                );
            }
            let lacking: Vec<String> = nodes
                .iter()
                .filter(|n| n.role == Role::Lb && !n.nonlocal_bind(ip))
                .map(|n| format!("`{}`", n.name))
                .collect();
            if vips.contains(&ip) && !lacking.is_empty() {
                let key = nonlocal_bind_sysctl(ip);
                let any = if ip.is_ipv4() { "`*`" } else { "`[::]`" };
                cx.bad(&bp, format!("binds VIP {ip}, but {key} is not 1 on {}", lacking.join(", ")), Some(format!("haproxy on a BACKUP (which does not hold the VIP) cannot bind it: add `sysctl: {{{key}: 1}}` at the top of the lab (every LB gets it), or bind {any}")));
            }
        }
        binds.push(Bind { address, port });
    }
    let mut timeouts = Vec::new();
    merge_timeouts(cx, &format!("{path}.timeouts"), &p.timeouts, &mut timeouts);
    let acls = acls(cx, path, &p.acls);
    let use_backends = p.use_backends.iter().enumerate().map(|(i, u)| {
        let up = format!("{path}.use_backends[{i}]");
        if u.if_cond.is_some() && u.unless.is_some() {
            cx.bad_key(&format!("{up}.unless"), "both `if` and `unless` are set", Some("a use_backend rule has one condition: combine them in `if` (e.g. `if a !b`)".to_string()));
        }
        let condition = u.if_cond.as_ref().map(|c| format!("if {c}")).or_else(|| u.unless.as_ref().map(|c| format!("unless {c}")));
        if let Some(c) = u.if_cond.as_ref().or(u.unless.as_ref()) {
            let field = if u.if_cond.is_some() { "if" } else { "unless" };
            check_condition(cx, &format!("{up}.{field}"), c, &acls);
        }
        UseBackend { backend: u.backend.clone(), condition }
    }).collect();
    let cookie = p.cookie.as_ref().map(|c| Cookie {
        name: c.name.clone(),
        method: c.method.unwrap_or(CookieMethod::Insert),
        indirect: c.indirect.unwrap_or(true),
        nocache: c.nocache.unwrap_or(true),
    });
    let server_defaults = p.server_defaults.as_ref().map(|d| {
        if let Some(i) = &d.inter {
            duration(cx, &format!("{path}.server_defaults.inter"), i);
        }
        ServerOpts {
            check: d.check,
            inter: d.inter.clone(),
            rise: d.rise,
            fall: d.fall,
            weight: d.weight,
            maxconn: d.maxconn,
        }
    });
    let servers = match &p.servers {
        Some(list) => servers(
            cx,
            path,
            list,
            nodes,
            server_defaults.as_ref(),
            cookie.is_some(),
        ),
        // A listen that only shows stats, or forwards to a backend, has no servers of its own.
        None if kind == Backend
            || (kind == Listen && p.stats.is_none() && p.default_backend.is_none()) =>
        {
            web_servers(nodes)
        }
        None => vec![],
    };
    let stats = p
        .stats
        .as_ref()
        .map(|s| stats(cx, &format!("{path}.stats"), s));
    Proxy {
        kind,
        name: p.name.clone(),
        binds,
        mode: p.mode,
        balance: p
            .balance
            .as_ref()
            .map(|b| balance(cx, &format!("{path}.balance"), b)),
        options: p.options.clone(),
        acls: p.acls.clone(),
        use_backends,
        default_backend: p.default_backend.clone(),
        httpchk: p.httpchk.as_ref().map(|h| Httpchk {
            method: h.method.clone().unwrap_or_else(|| "GET".to_string()),
            uri: h.uri.clone().unwrap_or_else(|| "/".to_string()),
            version: h.version.clone(),
        }),
        cookie,
        server_defaults,
        servers,
        stats,
        maxconn: p.maxconn,
        timeouts,
        extra: p.extra.clone(),
    }
}

/// ACL names declared in this section (`acl NAME CRITERION [FLAGS] VALUES`).
fn acls(cx: &mut Ctx<'_>, path: &str, raw: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        let mut w = a.split_whitespace();
        match (w.next(), w.next()) {
            (Some(name), Some(_)) => names.push(name.to_string()),
            _ => cx.bad(
                &format!("{path}.acls[{i}]"),
                format!("`{a}` is not `NAME CRITERION [VALUES]`"),
                Some("e.g. `url_static path_beg -i /static /images`".to_string()),
            ),
        }
    }
    names
}

/// Every named ACL in a condition must be declared here or be one of haproxy's predefined.
fn check_condition(cx: &mut Ctx<'_>, path: &str, cond: &str, acls: &[String]) {
    let mut depth = 0usize;
    for tok in cond.split_whitespace() {
        if tok.starts_with('{') {
            depth += 1;
        }
        if depth > 0 {
            if tok.ends_with('}') {
                depth -= 1;
            }
            continue;
        }
        let name = tok.trim_start_matches('!');
        if name.is_empty() || ["or", "||"].contains(&name) {
            continue;
        }
        if !acls.iter().any(|a| a == name) && !PREDEFINED_ACLS.contains(&name) {
            let known: Vec<&str> = acls.iter().map(String::as_str).collect();
            cx.bad(
                path,
                format!("condition uses ACL `{name}`, which this section does not declare"),
                Some(format!(
                    "declare it under `acls:`; {}",
                    did_you_mean(name, &known)
                )),
            );
        }
    }
}

fn servers(
    cx: &mut Ctx<'_>,
    path: &str,
    list: &[RawServer],
    nodes: &[Node],
    defaults: Option<&ServerOpts>,
    cookie: bool,
) -> Vec<Server> {
    let mut out: Vec<Server> = Vec::new();
    let web_names: Vec<&str> = nodes
        .iter()
        .filter(|n| n.web.is_some())
        .map(|n| n.name.as_str())
        .collect();
    for (i, s) in list.iter().enumerate() {
        let sp = format!("{path}.servers[{i}]");
        let (name, node, address, port) = match (&s.node, &s.address) {
            (Some(nn), None) => {
                match nodes.iter().find(|n| &n.name == nn) {
                    Some(n) => match &n.web {
                        Some(w) => (
                            s.name.clone().unwrap_or_else(|| nn.clone()),
                            Some(nn.clone()),
                            match (s.ipv6 == Some(true), n.address6()) {
                                (false, _) => IpAddr::V4(n.address()),
                                (true, Some(a6)) => IpAddr::V6(a6),
                                (true, None) => {
                                    cx.bad(&format!("{sp}.ipv6"), format!("web node `{nn}` has no IPv6 address"), Some(format!("give `{nn}` an `address6` (its network needs an `ipv6` prefix), or drop `ipv6: true`")));
                                    continue;
                                }
                            },
                            s.port.unwrap_or(w.port),
                        ),
                        None => {
                            cx.bad(&format!("{sp}.node"), format!("node `{nn}` is not a web node"), Some(format!("backend servers are web nodes (role: web, or a `web` section); {}", did_you_mean(nn, &web_names))));
                            continue;
                        }
                    },
                    None => {
                        cx.bad(
                            &format!("{sp}.node"),
                            format!("no node named `{nn}`"),
                            Some(did_you_mean(nn, &web_names)),
                        );
                        continue;
                    }
                }
            }
            (None, Some(a)) => {
                let parsed = a.rsplit_once(':').and_then(|(ip, port)| {
                    let ip = match ip.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                        Some(v6) => IpAddr::V6(v6.parse::<Ipv6Addr>().ok()?),
                        None => IpAddr::V4(ip.parse().ok()?),
                    };
                    Some((ip, port.parse::<u16>().ok()?))
                });
                if s.ipv6.is_some() {
                    cx.bad_key(&format!("{sp}.ipv6"), "`ipv6` is set on a server given by `address`", Some("`ipv6: true` picks a web node's `address6`; for an address outside the lab write it as `[IPV6]:PORT`".to_string()));
                }
                let Some((ip, port)) = parsed else {
                    cx.bad(
                        &format!("{sp}.address"),
                        format!("`{a}` is not IPV4:PORT or [IPV6]:PORT"),
                        Some("e.g. 127.0.0.1:4331 or [fd00::5]:80".to_string()),
                    );
                    continue;
                };
                let Some(name) = s.name.clone() else {
                    cx.bad_key(
                        &format!("{sp}.address"),
                        "a server given by `address` needs a `name`",
                        Some(format!(
                            "haproxy names every server: `{{name: NAME, address: \"{a}\"}}`"
                        )),
                    );
                    continue;
                };
                (name, None, ip, port)
            }
            _ => {
                cx.bad(&sp, "a server needs exactly one of `node` and `address`", Some("`node: nginx1` for a web node of the lab, `address: IP:PORT` for anything else".to_string()));
                continue;
            }
        };
        if out.iter().any(|o| o.name == name) {
            cx.bad(
                &sp,
                format!("server `{name}` appears twice in this section"),
                Some("give it a distinct `name`".to_string()),
            );
        }
        if let Some(inter) = &s.inter {
            duration(cx, &format!("{sp}.inter"), inter);
        }
        for (field, v) in [("rise", s.rise), ("fall", s.fall)] {
            if v == Some(0) {
                cx.bad(
                    &format!("{sp}.{field}"),
                    format!("{field} 0 means the check never changes state"),
                    Some("use 1 or more".to_string()),
                );
            }
        }
        if let Some(w) = s.weight.filter(|w| *w > 256) {
            cx.bad(
                &format!("{sp}.weight"),
                format!("weight {w} is outside 0..256"),
                Some(
                    "haproxy's server weight is 0..256; 0 takes the server out of the balancing"
                        .to_string(),
                ),
            );
        }
        if s.cookie.is_some() && !cookie {
            cx.bad_key(
                &format!("{sp}.cookie"),
                "a server cookie without a `cookie` section",
                Some("add `cookie: {name: SERVERID}` to the backend".to_string()),
            );
        }
        out.push(Server {
            cookie: s.cookie.clone().or_else(|| cookie.then(|| name.clone())),
            name,
            node,
            address,
            port,
            check: s.check.or(defaults.and_then(|d| d.check)).unwrap_or(true),
            inter: s.inter.clone(),
            rise: s.rise,
            fall: s.fall,
            weight: s.weight,
            maxconn: s.maxconn,
            backup: s.backup.unwrap_or(false),
        });
    }
    out
}

fn stats(cx: &mut Ctx<'_>, path: &str, s: &RawStats) -> Stats {
    let auth = match (&s.user, &s.password) {
        // An unset variable is reported; the section still has auth, as written.
        (Some(u), Some(p)) => Some((
            u.clone(),
            cx.secret(&format!("{path}.password"), p)
                .unwrap_or_else(|| Secret::new(String::new())),
        )),
        (None, None) => None,
        (Some(_), None) => {
            cx.bad_key(
                &format!("{path}.user"),
                "stats `user` without `password`",
                Some("set both, e.g. `password: ${HALAB_STATS_PASSWORD}`".to_string()),
            );
            None
        }
        (None, Some(_)) => {
            cx.bad_key(
                &format!("{path}.password"),
                "stats `password` without `user`",
                Some("set both: haproxy's `stats auth USER:PASSWORD`".to_string()),
            );
            None
        }
    };
    if let Some(r) = &s.refresh {
        duration(cx, &format!("{path}.refresh"), r);
    }
    let uri = s.uri.clone().unwrap_or_else(|| "/stats".to_string());
    if !uri.starts_with('/') {
        cx.bad(
            &format!("{path}.uri"),
            format!("stats uri `{uri}` does not start with `/`"),
            Some(format!("write `/{uri}`")),
        );
    }
    if s.admin == Some(true) && auth.is_none() && s.user.is_none() && s.password.is_none() {
        cx.bad_key(&format!("{path}.admin"), "stats admin without `user`/`password`", Some("anyone who reaches the page could disable servers: add `user:` and `password: ${HALAB_STATS_PASSWORD}`, or drop `admin`".to_string()));
    }
    Stats {
        uri,
        realm: s.realm.clone(),
        auth,
        refresh: s.refresh.clone(),
        admin: s.admin.unwrap_or(false),
        show_legends: s.show_legends.unwrap_or(false),
        hide_version: s.hide_version.unwrap_or(false),
    }
}

fn check_references(cx: &mut Ctx<'_>, hp: &Haproxy, raw: &RawHaproxy) {
    let targets: Vec<&str> = hp
        .proxies
        .iter()
        .filter(|p| p.kind != ProxyKind::Frontend)
        .map(|p| p.name.as_str())
        .collect();
    let sections = [("frontends", &raw.frontends), ("listens", &raw.listens)];
    for (key, list) in sections {
        for (i, p) in list.iter().enumerate() {
            let path = format!("haproxy.{key}[{i}]");
            if let Some(d) = &p.default_backend
                && !targets.contains(&d.as_str())
            {
                cx.bad(
                    &format!("{path}.default_backend"),
                    format!("no backend named `{d}`"),
                    Some(did_you_mean(d, &targets)),
                );
            }
            for (j, u) in p.use_backends.iter().enumerate() {
                if !targets.contains(&u.backend.as_str()) {
                    cx.bad(
                        &format!("{path}.use_backends[{j}].backend"),
                        format!("no backend named `{}`", u.backend),
                        Some(did_you_mean(&u.backend, &targets)),
                    );
                }
            }
            // A frontend with servers of its own is reported as that.
            if key == "frontends"
                && p.default_backend.is_none()
                && p.use_backends.is_empty()
                && p.stats.is_none()
                && p.servers.is_none()
            {
                cx.bad_key(
                    &format!("{path}.name"),
                    format!("frontend `{}` sends traffic nowhere", p.name),
                    Some(format!(
                        "add `default_backend: NAME`; {}",
                        did_you_mean("", &targets)
                    )),
                );
            }
        }
    }
    for p in &hp.proxies {
        let mode = p.mode.unwrap_or(hp.defaults.mode);
        if mode == Mode::Tcp && (p.cookie.is_some() || p.stats.is_some()) {
            let (list, key) = match p.kind {
                ProxyKind::Frontend => (&raw.frontends, "frontends"),
                ProxyKind::Backend => (&raw.backends, "backends"),
                ProxyKind::Listen => (&raw.listens, "listens"),
            };
            let i = list.iter().position(|r| r.name == p.name).unwrap_or(0);
            let field = if p.cookie.is_some() {
                "cookie"
            } else {
                "stats"
            };
            cx.bad_key(
                &format!("haproxy.{key}[{i}].{field}"),
                format!(
                    "`{field}` needs HTTP, but {} `{}` is in tcp mode",
                    p.kind, p.name
                ),
                Some("set `mode: http` on this section".to_string()),
            );
        }
    }
}

/// Ports: two sections may not bind the same port, and an LB that also serves nginx must not
/// serve it on a port haproxy binds.
pub(super) fn check_ports(cx: &mut Ctx<'_>, raw: &RawLab, nodes: &[Node], hp: &Haproxy) {
    let mut seen: Vec<(u16, Option<IpAddr>, &str)> = Vec::new();
    // `*` is every IPv4 address and `::` every IPv6 one: each clashes with its own family.
    let family = |a: Option<IpAddr>| a.is_none_or(|a| a.is_ipv4());
    let wildcard = |a: Option<IpAddr>| a.is_none_or(|a| a.is_unspecified());
    for p in &hp.proxies {
        for (j, b) in p.binds.iter().enumerate() {
            let clash = seen.iter().find(|(port, addr, _)| {
                *port == b.port
                    && family(*addr) == family(b.address)
                    && (wildcard(*addr) || wildcard(b.address) || *addr == b.address)
            });
            if let Some((_, _, other)) = clash {
                let (key, i) = locate_proxy(raw, &p.name);
                cx.bad(
                    &format!("haproxy.{key}[{i}].bind[{j}]"),
                    format!("port {} is also bound by `{other}`", b.port),
                    Some("each frontend/listen needs its own port (or its own VIP)".to_string()),
                );
            }
            seen.push((b.port, b.address, &p.name));
        }
    }
    let implicit = raw
        .haproxy
        .as_ref()
        .is_none_or(|h| h.frontends.is_empty() && h.backends.is_empty() && h.listens.is_empty());
    for (i, n) in raw.nodes.iter().enumerate() {
        let Some(w) = nodes
            .iter()
            .find(|m| m.name == n.name && m.role == Role::Lb)
            .and_then(|m| m.web.as_ref())
        else {
            continue;
        };
        if let Some((port, _, px)) = seen.iter().find(|(port, _, _)| *port == w.port) {
            let who = if implicit {
                format!("halab's default frontend `{px}`")
            } else {
                format!("`{px}`")
            };
            cx.bad(&format!("nodes[{i}].web.port"), format!("nginx port {port} on LB `{}` is also haproxy's ({who})", n.name), Some("haproxy listens on it on every LB: give this node's nginx another port, e.g. `web: {port: 8080}`".to_string()));
        }
    }
}

fn locate_proxy(raw: &RawLab, name: &str) -> (&'static str, usize) {
    let Some(h) = &raw.haproxy else {
        return ("frontends", 0);
    };
    for (key, list) in [
        ("frontends", &h.frontends),
        ("backends", &h.backends),
        ("listens", &h.listens),
    ] {
        if let Some(i) = list.iter().position(|p| p.name == name) {
            return (key, i);
        }
    }
    ("frontends", 0)
}
