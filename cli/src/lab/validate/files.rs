//! A node's own files (`files:`): read from their source (relative to the lab file) or taken
//! from `content`, each at an absolute path the provider can place. Nothing in them is
//! rewritten: they run as written; the real tools still check them (`check/`), and the
//! lab's rules that can be read from them apply (`own_keepalived.rs`).

use std::collections::BTreeSet;
use std::path::{Component, Path};

use super::Ctx;
use crate::lab::model::{NodeFile, Provider};
use crate::lab::raw::RawFile;

/// Paths the netns provider writes itself or applies otherwise: a file there would be lost.
const NETNS_OWNED: &[&str] = &["/etc/hosts", "/etc/systemd/", "/etc/sysctl.d/"];

/// The default mode of a file at `path`: keepalived.conf may hold auth_pass, so root only.
pub fn default_mode(path: &str) -> u32 {
    if path.ends_with("/keepalived.conf") {
        0o600
    } else {
        0o644
    }
}

/// Validates `nodes[i].files` (`path` is `nodes[i]`); `dir` is the lab file's directory.
pub(super) fn files(
    cx: &mut Ctx<'_>,
    path: &str,
    raw: &[RawFile],
    dir: &Path,
    provider: Provider,
) -> Vec<NodeFile> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (j, f) in raw.iter().enumerate() {
        let fpath = format!("{path}.files[{j}]");
        let p = Path::new(&f.path);
        if !p.is_absolute() || p.components().any(|c| c == Component::ParentDir) {
            cx.bad(
                &format!("{fpath}.path"),
                format!("`{}` is not an absolute path without `..`", f.path),
                Some(
                    "write where the file lives on the node, e.g. /etc/keepalived/keepalived.conf"
                        .to_string(),
                ),
            );
            continue;
        }
        if !seen.insert(f.path.clone()) {
            cx.bad(
                &format!("{fpath}.path"),
                format!("`{}` is given twice on this node", f.path),
                Some("keep one entry per path".to_string()),
            );
            continue;
        }
        if provider == Provider::Netns && !netns_places(&f.path) {
            cx.bad(
                &format!("{fpath}.path"),
                format!("the netns provider cannot place `{}`: its nodes share this machine's file system but for /etc and /var/www", f.path),
                Some("put the file under /etc (e.g. /etc/keepalived/check.sh) and name that path in your config; /etc/hosts, /etc/systemd and /etc/sysctl.d are halab's".to_string()),
            );
        }
        let mode = match f.mode.as_deref().map(parse_mode) {
            None => default_mode(&f.path),
            Some(Some(m)) => m,
            Some(None) => {
                cx.bad(
                    &format!("{fpath}.mode"),
                    format!(
                        "mode `{}` is not an octal file mode",
                        f.mode.as_deref().unwrap_or("")
                    ),
                    Some("write it as a string of octal digits: mode: \"0755\"".to_string()),
                );
                0o644
            }
        };
        let (bytes, source) = match (&f.source, &f.content) {
            (Some(src), None) => {
                let full = dir.join(src);
                match std::fs::read(&full) {
                    Ok(b) => (b, Some(full)),
                    Err(e) => {
                        cx.bad(
                            &format!("{fpath}.source"),
                            format!("cannot read {}: {e}", full.display()),
                            Some("`source` is relative to the lab file's directory".to_string()),
                        );
                        continue;
                    }
                }
            }
            (None, Some(c)) => (c.clone().into_bytes(), None),
            (Some(_), Some(_)) => {
                cx.bad(
                    &format!("{fpath}.content"),
                    "both `source` and `content` are set",
                    Some("give the file's text in one of them".to_string()),
                );
                continue;
            }
            (None, None) => {
                cx.bad_key(
                    &format!("{fpath}.path"),
                    format!("`{}` has neither `source` nor `content`", f.path),
                    Some(
                        "add `source: FILE` (relative to the lab file) or `content: TEXT`"
                            .to_string(),
                    ),
                );
                continue;
            }
        };
        out.push(NodeFile {
            path: f.path.clone(),
            mode,
            source,
            bytes,
        });
    }
    out
}

fn netns_places(path: &str) -> bool {
    let owned = NETNS_OWNED
        .iter()
        .any(|o| path == *o || (o.ends_with('/') && path.starts_with(o)));
    !owned
        && (path.starts_with("/etc/") && path.len() > 5
            || path.starts_with("/var/www/") && path.len() > 9)
}

fn parse_mode(s: &str) -> Option<u32> {
    u32::from_str_radix(s, 8).ok().filter(|m| *m <= 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_octal_strings() {
        assert_eq!(parse_mode("0755"), Some(0o755));
        assert_eq!(parse_mode("600"), Some(0o600));
        assert_eq!(parse_mode("0888"), None);
        assert_eq!(parse_mode("17777"), None);
    }

    #[test]
    fn the_netns_provider_places_etc_and_www_only() {
        assert!(netns_places("/etc/keepalived/keepalived.conf"));
        assert!(netns_places("/var/www/html/index.html"));
        assert!(!netns_places("/usr/local/bin/check.sh"));
        assert!(!netns_places("/etc/hosts"));
        assert!(!netns_places("/etc/systemd/system/x.service"));
        assert!(!netns_places("/etc/"));
    }
}
