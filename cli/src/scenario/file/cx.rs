//! The validation context: the lab, where each path is in the file, the problems so far,
//! and the checks several step families share (nodes, durations, bounds, headers, VIPs).

use std::net::IpAddr;
use std::time::Duration;

use super::parse_duration;
use crate::diag::{Diagnostics, did_you_mean};
use crate::lab::Lab;
use crate::lab::locate::Locator;
use crate::lab::model::Role;
use crate::scenario::bound::{Bound, RawBound};

pub(super) struct Cx<'a> {
    pub(super) loc: &'a Locator,
    pub(super) lab: &'a Lab,
    pub(super) diags: Diagnostics,
}

impl Cx<'_> {
    pub(super) fn bad(&mut self, path: &str, msg: impl Into<String>, hint: impl Into<String>) {
        let pos = self.loc.value(path);
        self.diags.push(path, pos, msg, Some(hint.into()));
    }

    pub(super) fn node(&mut self, path: &str, name: &str, role: Option<Role>) -> String {
        match self.lab.node(name) {
            Some(n) if role.is_none_or(|r| r == n.role) => {}
            Some(n) => self.bad(
                path,
                format!("node `{name}` is a {:?} node", n.role).to_lowercase(),
                format!("this step needs a {:?} node", role.unwrap_or(Role::Lb)).to_lowercase(),
            ),
            None => {
                let names: Vec<&str> = self.lab.nodes.iter().map(|n| n.name.as_str()).collect();
                self.bad(
                    path,
                    format!("lab `{}` has no node `{name}`", self.lab.name),
                    did_you_mean(name, &names),
                );
            }
        }
        name.to_string()
    }

    pub(super) fn duration(&mut self, path: &str, s: Option<&String>) -> Option<Duration> {
        let s = s?;
        let d = parse_duration(s);
        if d.is_none() {
            self.bad(
                path,
                format!("`{s}` is not a duration"),
                "write 500ms, 2s, 1.5 (seconds) or 1m",
            );
        }
        d
    }

    /// A bound for every engine or one per engine (`scenario::bound`).
    pub(super) fn bound(&mut self, path: &str, b: Option<&RawBound>) -> Option<Bound> {
        match b? {
            RawBound::All(s) => self.duration(path, Some(s)).map(Bound::all),
            RawBound::PerEngine(per) => {
                let keepalived =
                    self.duration(&format!("{path}.keepalived"), Some(&per.keepalived));
                let halabd = self.duration(&format!("{path}.halabd"), Some(&per.halabd));
                Some(Bound {
                    keepalived: keepalived?,
                    halabd: halabd?,
                })
            }
        }
    }

    /// Request headers: a token for the name, no line breaks anywhere.
    pub(super) fn headers(
        &mut self,
        path: &str,
        h: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Vec<(String, String)> {
        let Some(h) = h else { return vec![] };
        for (k, v) in h {
            let bad_name = k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
            if bad_name || v.contains(['\r', '\n']) {
                self.bad(
                    &format!("{path}.{k}"),
                    format!("`{k}: {v}` is not a header line"),
                    "a header name is letters, digits and -; the value one line",
                );
            }
        }
        h.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    pub(super) fn vip(&mut self, path: &str, s: Option<&String>) -> Option<IpAddr> {
        let s = s?;
        let vips: Vec<IpAddr> = self
            .lab
            .vrrp
            .iter()
            .flat_map(|v| v.vips.iter().map(|x| x.address))
            .collect();
        match s.parse::<IpAddr>() {
            Ok(ip) if vips.contains(&ip) => Some(ip),
            _ => {
                self.bad(
                    path,
                    format!("`{s}` is no VIP of the lab"),
                    format!(
                        "the lab's VIPs: {}",
                        vips.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                None
            }
        }
    }
}
