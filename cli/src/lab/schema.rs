//! What serde accepts where: the keys of each raw struct and the values of each enum.
//!
//! serde stops at the first problem. When it rejects a file, [`sweep`] walks the keys the
//! [`Locator`] recorded and reports every unknown key and unknown enum value at once, so a
//! file with three typos takes one run, not three. The key and value lists come from the serde
//! types themselves (their `deny_unknown_fields` lists), so `raw.rs` stays the one place that
//! names them; only the nesting below (which struct sits at which path) is spelt out here.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::locate::Locator;
use super::raw::*;
use crate::diag::{Diagnostics, did_you_mean, nearest};

/// The key list of a struct, or the value list of an enum, as serde's derive declares it.
#[derive(Default)]
struct Probe {
    names: &'static [&'static str],
}

/// A deserializer that only records what it is asked for and then fails.
struct Introspect<'a>(&'a mut Probe);

impl<'de> Deserializer<'de> for Introspect<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("introspection only"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.names = fields;
        Err(de::Error::custom("introspection only"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.names = variants;
        Err(de::Error::custom("introspection only"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier ignored_any
    }
}

/// The keys of struct `T`, or the values of enum `T`.
fn names<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    let mut p = Probe::default();
    let _ = T::deserialize(Introspect(&mut p));
    p.names
}

/// `vrrp[3].auth` -> `vrrp[].auth`; a script's name -> `*`.
fn pattern(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            _ if in_index => {}
            c => out.push(c),
        }
    }
    match out.strip_prefix("scripts.") {
        Some(rest) => match rest.split_once('.') {
            Some((_, tail)) => format!("scripts.*.{tail}"),
            None => "scripts.*".to_string(),
        },
        None => out,
    }
}

const PROXIES: [&str; 3] = [
    "haproxy.frontends[]",
    "haproxy.backends[]",
    "haproxy.listens[]",
];

/// The keys the mapping at `pattern` accepts; None for free-form maps (sysctl, priorities).
fn keys_at(pattern: &str) -> Option<&'static [&'static str]> {
    Some(match pattern {
        "" => names::<RawLab>(),
        "networks[]" => names::<RawNetwork>(),
        "nodes[]" => names::<RawNode>(),
        "nodes[].addresses[]" => names::<RawAttachment>(),
        "nodes[].web" => names::<RawWeb>(),
        "nodes[].files[]" => names::<RawFile>(),
        "nodes[].ssh" => names::<RawSsh>(),
        "ssh" => names::<RawSshDefaults>(),
        "vrrp[]" => names::<RawVrrp>(),
        "vrrp[].auth" => names::<RawAuth>(),
        "vrrp[].notify" => names::<RawNotify>(),
        "scripts.*" => names::<RawScript>(),
        "scripts.*.file" => names::<RawScriptFile>(),
        "haproxy" => names::<RawHaproxy>(),
        "haproxy.global" => names::<RawGlobal>(),
        "haproxy.defaults" => names::<RawDefaults>(),
        p => match PROXIES.iter().find_map(|s| p.strip_prefix(s))? {
            "" => names::<RawProxy>(),
            ".use_backends[]" => names::<RawUseBackend>(),
            ".httpchk" => names::<RawHttpchk>(),
            ".cookie" => names::<RawCookie>(),
            ".server_defaults" => names::<RawServerOpts>(),
            ".servers[]" => names::<RawServer>(),
            ".stats" => names::<RawStats>(),
            _ => return None,
        },
    })
}

/// The values the scalar at `pattern` accepts, and what to call them, when it is an enum.
fn values_at(pattern: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match pattern {
        "provider" => ("provider", names::<Provider>()),
        "engine" | "nodes[].engine" => ("VRRP engine", names::<Engine>()),
        "nodes[].role" => ("role", names::<Role>()),
        "vrrp[].auth.type" => ("auth type", names::<AuthType>()),
        "haproxy.defaults.mode" => ("haproxy mode", names::<Mode>()),
        p => match PROXIES.iter().find_map(|s| p.strip_prefix(s))? {
            ".mode" => ("haproxy mode", names::<Mode>()),
            ".cookie.method" => ("cookie method", names::<CookieMethod>()),
            _ => return None,
        },
    })
}

/// keepalived.conf and haproxy.cfg words an operator may write as lab keys, and what the lab
/// file says instead (preferred to a spelling suggestion: `nopreempt` is not `preempt`).
const TOOL_WORDS: &[(&str, &str)] = &[
    (
        "state",
        "the initial MASTER is the instance's `master: NODE`; the other members start as BACKUP",
    ),
    (
        "priority",
        "priorities belong to an instance: `vrrp: [{priorities: {lb1: 150, lb2: 100}}]`",
    ),
    ("virtual_router_id", "the lab file calls it `vrid`"),
    ("virtual_ipaddress", "the lab file calls it `vips`"),
    ("authentication", "write `auth: {type: PASS, pass: SECRET}`"),
    ("auth_pass", "write `auth: {type: PASS, pass: SECRET}`"),
    ("auth_type", "write `auth: {type: PASS, pass: SECRET}`"),
    ("nopreempt", "write `preempt: false`"),
    (
        "unicast_peer",
        "write `unicast: true`: the peers are the instance's other members",
    ),
    (
        "unicast_src_ip",
        "write `unicast: true`: each member sends from its own address",
    ),
    (
        "interface",
        "an instance runs on the interface its members have on its `network`; name interfaces on the nodes",
    ),
];

/// `unknown key` diagnostic parts for `key` in a mapping that accepts `expected`.
pub(super) fn unknown_key(key: &str, expected: &[&str]) -> (String, String) {
    let hint = match (
        TOOL_WORDS.iter().find(|(w, _)| *w == key),
        nearest(key, expected.iter().copied()),
    ) {
        (Some((_, h)), _) => (*h).to_string(),
        (None, Some(n)) => format!("did you mean `{n}`?"),
        (None, None) => format!(
            "keys allowed here: {}; see docs/lab-file.md",
            expected
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    (format!("unknown key `{key}`"), hint)
}

/// `unknown value` diagnostic parts for `value` where one of `expected` (a `what`) belongs.
pub(super) fn unknown_value(what: &str, value: &str, expected: &[&str]) -> (String, String) {
    // Aliases (`PASS`, `pass`) are one value to the reader.
    let mut shown: Vec<&str> = Vec::new();
    for e in expected {
        if !shown.iter().any(|s| s.eq_ignore_ascii_case(e)) {
            shown.push(e);
        }
    }
    (
        format!("unknown {what} `{value}`"),
        did_you_mean(value, &shown),
    )
}

/// What the value at `path` is called in an unknown-value message.
pub(super) fn value_kind(path: &str) -> &'static str {
    values_at(&pattern(path)).map_or("value", |(what, _)| what)
}

/// When a plain scalar ran on over the next lines, the real mistake is their indentation.
pub(super) fn folded(key: &str, first: usize, last: usize) -> Option<String> {
    (last > first).then(|| format!("the value of `{key}` runs on from line {first} to line {last}: a line indented deeper than `{key}:` continues its value; indent it like its sibling keys"))
}

/// `vrrp[0].priorities` -> `priorities`; `vrrp[0].vips[1]` -> `vips`; `nodes.lb1` -> `lb1`.
pub(super) fn key_of(path: &str) -> &str {
    let p = match path
        .strip_suffix(']')
        .and_then(|p| p.rfind('[').map(|i| &p[..i]))
    {
        Some(p) => p,
        None => path,
    };
    p.rsplit('.').next().unwrap_or(p)
}

/// Every unknown key and enum value the locator saw, each as a diagnostic.
pub fn sweep(loc: &Locator, diags: &mut Diagnostics) {
    for e in loc.entries() {
        // `<<` is YAML's merge key, which the loader expands.
        if e.key == "<<" {
            continue;
        }
        let path = if e.parent.is_empty() {
            e.key.clone()
        } else {
            format!("{}.{}", e.parent, e.key)
        };
        if let Some(expected) = keys_at(&pattern(&e.parent))
            && !expected.contains(&e.key.as_str())
        {
            let (message, hint) = unknown_key(&e.key, expected);
            diags.push(path, e.pos, message, Some(hint));
            continue;
        }
        if let (Some((what, expected)), Some(value)) =
            (values_at(&pattern(&path)), loc.scalar(&path))
        {
            let pos = loc.value(&path);
            let end = loc.scalar_end_line(&path).unwrap_or(pos.line);
            // A value the parser cut short is the syntax error's consequence, not a mistake.
            if !expected.contains(&value) && loc.syntax().is_none_or(|s| end < s.pos.line) {
                let (message, hint) = unknown_value(what, value, expected);
                diags.push(
                    path.clone(),
                    pos,
                    message,
                    Some(folded(key_of(&path), pos.line, end).unwrap_or(hint)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn introspects_keys_and_values_from_the_serde_types() {
        // Input: raw types. Output: their key and value lists, as serde's derive has them.
        assert!(names::<RawVrrp>().contains(&"advert_int"));
        assert!(names::<RawAuth>().contains(&"type"));
        assert_eq!(names::<Role>(), &["lb", "web", "client"]);
        assert_eq!(
            pattern("haproxy.backends[12].servers[0]"),
            "haproxy.backends[].servers[]"
        );
        assert_eq!(pattern("scripts.chk.file"), "scripts.*.file");
        assert_eq!(key_of("vrrp[0].vips[1]"), "vips");
        assert_eq!(key_of("nodes.lb1"), "lb1");
    }

    #[test]
    fn finds_every_unknown_key_and_value() {
        // Input: three typos at three depths and a bad role. Output: four diagnostics.
        let text = "name: x\nnetwork: []\nnodes:\n  - {name: a, role: loadbalancer, adress: 10.0.0.1}\nvrrp:\n  - {vrid: 1, vips: [], auth: {typ: PASS, pass: x}}\n";
        let mut d = Diagnostics::default();
        sweep(&Locator::new(text), &mut d);
        let got: Vec<(&str, &str)> = d
            .items
            .iter()
            .map(|i| (i.path.as_str(), i.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("network", "unknown key `network`"),
                ("nodes[0].role", "unknown role `loadbalancer`"),
                ("nodes[0].adress", "unknown key `adress`"),
                ("vrrp[0].auth.typ", "unknown key `typ`")
            ]
        );
    }

    #[test]
    fn the_example_labs_have_no_unknown_keys() {
        // Input: every lab under labs/. Output: the sweep finds nothing (no false alarms).
        let labs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs");
        for dir in std::fs::read_dir(labs).into_iter().flatten().flatten() {
            let Ok(text) = std::fs::read_to_string(dir.path().join("lab.yaml")) else {
                continue;
            };
            let mut d = Diagnostics::default();
            sweep(&Locator::new(&text), &mut d);
            assert!(d.is_empty(), "{}: {:?}", dir.path().display(), d.items);
        }
    }
}
