//! Entries of `virtual_ipaddress`, `virtual_ipaddress_excluded` and `virtual_routes`, and the
//! instance's address family.

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use halab_vrrp::{Family, Version, Vip};

use super::Out;
use super::read::{int_in, ipv4};
use crate::lexer::{Pos, Token};
use crate::tree::Stmt;
use crate::{InstanceConf, RouteConf, VipConf};

/// An IPv4 or IPv6 address (`unicast_src_ip`, `unicast_peer`).
pub(super) fn ip(token: &Token, out: &mut Out<'_>) -> Option<IpAddr> {
    match token.text.parse() {
        Ok(ip) => Some(ip),
        Err(_) => {
            out.err(
                &token.pos,
                format!("`{}` is not an IPv4 or IPv6 address", token.text),
            );
            None
        }
    }
}

/// keepalived 2.2.7's address families for one instance: the first VIP's family is the
/// instance's; a `virtual_ipaddress` of the other family is ignored with keepalived's notice
/// (`virtual_ipaddress_excluded` takes either); IPv6 needs VRRPv3 (keepalived: "cannot use IPv6
/// with VRRP version 2; setting version 3"); the unicast addresses must be of the family.
pub(super) fn settle_families(conf: &mut InstanceConf, version_pos: &Pos, out: &mut Out<'_>) {
    let family = conf.family();
    conf.vips.retain(|v| {
        let keep = v.vip.family() == family;
        if !keep {
            out.notice(
                version_pos,
                format!(
                    "({}) address family must match VRRP instance [{}] - ignoring",
                    conf.name, v.vip
                ),
            );
        }
        keep
    });
    if family == Family::Ipv6 && conf.version == Version::V2 {
        out.notice(
            version_pos,
            format!(
                "({}) cannot use IPv6 with VRRP version 2; setting version 3",
                conf.name
            ),
        );
        conf.version = Version::V3;
    }
    let unicast = conf.unicast_src_ip.iter().chain(&conf.unicast_peers);
    for address in unicast.filter(|a| Family::of(**a) != family) {
        out.err(
            version_pos,
            format!(
                "vrrp_instance {}: unicast address {address} is not of the instance's family ({family:?}, from its first virtual_ipaddress)",
                conf.name
            ),
        );
    }
}

/// `ADDR[/LEN] [dev IF] [label LABEL]`.
pub(super) fn vip(entry: Stmt<'_>, out: &mut Out<'_>) -> Option<VipConf> {
    let vip = match Vip::from_str(entry.key.text) {
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
        brd: None,
        scope: None,
        no_track: false,
    };
    let mut args = entry.args.iter();
    while let Some(key) = args.next() {
        // keepalived's flags without a value.
        match key.text {
            "no_track" => {
                conf.no_track = true;
                continue;
            }
            "home" | "-nodad" | "noprefixroute" | "autojoin" | "peer" | "preferred_lft" => {
                out.err(
                    &key.pos,
                    format!(
                        "virtual_ipaddress option `{}` is not supported by halabd (dev, label, brd, scope and no_track are)",
                        key.text
                    ),
                );
                return None;
            }
            _ => {}
        }
        let Some(value) = args.next() else {
            out.err(&key.pos, format!("`{}` needs a value", key.text));
            return None;
        };
        match key.text {
            "dev" => conf.dev = Some(value.text.to_owned()),
            "label" => conf.label = Some(value.text.to_owned()),
            "brd" | "broadcast" => {
                let text = value.text;
                if text != "+" && text != "-" && text.parse::<Ipv4Addr>().is_err() {
                    out.err(
                        &value.pos,
                        format!("brd takes an IPv4 address, `+` or `-`, not `{text}`"),
                    );
                    return None;
                }
                conf.brd = Some(text.to_owned());
            }
            "scope" => {
                let text = value.text;
                if scope_number(text).is_none() {
                    out.err(
                        &value.pos,
                        format!("scope must be global, site, link, host, nowhere or 0..=255, not `{text}`"),
                    );
                    return None;
                }
                conf.scope = Some(text.to_owned());
            }
            other => {
                out.err(
                    &key.pos,
                    format!(
                        "virtual_ipaddress option `{other}` is not supported (dev, label, brd, scope and no_track are)"
                    ),
                );
                return None;
            }
        }
    }
    Some(conf)
}

/// `[src ADDR] [to] DEST[/LEN] [via|gw ADDR] [dev IF] [metric N]`, or `blackhole DEST[/LEN]`.
pub(super) fn route(entry: Stmt<'_>, out: &mut Out<'_>) -> Option<RouteConf> {
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
        match word.text {
            "src" => route.src = take(out).and_then(|v| ipv4(v, out)),
            "via" | "gw" => route.via = take(out).and_then(|v| ipv4(v, out)),
            "dev" => route.dev = take(out).map(|v| v.text.to_owned()),
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
    match Vip::from_str(dest.text) {
        Ok(Vip {
            address: IpAddr::V4(address),
            prefix_len,
        }) => {
            route.dest = address;
            route.prefix_len = prefix_len;
        }
        Ok(_) => {
            out.err(
                &dest.pos,
                format!(
                    "virtual route to `{}`: IPv6 virtual_routes are not supported",
                    dest.text
                ),
            );
            return None;
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

/// An address scope as `ip addr` names it (rtnetlink's `RT_SCOPE_*`), or its number.
pub fn scope_number(text: &str) -> Option<u8> {
    match text {
        "global" => Some(0),
        "site" => Some(200),
        "link" => Some(253),
        "host" => Some(254),
        "nowhere" => Some(255),
        other => other.parse().ok(),
    }
}
