//! A small reader of haproxy.cfg: its sections, their binds, servers and default backend,
//! each with its line. Not a parser of everything haproxy accepts: `haproxy -c` judges the
//! file; this reads what `halab import` needs to lay out the lab.

use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// frontend, backend, listen (global and defaults are skipped).
    pub kind: String,
    pub name: String,
    pub line: usize,
    /// (address or None for `*`/empty, port, line).
    pub binds: Vec<(Option<Ipv4Addr>, u16, usize)>,
    pub servers: Vec<Server>,
    pub default_backend: Option<String>,
    pub stats: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub name: String,
    /// The address as written (an IP, or a name halab cannot place).
    pub host: String,
    pub port: Option<u16>,
    pub check: bool,
    pub backup: bool,
    pub line: usize,
}

/// A line the reader could not use: (line, what).
pub type Problem = (usize, String);

/// Reads the sections of `text`; problems are lines it could not read.
pub fn read(text: &str) -> (Vec<Section>, Vec<Problem>) {
    let mut out: Vec<Section> = Vec::new();
    let mut problems = Vec::new();
    let mut current: Option<Section> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.split('#').next().unwrap_or("");
        let words: Vec<&str> = l.split_whitespace().collect();
        let Some(first) = words.first() else { continue };
        if !raw.starts_with([' ', '\t'])
            || matches!(
                *first,
                "frontend" | "backend" | "listen" | "global" | "defaults"
            )
        {
            match *first {
                "frontend" | "backend" | "listen" => {
                    out.extend(current.take());
                    let Some(name) = words.get(1) else {
                        problems.push((line, format!("`{first}` without a name")));
                        continue;
                    };
                    let mut s = Section {
                        kind: (*first).to_string(),
                        name: (*name).to_string(),
                        line,
                        binds: vec![],
                        servers: vec![],
                        default_backend: None,
                        stats: false,
                    };
                    // haproxy 1.x: `listen NAME ADDR:PORT`.
                    if let Some(a) = words.get(2) {
                        bind(&mut s, a, line, &mut problems);
                    }
                    current = Some(s);
                    continue;
                }
                "global" | "defaults" | "userlist" | "peers" | "resolvers" | "program"
                | "cache" | "mailers" | "http-errors" | "ring" => {
                    out.extend(current.take());
                    continue;
                }
                _ => {}
            }
        }
        let Some(s) = current.as_mut() else { continue };
        match *first {
            "bind" => match words.get(1) {
                Some(a) => bind(s, a, line, &mut problems),
                None => problems.push((line, "`bind` without an address".into())),
            },
            "default_backend" => s.default_backend = words.get(1).map(|x| (*x).to_string()),
            "stats" if words.get(1).is_some_and(|w| *w == "uri" || *w == "enable") => {
                s.stats = true
            }
            "server" => match (words.get(1), words.get(2)) {
                (Some(name), Some(addr)) => {
                    let (host, port) = match addr.rsplit_once(':') {
                        Some((h, p)) => (h.to_string(), p.parse().ok()),
                        None => ((*addr).to_string(), None),
                    };
                    s.servers.push(Server {
                        name: (*name).to_string(),
                        host,
                        port,
                        check: words[3..].contains(&"check"),
                        backup: words[3..].contains(&"backup"),
                        line,
                    });
                }
                _ => problems.push((line, "`server` needs a name and an address".into())),
            },
            _ => {}
        }
    }
    out.extend(current);
    (out, problems)
}

fn bind(s: &mut Section, a: &str, line: usize, problems: &mut Vec<Problem>) {
    // `bind *:80`, `bind :80`, `bind 10.0.0.1:80`, `bind 10.0.0.1:80,10.0.0.1:81` (first).
    let a = a.split(',').next().unwrap_or(a);
    let Some((host, port)) = a.rsplit_once(':') else {
        problems.push((line, format!("bind `{a}` has no port")));
        return;
    };
    let Ok(port) = port.parse::<u16>() else {
        problems.push((line, format!("bind `{a}`: `{port}` is not a port")));
        return;
    };
    let addr = match host {
        "" | "*" | "0.0.0.0" => None,
        h => match h.parse() {
            Ok(ip) => Some(ip),
            Err(_) => {
                problems.push((line, format!("bind `{a}`: `{h}` is not an IPv4 address")));
                return;
            }
        },
    };
    s.binds.push((addr, port, line));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_binds_and_servers() {
        let t = "global\n  maxconn 10\ndefaults\n  mode http\nfrontend main *:80\n  default_backend app\nbackend app\n  balance roundrobin\n  server web1 10.0.0.21:80 check\n  server web2 10.0.0.22:8080 check backup # spare\nlisten stats\n  bind :8080\n  stats uri /s\n";
        let (s, p) = read(t);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[0].kind.as_str(), s[0].binds.clone()),
            ("frontend", vec![(None, 80, 5)])
        );
        assert_eq!(s[0].default_backend.as_deref(), Some("app"));
        assert_eq!(s[1].servers.len(), 2);
        assert_eq!(
            (
                s[1].servers[1].port,
                s[1].servers[1].backup,
                s[1].servers[1].line
            ),
            (Some(8080), true, 10)
        );
        assert!(s[2].stats);
    }
}
