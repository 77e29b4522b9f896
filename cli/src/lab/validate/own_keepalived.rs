//! The lab's rules applied to an LB's own keepalived.conf (`files:`), read with the same
//! parser halabd uses (halab-kaconf): each VIP must lie in a lab network, each instance's
//! interface must be one the lab gives the node. Problems name the file and its line.
//! A file the parser refuses is left to the real tool (`keepalived -t`), which judges it
//! before anything starts.

use std::path::Path;

use super::Ctx;
use crate::lab::model::{Network, Node, NodeFile, Role};

pub const PATH: &str = "/etc/keepalived/keepalived.conf";

/// Checks every LB's own keepalived.conf; `raw_index` maps a node to its `nodes[i]`.
pub(super) fn check(
    cx: &mut Ctx<'_>,
    nodes: &[Node],
    networks: &[Network],
    raw_index: &dyn Fn(&str) -> Option<usize>,
) {
    for n in nodes.iter().filter(|n| n.role == Role::Lb) {
        let Some((j, f)) = n.files.iter().enumerate().find(|(_, f)| f.path == PATH) else {
            continue;
        };
        let Some(i) = raw_index(&n.name) else {
            continue;
        };
        let field = if f.source.is_some() {
            "source"
        } else {
            "content"
        };
        let path = format!("nodes[{i}].files[{j}].{field}");
        for (message, hint) in problems(n, f, networks) {
            cx.bad(&path, message, Some(hint));
        }
    }
}

/// Each problem of `f` on node `n`: (message naming FILE:LINE, hint).
pub fn problems(n: &Node, f: &NodeFile, networks: &[Network]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(&f.bytes);
    let shown = f.display_name();
    let at = f
        .source
        .clone()
        .unwrap_or_else(|| Path::new(&f.path).to_path_buf());
    let Ok(parsed) = halab_kaconf::parse_str(&at, &text) else {
        return vec![];
    };
    let mut out = Vec::new();
    let ifaces: Vec<&str> = n.interfaces.iter().map(|i| i.name.as_str()).collect();
    let nets = networks
        .iter()
        .map(|x| format!("{} {}", x.name, x.cidr))
        .collect::<Vec<_>>()
        .join(", ");
    for inst in &parsed.config.instances {
        if !ifaces.contains(&inst.interface.as_str()) {
            let line = line_of(&text, &["interface", &inst.interface]);
            out.push((
                format!(
                    "{shown}:{line}: vrrp_instance {} runs on interface `{}`, which node `{}` does not have (it has {})",
                    inst.name,
                    inst.interface,
                    n.name,
                    ifaces.join(", ")
                ),
                format!(
                    "give the node's address the name your config uses: `interface: {}`",
                    inst.interface
                ),
            ));
        }
        for v in &inst.vips {
            // IPv6 VIPs are the lab's IPv6 rules' business.
            let std::net::IpAddr::V4(ip) = v.vip.address else {
                continue;
            };
            if networks.iter().any(|x| x.cidr.contains(ip)) {
                continue;
            }
            let line = line_of(&text, &[&ip.to_string()]);
            out.push((
                format!(
                    "{shown}:{line}: VIP {ip} of vrrp_instance {} lies outside every lab network ({nets})",
                    inst.name
                ),
                format!("add the network that holds {ip} to `networks`, with the node's address on it"),
            ));
        }
    }
    out
}

/// The first line (1-based) whose words, comments aside, start with `words` or hold them in
/// a row; 0 when none does (the problem is then the file's as a whole).
fn line_of(text: &str, words: &[&str]) -> usize {
    for (i, l) in text.lines().enumerate() {
        let l = l.split(['#', '!']).next().unwrap_or("");
        let toks: Vec<&str> = l.split_whitespace().collect();
        let found = toks.windows(words.len()).any(|w| {
            w.iter()
                .zip(words)
                .all(|(a, b)| *a == *b || a.split('/').next() == Some(*b))
        });
        if found {
            return i + 1;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_skip_comments_and_match_prefixes() {
        let t = "vrrp_instance V {\n  # interface eth9\n  interface eth9\n  virtual_ipaddress {\n    10.0.0.5/24 dev eth9\n  }\n}\n";
        assert_eq!(line_of(t, &["interface", "eth9"]), 3);
        assert_eq!(line_of(t, &["10.0.0.5"]), 5);
        assert_eq!(line_of(t, &["10.0.0.6"]), 0);
    }
}
