//! Statements into the typed [`Config`]: every keyword halabd knows, every error with its place.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::str::FromStr;

use halab_vrrp::{
    AdvertIntervalError, InitialState, Instance, Password, Version, Vip, advert_interval_cs,
};

use super::lexer::{Pos, Token, split_command};
use super::tree::Stmt;
use super::{
    Config, Diagnostic, InstanceConf, NotifyConf, RouteConf, ScriptConf, SyncGroupConf, VipConf,
};

/// Where problems go.
struct Out<'a> {
    errors: &'a mut Vec<Diagnostic>,
    notices: &'a mut Vec<Diagnostic>,
}

impl Out<'_> {
    fn err(&mut self, pos: &Pos, message: impl Into<String>) {
        self.errors.push(Diagnostic::at(pos, message));
    }

    fn notice(&mut self, pos: &Pos, message: impl Into<String>) {
        self.notices.push(Diagnostic::at(pos, message));
    }

    /// An unknown keyword, with the nearest known one as a hint.
    fn unknown(&mut self, stmt: &Stmt, within: &str, known: &[&str]) {
        let word = &stmt.key.text;
        let hint = known
            .iter()
            .map(|k| (strsim::jaro_winkler(word, k), *k))
            .filter(|(score, _)| *score > 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default();
        let message = match unsupported_reason(word) {
            Some(reason) => format!("`{word}` in {within} is not supported by halabd: {reason}"),
            None => format!("unknown or unsupported keyword `{word}` in {within}{hint}"),
        };
        self.err(stmt.pos(), message);
    }
}

/// Well-known keepalived keywords halabd deliberately lacks, and why.
fn unsupported_reason(word: &str) -> Option<&'static str> {
    Some(match word {
        "virtual_server" | "virtual_server_group" | "real_server" => {
            "it belongs to keepalived's LVS checker, not to VRRP"
        }
        "vrrp_strict" => "halabd always speaks RFC-conformant VRRP; remove the line",
        "vrrp_track_process" | "vrrp_track_file" | "track_process" | "track_file" | "track_bfd" => {
            "only vrrp_script and track_interface tracking are implemented"
        }
        "virtual_ipaddress_excluded" | "virtual_rules" | "static_ipaddress" | "static_routes" => {
            "not implemented"
        }
        "use_vmac" | "vmac_xmit_base" => "VMAC interfaces are not implemented",
        "smtp_alert" => "e-mail alerts are not implemented",
        _ => return None,
    })
}

pub fn config(
    stmts: &[Stmt],
    errors: &mut Vec<Diagnostic>,
    notices: &mut Vec<Diagnostic>,
) -> Config {
    let mut out = Out { errors, notices };
    let mut config = Config::default();
    let mut default_version = Version::V2;
    // Positions for cross-reference errors.
    let mut script_pos: HashMap<String, Pos> = HashMap::new();
    let mut instance_pos: Vec<Pos> = Vec::new();
    let mut group_pos: Vec<Pos> = Vec::new();
    let mut instance_stmts = Vec::new();

    for stmt in stmts {
        match stmt.key.text.as_str() {
            "global_defs" => {
                if let Some(block) = block_of(stmt, &mut out) {
                    global_defs(block, &mut config, &mut default_version, &mut out);
                }
            }
            "vrrp_script" => {
                let Some(name) = name_of(stmt, "vrrp_script", &mut out) else {
                    continue;
                };
                let Some(block) = block_of(stmt, &mut out) else {
                    continue;
                };
                if script_pos.contains_key(&name) {
                    out.err(stmt.pos(), format!("vrrp_script `{name}` is defined twice"));
                    continue;
                }
                if let Some(script) = script(&name, stmt, block, &mut out) {
                    script_pos.insert(name, stmt.pos().clone());
                    config.scripts.push(script);
                }
            }
            // Instances are read after global_defs, wherever it is, for vrrp_version.
            "vrrp_instance" => instance_stmts.push(stmt),
            "vrrp_sync_group" => {
                let Some(name) = name_of(stmt, "vrrp_sync_group", &mut out) else {
                    continue;
                };
                let Some(block) = block_of(stmt, &mut out) else {
                    continue;
                };
                group_pos.push(stmt.pos().clone());
                config.sync_groups.push(sync_group(name, block, &mut out));
            }
            _ => out.unknown(
                stmt,
                "the top level",
                &[
                    "global_defs",
                    "vrrp_script",
                    "vrrp_instance",
                    "vrrp_sync_group",
                    "include",
                ],
            ),
        }
    }
    for stmt in instance_stmts {
        let Some(name) = name_of(stmt, "vrrp_instance", &mut out) else {
            continue;
        };
        let Some(block) = block_of(stmt, &mut out) else {
            continue;
        };
        if config.instances.iter().any(|i| i.name == name) {
            out.err(
                stmt.pos(),
                format!("vrrp_instance `{name}` is defined twice"),
            );
            continue;
        }
        if let Some(instance) = instance(name, stmt, block, default_version, &mut out) {
            instance_pos.push(stmt.pos().clone());
            config.instances.push(instance);
        }
    }
    cross_check(&config, &script_pos, &instance_pos, &group_pos, &mut out);
    config
}

/// References between blocks, and what the protocol core itself rejects.
fn cross_check(
    config: &Config,
    scripts: &HashMap<String, Pos>,
    instance_pos: &[Pos],
    group_pos: &[Pos],
    out: &mut Out<'_>,
) {
    let mut vrids: HashMap<(&str, u8), &str> = HashMap::new();
    for (instance, pos) in config.instances.iter().zip(instance_pos) {
        for (name, _) in &instance.track_scripts {
            if !scripts.contains_key(name) {
                out.err(
                    pos,
                    format!(
                        "vrrp_instance {} tracks script `{name}`, which no vrrp_script defines",
                        instance.name
                    ),
                );
            }
        }
        if let Some(other) = vrids.insert((&instance.interface, instance.vrid), &instance.name) {
            out.err(
                pos,
                format!(
                    "vrrp_instance {} uses virtual_router_id {} on {} like {other}",
                    instance.name, instance.vrid, instance.interface
                ),
            );
        }
        // What the protocol core rejects, with a placeholder primary address.
        match Instance::new(instance.core_config(Ipv4Addr::UNSPECIFIED)) {
            Ok(core) => {
                for warning in core.warnings() {
                    out.notice(pos, format!("vrrp_instance {}: {warning}", instance.name));
                }
            }
            Err(errors) => {
                for error in errors.0 {
                    out.err(pos, format!("vrrp_instance {}: {error}", instance.name));
                }
            }
        }
    }
    let mut grouped: HashSet<&str> = HashSet::new();
    for (group, pos) in config.sync_groups.iter().zip(group_pos) {
        if group.instances.is_empty() {
            out.err(
                pos,
                format!(
                    "vrrp_sync_group {} has no `group {{ ... }}` of instances",
                    group.name
                ),
            );
        }
        for member in &group.instances {
            if !config.instances.iter().any(|i| &i.name == member) {
                out.err(
                    pos,
                    format!(
                        "vrrp_sync_group {} names `{member}`, which no vrrp_instance defines",
                        group.name
                    ),
                );
            } else if !grouped.insert(member) {
                out.err(
                    pos,
                    format!("vrrp_instance {member} is in more than one vrrp_sync_group"),
                );
            }
        }
    }
}

fn global_defs(block: &[Stmt], config: &mut Config, version: &mut Version, out: &mut Out<'_>) {
    for stmt in block {
        match stmt.key.text.as_str() {
            "router_id" => config.router_id = one_arg(stmt, out).map(|t| t.text.clone()),
            "vrrp_version" => {
                if let Some(v) = one_arg(stmt, out).and_then(|t| version_of(t, out)) {
                    *version = v;
                }
            }
            "script_user" => match stmt.args.as_slice() {
                [user] => config.script_user = Some((user.text.clone(), None)),
                [user, group] => {
                    config.script_user = Some((user.text.clone(), Some(group.text.clone())))
                }
                _ => out.err(
                    stmt.pos(),
                    "script_user takes a user and optionally a group",
                ),
            },
            "enable_script_security" => {
                no_args(stmt, out);
                config.enable_script_security = true;
            }
            "notification_email"
            | "notification_email_from"
            | "smtp_server"
            | "smtp_connect_timeout" => out.notice(
                stmt.pos(),
                format!("{} is ignored: halabd sends no e-mail", stmt.key.text),
            ),
            _ => out.unknown(
                stmt,
                "global_defs",
                &[
                    "router_id",
                    "vrrp_version",
                    "script_user",
                    "enable_script_security",
                    "notification_email",
                    "notification_email_from",
                    "smtp_server",
                    "smtp_connect_timeout",
                ],
            ),
        }
    }
}

fn script(name: &str, stmt: &Stmt, block: &[Stmt], out: &mut Out<'_>) -> Option<ScriptConf> {
    let mut command = None;
    let mut conf = ScriptConf {
        name: name.to_owned(),
        command: String::new(),
        argv: Vec::new(),
        interval_ms: 1_000,
        timeout_ms: None,
        weight: 0,
        rise: 1,
        fall: 1,
        init_fail: false,
    };
    for s in block {
        match s.key.text.as_str() {
            "script" => {
                if s.args.is_empty() {
                    out.err(s.pos(), "script needs a command");
                    continue;
                }
                // `script "cmd args"` or `script cmd args`.
                let text = s
                    .args
                    .iter()
                    .map(|t| t.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                match split_command(&text) {
                    Ok(argv) if !argv.is_empty() => {
                        conf.argv = argv;
                        command = Some(text);
                    }
                    Ok(_) => out.err(s.pos(), "script needs a command"),
                    Err(e) => out.err(s.pos(), e),
                }
            }
            "interval" => {
                if let Some(ms) = one_arg(s, out).and_then(|t| millis(t, out)) {
                    if ms == 0 {
                        out.err(s.pos(), "interval must be above 0");
                    }
                    conf.interval_ms = ms.max(1);
                }
            }
            "timeout" => conf.timeout_ms = one_arg(s, out).and_then(|t| millis(t, out)),
            "weight" => match s.args.as_slice() {
                [w] => conf.weight = int_in(w, -253, 253, out).unwrap_or(0) as i32,
                [_, reverse] if reverse.text == "reverse" => {
                    out.err(s.pos(), "`weight N reverse` is not supported by halabd")
                }
                _ => out.err(s.pos(), "weight takes one number"),
            },
            "rise" => {
                conf.rise = one_arg(s, out)
                    .and_then(|t| int_in(t, 1, 1_000_000, out))
                    .unwrap_or(1) as u32
            }
            "fall" => {
                conf.fall = one_arg(s, out)
                    .and_then(|t| int_in(t, 1, 1_000_000, out))
                    .unwrap_or(1) as u32
            }
            "init_fail" => {
                no_args(s, out);
                conf.init_fail = true;
            }
            _ => out.unknown(
                s,
                &format!("vrrp_script {name}"),
                &[
                    "script",
                    "interval",
                    "timeout",
                    "weight",
                    "rise",
                    "fall",
                    "init_fail",
                ],
            ),
        }
    }
    let Some(command) = command else {
        out.err(
            stmt.pos(),
            format!("vrrp_script {name} has no `script` line"),
        );
        return None;
    };
    conf.command = command;
    Some(conf)
}

fn instance(
    name: String,
    stmt: &Stmt,
    block: &[Stmt],
    default_version: Version,
    out: &mut Out<'_>,
) -> Option<InstanceConf> {
    let within = format!("vrrp_instance {name}");
    let mut interface = None;
    let mut vrid = None;
    let mut advert: Option<(u64, Pos)> = None;
    let mut conf = InstanceConf {
        name: name.clone(),
        initial_state: InitialState::Backup,
        interface: String::new(),
        vrid: 0,
        priority: 100,
        advert_interval_cs: 100,
        version: default_version,
        auth: None,
        vips: Vec::new(),
        track_scripts: Vec::new(),
        track_interfaces: Vec::new(),
        preempt: true,
        preempt_delay_ms: 0,
        garp_master_delay_s: 5,
        garp_master_repeat: 5,
        garp_master_refresh_s: 0,
        unicast_src_ip: None,
        unicast_peers: Vec::new(),
        notify: NotifyConf::default(),
        virtual_routes: Vec::new(),
    };
    for s in block {
        match s.key.text.as_str() {
            "state" => match one_arg(s, out).map(|t| t.text.as_str()) {
                Some("MASTER") => conf.initial_state = InitialState::Master,
                Some("BACKUP") => conf.initial_state = InitialState::Backup,
                Some(other) => out.err(
                    s.pos(),
                    format!("state must be MASTER or BACKUP, not `{other}`"),
                ),
                None => {}
            },
            "interface" => interface = one_arg(s, out).map(|t| t.text.clone()),
            "virtual_router_id" => {
                vrid = one_arg(s, out)
                    .and_then(|t| int_in(t, 1, 255, out))
                    .map(|v| v as u8)
            }
            "priority" => {
                if let Some(p) = one_arg(s, out).and_then(|t| int_in(t, 1, 255, out)) {
                    conf.priority = p as u8;
                }
            }
            "advert_int" => {
                advert = one_arg(s, out)
                    .and_then(|t| millis(t, out))
                    .map(|ms| (ms, s.pos().clone()))
            }
            "version" => {
                if let Some(v) = one_arg(s, out).and_then(|t| version_of(t, out)) {
                    conf.version = v;
                }
            }
            "authentication" => {
                if let Some(b) = block_of(s, out) {
                    conf.auth = authentication(b, s, out);
                }
            }
            "virtual_ipaddress" => {
                if let Some(b) = block_of(s, out) {
                    for entry in b {
                        if let Some(vip) = vip(entry, out) {
                            conf.vips.push(vip);
                        }
                    }
                }
            }
            "track_script" => {
                if let Some(b) = block_of(s, out) {
                    for entry in b {
                        if let Some(t) = tracked(entry, out) {
                            conf.track_scripts.push((t.0, t.1));
                        }
                    }
                }
            }
            "track_interface" => {
                if let Some(b) = block_of(s, out) {
                    for entry in b {
                        if let Some(t) = tracked(entry, out) {
                            conf.track_interfaces.push((t.0, t.1.unwrap_or(0)));
                        }
                    }
                }
            }
            "nopreempt" => {
                no_args(s, out);
                conf.preempt = false;
            }
            "preempt_delay" => {
                if let Some(ms) = one_arg(s, out).and_then(|t| millis(t, out)) {
                    if ms > 1_000_000 {
                        out.err(s.pos(), "preempt_delay is at most 1000 seconds");
                    }
                    conf.preempt_delay_ms = ms;
                }
            }
            "garp_master_delay" => {
                if let Some(v) = one_arg(s, out).and_then(|t| int_in(t, 0, 86_400, out)) {
                    conf.garp_master_delay_s = v as u64;
                }
            }
            "garp_master_repeat" => {
                if let Some(v) = one_arg(s, out).and_then(|t| int_in(t, 1, 1_000, out)) {
                    conf.garp_master_repeat = v as u32;
                }
            }
            "garp_master_refresh" => {
                if let Some(v) = one_arg(s, out).and_then(|t| int_in(t, 0, 86_400, out)) {
                    conf.garp_master_refresh_s = v as u64;
                }
            }
            "unicast_src_ip" => conf.unicast_src_ip = one_arg(s, out).and_then(|t| ipv4(t, out)),
            "unicast_peer" => {
                if let Some(b) = block_of(s, out) {
                    for entry in b {
                        if entry.args.is_empty() {
                            if let Some(ip) = ipv4(&entry.key, out) {
                                conf.unicast_peers.push(ip);
                            }
                        } else {
                            out.err(entry.pos(), "unicast_peer options (min_ttl, max_ttl) are not supported; list one address per line");
                        }
                    }
                }
            }
            "notify_master" => conf.notify.master = command(s, out),
            "notify_backup" => conf.notify.backup = command(s, out),
            "notify_fault" => conf.notify.fault = command(s, out),
            "notify_stop" => conf.notify.stop = command(s, out),
            "notify" => conf.notify.any = command(s, out),
            "virtual_routes" => {
                if let Some(b) = block_of(s, out) {
                    for entry in b {
                        if let Some(route) = route(entry, out) {
                            conf.virtual_routes.push(route);
                        }
                    }
                }
            }
            _ => out.unknown(
                s,
                &within,
                &[
                    "state",
                    "interface",
                    "virtual_router_id",
                    "priority",
                    "advert_int",
                    "version",
                    "authentication",
                    "virtual_ipaddress",
                    "track_script",
                    "track_interface",
                    "nopreempt",
                    "preempt_delay",
                    "garp_master_delay",
                    "garp_master_repeat",
                    "garp_master_refresh",
                    "unicast_src_ip",
                    "unicast_peer",
                    "notify_master",
                    "notify_backup",
                    "notify_fault",
                    "notify_stop",
                    "notify",
                    "virtual_routes",
                ],
            ),
        }
    }
    if let Some((ms, pos)) = advert {
        match advert_interval_cs(conf.version, ms.saturating_mul(1_000)) {
            Ok(cs) => conf.advert_interval_cs = cs,
            Err(AdvertIntervalError::NotWholeSeconds) => out.err(&pos, format!("advert_int {} s is not a whole number of seconds, which vrrp version 2 needs (use `version 3`)", ms as f64 / 1000.0)),
            Err(AdvertIntervalError::Resolution) => out.err(&pos, "advert_int has a resolution of 0.01 s"),
            Err(e @ (AdvertIntervalError::V2Range | AdvertIntervalError::V3Range)) => {
                out.err(&pos, format!("advert_int is out of range: {e}"))
            }
        }
    }
    let mut complete = true;
    match interface {
        Some(i) => conf.interface = i,
        None => {
            out.err(stmt.pos(), format!("{within} has no `interface`"));
            complete = false;
        }
    }
    match vrid {
        Some(v) => conf.vrid = v,
        None => {
            out.err(stmt.pos(), format!("{within} has no `virtual_router_id`"));
            complete = false;
        }
    }
    if conf.vips.is_empty() {
        out.notice(stmt.pos(), format!("{within} has no virtual_ipaddress"));
    }
    complete.then_some(conf)
}

fn authentication(block: &[Stmt], stmt: &Stmt, out: &mut Out<'_>) -> Option<Password> {
    let mut kind = None;
    let mut pass = None;
    for s in block {
        match s.key.text.as_str() {
            "auth_type" => kind = one_arg(s, out).map(|t| (t.text.clone(), s.pos().clone())),
            "auth_pass" => pass = one_arg(s, out).map(|t| (t.text.clone(), s.pos().clone())),
            _ => out.unknown(s, "authentication", &["auth_type", "auth_pass"]),
        }
    }
    match kind {
        Some((k, _)) if k == "PASS" => {}
        Some((k, pos)) if k == "AH" => {
            out.err(
                &pos,
                "auth_type AH is not supported by halabd (use PASS or none)",
            );
            return None;
        }
        Some((k, pos)) => {
            out.err(&pos, format!("auth_type must be PASS, not `{k}`"));
            return None;
        }
        None => {
            out.err(stmt.pos(), "authentication needs `auth_type PASS`");
            return None;
        }
    }
    let Some((mut text, pos)) = pass else {
        out.err(stmt.pos(), "authentication needs `auth_pass`");
        return None;
    };
    if text.len() > 8 {
        // keepalived truncates to 8 bytes as well, with a warning.
        out.notice(
            &pos,
            "auth_pass is longer than 8 characters, truncated as keepalived does",
        );
        while text.len() > 8 {
            text.pop();
        }
    }
    Password::from_text(&text).ok()
}

/// `ADDR[/LEN] [dev IF] [label LABEL]`.
fn vip(entry: &Stmt, out: &mut Out<'_>) -> Option<VipConf> {
    let vip = match Vip::from_str(&entry.key.text) {
        Ok(vip) => vip,
        Err(e) => {
            out.err(entry.pos(), e.to_string());
            return None;
        }
    };
    let mut conf = VipConf {
        vip,
        dev: None,
        label: None,
    };
    let mut args = entry.args.iter();
    while let Some(key) = args.next() {
        let Some(value) = args.next() else {
            out.err(&key.pos, format!("`{}` needs a value", key.text));
            return None;
        };
        match key.text.as_str() {
            "dev" => conf.dev = Some(value.text.clone()),
            "label" => conf.label = Some(value.text.clone()),
            other => {
                out.err(
                    &key.pos,
                    format!(
                        "virtual_ipaddress option `{other}` is not supported (dev and label are)"
                    ),
                );
                return None;
            }
        }
    }
    Some(conf)
}

/// `NAME [weight N]`.
fn tracked(entry: &Stmt, out: &mut Out<'_>) -> Option<(String, Option<i32>)> {
    match entry.args.as_slice() {
        [] => Some((entry.key.text.clone(), None)),
        [w, n] if w.text == "weight" => {
            let weight = int_in(n, -253, 253, out)?;
            Some((entry.key.text.clone(), Some(weight as i32)))
        }
        _ => {
            out.err(entry.pos(), "expected `NAME` or `NAME weight N`");
            None
        }
    }
}

/// `[src ADDR] [to] DEST[/LEN] [via|gw ADDR] [dev IF] [metric N]`, or `blackhole DEST[/LEN]`.
fn route(entry: &Stmt, out: &mut Out<'_>) -> Option<RouteConf> {
    let words: Vec<&Token> = entry.words().collect();
    let mut route = RouteConf {
        src: None,
        dest: Ipv4Addr::UNSPECIFIED,
        prefix_len: 32,
        via: None,
        dev: None,
        metric: None,
        blackhole: false,
    };
    let mut dest = None;
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        let value = words.get(i + 1).copied();
        let mut take = |out: &mut Out<'_>| {
            i += 2;
            if value.is_none() {
                out.err(&word.pos, format!("`{}` needs a value", word.text));
            }
            value
        };
        match word.text.as_str() {
            "src" => route.src = take(out).and_then(|v| ipv4(v, out)),
            "via" | "gw" => route.via = take(out).and_then(|v| ipv4(v, out)),
            "dev" => route.dev = take(out).map(|v| v.text.clone()),
            "metric" => {
                route.metric = take(out)
                    .and_then(|v| int_in(v, 0, i64::from(u32::MAX), out))
                    .map(|m| m as u32)
            }
            "to" => dest = take(out),
            "blackhole" => {
                route.blackhole = true;
                i += 1;
            }
            _ if dest.is_none() && word.text.contains(['.', '/']) => {
                dest = Some(word);
                i += 1;
            }
            other => {
                out.err(&word.pos, format!("virtual_routes option `{other}` is not supported (src, to, via, gw, dev, metric, blackhole are)"));
                return None;
            }
        }
    }
    let Some(dest) = dest else {
        out.err(entry.pos(), "virtual route has no destination");
        return None;
    };
    match Vip::from_str(&dest.text) {
        Ok(net) => {
            route.dest = net.address;
            route.prefix_len = net.prefix_len;
        }
        Err(_) => {
            out.err(
                &dest.pos,
                format!("invalid route destination `{}`", dest.text),
            );
            return None;
        }
    }
    if !route.blackhole && route.via.is_none() && route.dev.is_none() {
        out.err(
            entry.pos(),
            "virtual route needs `via`, `dev` or `blackhole`",
        );
        return None;
    }
    Some(route)
}

fn sync_group(name: String, block: &[Stmt], out: &mut Out<'_>) -> SyncGroupConf {
    let mut group = SyncGroupConf {
        name: name.clone(),
        ..SyncGroupConf::default()
    };
    for s in block {
        match s.key.text.as_str() {
            "group" => {
                if let Some(b) = block_of(s, out) {
                    for entry in b {
                        for word in entry.words() {
                            group.instances.push(word.text.clone());
                        }
                        if entry.block.is_some() {
                            out.err(entry.pos(), "unexpected block in group");
                        }
                    }
                }
            }
            "notify_master" => group.notify.master = command(s, out),
            "notify_backup" => group.notify.backup = command(s, out),
            "notify_fault" => group.notify.fault = command(s, out),
            "notify_stop" => group.notify.stop = command(s, out),
            "notify" => group.notify.any = command(s, out),
            _ => out.unknown(
                s,
                &format!("vrrp_sync_group {name}"),
                &[
                    "group",
                    "notify_master",
                    "notify_backup",
                    "notify_fault",
                    "notify_stop",
                    "notify",
                ],
            ),
        }
    }
    group
}

// Small readers. Each reports its own error and returns None.

fn name_of(stmt: &Stmt, what: &str, out: &mut Out<'_>) -> Option<String> {
    match stmt.args.as_slice() {
        [name] => Some(name.text.clone()),
        _ => {
            out.err(stmt.pos(), format!("{what} needs exactly one name"));
            None
        }
    }
}

fn block_of<'a>(stmt: &'a Stmt, out: &mut Out<'_>) -> Option<&'a [Stmt]> {
    match &stmt.block {
        Some(block) => Some(block),
        None => {
            out.err(
                stmt.pos(),
                format!("`{}` needs a `{{ ... }}` block", stmt.key.text),
            );
            None
        }
    }
}

fn one_arg<'a>(stmt: &'a Stmt, out: &mut Out<'_>) -> Option<&'a Token> {
    if stmt.block.is_some() {
        out.err(stmt.pos(), format!("`{}` takes no block", stmt.key.text));
        return None;
    }
    match stmt.args.as_slice() {
        [arg] => Some(arg),
        _ => {
            out.err(
                stmt.pos(),
                format!("`{}` takes exactly one value", stmt.key.text),
            );
            None
        }
    }
}

fn no_args(stmt: &Stmt, out: &mut Out<'_>) {
    if !stmt.args.is_empty() || stmt.block.is_some() {
        out.err(stmt.pos(), format!("`{}` takes no value", stmt.key.text));
    }
}

fn command(stmt: &Stmt, out: &mut Out<'_>) -> Option<String> {
    if stmt.args.is_empty() || stmt.block.is_some() {
        out.err(stmt.pos(), format!("`{}` needs a command", stmt.key.text));
        return None;
    }
    let text = stmt
        .args
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    match split_command(&text) {
        Ok(words) if !words.is_empty() => Some(text),
        Ok(_) => {
            out.err(stmt.pos(), format!("`{}` needs a command", stmt.key.text));
            None
        }
        Err(e) => {
            out.err(stmt.pos(), e);
            None
        }
    }
}

fn int_in(token: &Token, min: i64, max: i64, out: &mut Out<'_>) -> Option<i64> {
    match token.text.parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Some(v),
        Ok(v) => {
            out.err(&token.pos, format!("{v} is out of range {min}..={max}"));
            None
        }
        Err(_) => {
            out.err(
                &token.pos,
                format!("`{}` is not a whole number", token.text),
            );
            None
        }
    }
}

/// Seconds, possibly with decimals ("0.1", "2"), as milliseconds.
fn millis(token: &Token, out: &mut Out<'_>) -> Option<u64> {
    let text = &token.text;
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 3 {
        out.err(
            &token.pos,
            format!("`{text}` is not a number of seconds (up to 3 decimals)"),
        );
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        match whole.parse::<u64>() {
            Ok(w) if w <= 1_000_000 => w,
            _ => {
                out.err(&token.pos, format!("`{text}` seconds is too long"));
                return None;
            }
        }
    };
    let frac_ms: u64 = format!("{frac:0<3}").parse().unwrap_or(0);
    Some(whole * 1_000 + frac_ms)
}

fn ipv4(token: &Token, out: &mut Out<'_>) -> Option<Ipv4Addr> {
    match token.text.parse() {
        Ok(ip) => Some(ip),
        Err(_) => {
            out.err(
                &token.pos,
                format!("`{}` is not an IPv4 address", token.text),
            );
            None
        }
    }
}

fn version_of(token: &Token, out: &mut Out<'_>) -> Option<Version> {
    let version = token.text.parse().ok().and_then(Version::from_number);
    if version.is_none() {
        out.err(
            &token.pos,
            format!("vrrp version must be 2 or 3, not `{}`", token.text),
        );
    }
    version
}
