//! `halab doctor`: preflight probes, each failure with the command that fixes it.

mod machines;

use std::path::Path;
use std::process::Command;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub name: &'static str,
    pub ok: bool,
    /// Not needed by the netns provider: reported, never a failure (`machines.rs`).
    pub optional: bool,
    pub detail: String,
    /// The command that fixes a failure.
    pub fix: Option<String>,
}

pub(crate) fn found(bin: &str) -> Option<String> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.exists())
        .map(|p| p.display().to_string())
}

fn version(bin: &str, arg: &str) -> String {
    Command::new(bin)
        .arg(arg)
        .output()
        .map(|o| {
            let s = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&s)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// Every probe; the netns provider needs all of them.
pub fn probes(state_root: &Path) -> Vec<Probe> {
    let mut out = Vec::new();
    let root = nix::unistd::geteuid().is_root();
    out.push(Probe {
        name: "root",
        ok: root,
        optional: false,
        detail: if root {
            "running as root".into()
        } else {
            "not root: namespaces and mounts need CAP_SYS_ADMIN and CAP_NET_ADMIN".into()
        },
        fix: (!root).then(|| "sudo halab ...".to_string()),
    });
    for t in crate::packages::LOCAL {
        let (name, bin, pkg) = (t.name, t.program, t.debian);
        match found(bin) {
            Some(p) => out.push(Probe {
                name,
                ok: true,
                optional: false,
                detail: format!(
                    "{p}: {}",
                    found(t.version.0).map_or_else(String::new, |v| version(&v, t.version.1))
                ),
                fix: None,
            }),
            None => out.push(Probe {
                name,
                ok: false,
                optional: false,
                detail: format!("{bin} is not installed"),
                fix: Some(format!("apt-get install -y {pkg}")),
            }),
        }
    }
    let labs: Vec<String> = std::fs::read_dir(state_root)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
                .collect()
        })
        .unwrap_or_default();
    // A running lab's namespaces are not leftovers.
    let left: Vec<String> = halab_netns::leftovers(halab_netns::names::PREFIX)
        .into_iter()
        .filter(|ns| !labs.iter().any(|l| halab_netns::names::belongs_to(l, ns)))
        .collect();
    out.push(Probe {
        name: "leftover lab namespaces",
        ok: left.is_empty(),
        optional: false,
        detail: if left.is_empty() { "none".into() } else { left.join(" ") },
        fix: (!left.is_empty()).then(|| format!("halab down LAB for each lab still listed in {} (or `ip netns delete NAME` for strays)", state_root.display())),
    });
    out.push(Probe {
        name: "running labs",
        ok: true,
        optional: false,
        detail: if labs.is_empty() {
            "none".into()
        } else {
            labs.join(" ")
        },
        fix: None,
    });
    out.extend(machines::probes());
    out
}

/// Whether every probe that counts passed.
pub fn passed(probes: &[Probe]) -> bool {
    probes.iter().all(|p| p.ok || p.optional)
}

pub fn print(probes: &[Probe]) -> bool {
    for p in probes {
        println!(
            "{} {:<36} {}",
            match (p.ok, p.optional) {
                (true, _) => "ok  ",
                (false, true) => "no  ",
                (false, false) => "FAIL",
            },
            p.name,
            p.detail
        );
        if let Some(f) = &p.fix {
            println!("     fix: {f}");
        }
    }
    passed(probes)
}
