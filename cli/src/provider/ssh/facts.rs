//! Host facts (OS, package manager, systemd, arch, libc), and whether this machine's
//! binaries can run there.

use std::process::Command;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Facts {
    pub os: String,
    pub os_id: String,
    pub arch: String,
    pub glibc: Option<(u32, u32)>,
    /// apt, dnf or yum.
    pub pkg: Option<String>,
    pub systemd: bool,
}

pub(super) const FACTS_SCRIPT: &str = r#". /etc/os-release 2>/dev/null; echo "os=${PRETTY_NAME:-unknown}"; echo "id=${ID:-unknown}"; echo "arch=$(uname -m)"; echo "glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null)"; for p in apt-get dnf yum; do if command -v $p >/dev/null 2>&1; then echo "pkg=$p"; break; fi; done; if [ -d /run/systemd/system ]; then echo systemd=1; fi"#;

pub(super) fn parse_facts(text: &str) -> Facts {
    let mut f = Facts::default();
    for l in text.lines() {
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        match k {
            "os" => f.os = v.to_string(),
            "id" => f.os_id = v.to_string(),
            "arch" => f.arch = v.to_string(),
            "glibc" => f.glibc = parse_glibc(v),
            "pkg" => {
                f.pkg = Some(if v == "apt-get" {
                    "apt".to_string()
                } else {
                    v.to_string()
                })
            }
            "systemd" => f.systemd = v == "1",
            _ => {}
        }
    }
    f
}

/// "glibc 2.36" -> (2, 36).
pub(super) fn parse_glibc(s: &str) -> Option<(u32, u32)> {
    let v = s.split_whitespace().last()?;
    let mut it = v.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// This machine's arch and glibc: what the halab and halabd binaries were built for.
pub(super) fn local_facts() -> (String, Option<(u32, u32)>) {
    let run = |c: &str, a: &[&str]| {
        Command::new(c)
            .args(a)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    (
        run("uname", &["-m"]),
        parse_glibc(&run("getconf", &["GNU_LIBC_VERSION"])),
    )
}

/// This machine's binaries cannot run on a host.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    #[error(
        "node {node} is {host_arch} but {what} was built here for {arch}\n  hint: build {what} for {host_arch} (cargo build --target ...) and pass it with HALABD=PATH, or use engine: keepalived on this node"
    )]
    Arch {
        node: String,
        host_arch: String,
        what: String,
        arch: String,
    },
    #[error(
        "node {node} has glibc {}.{} but {what} was built here against glibc {}.{}\n  hint: build {what} on a system with glibc <= {}.{} (or statically, --target x86_64-unknown-linux-musl)",
        have.0, have.1, need.0, need.1, have.0, have.1
    )]
    Glibc {
        node: String,
        what: String,
        have: (u32, u32),
        need: (u32, u32),
    },
    #[error(
        "node {node} has no glibc (musl?) but {what} was built here against glibc\n  hint: build {what} for musl (--target {arch}-unknown-linux-musl)"
    )]
    NoGlibc {
        node: String,
        what: String,
        arch: String,
    },
}

/// Refuses a host that cannot run binaries built here.
pub(super) fn binaries_fit(node: &str, f: &Facts, what: &str) -> Result<(), FitError> {
    let (arch, glibc) = local_facts();
    if f.arch != arch {
        return Err(FitError::Arch {
            node: node.to_string(),
            host_arch: f.arch.clone(),
            what: what.to_string(),
            arch,
        });
    }
    match (glibc, f.glibc) {
        (Some(need), Some(have)) if have < need => Err(FitError::Glibc {
            node: node.to_string(),
            what: what.to_string(),
            have,
            need,
        }),
        (Some(_), None) => Err(FitError::NoGlibc {
            node: node.to_string(),
            what: what.to_string(),
            arch,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_host_facts() {
        let f = parse_facts(
            "os=Debian GNU/Linux 12 (bookworm)\nid=debian\narch=x86_64\nglibc=glibc 2.36\npkg=apt-get\nsystemd=1\n",
        );
        assert_eq!(
            (f.os.as_str(), f.os_id.as_str(), f.arch.as_str()),
            ("Debian GNU/Linux 12 (bookworm)", "debian", "x86_64")
        );
        assert_eq!(
            (f.glibc, f.pkg.as_deref(), f.systemd),
            (Some((2, 36)), Some("apt"), true)
        );
        let f = parse_facts(
            "os=Rocky Linux 9.3 (Blue Onyx)\nid=rocky\narch=aarch64\nglibc=\npkg=dnf\n",
        );
        assert_eq!(
            (f.glibc, f.pkg.as_deref(), f.systemd),
            (None, Some("dnf"), false)
        );
    }

    #[test]
    fn refuses_hosts_the_binaries_do_not_fit() {
        let (arch, glibc) = local_facts();
        let mut f = Facts {
            arch: arch.clone(),
            glibc,
            ..Facts::default()
        };
        assert_eq!(binaries_fit("lb1", &f, "halabd"), Ok(()));
        f.arch = "riscv64".into();
        let e = binaries_fit("lb1", &f, "halabd")
            .expect_err("another arch")
            .to_string();
        assert!(
            e.contains("node lb1 is riscv64") && e.contains("hint:"),
            "{e}"
        );
        if let Some((major, minor)) = glibc {
            let f = Facts {
                arch,
                glibc: Some((major, minor.saturating_sub(10))),
                ..Facts::default()
            };
            let e = binaries_fit("lb1", &f, "halabd")
                .expect_err("an older glibc")
                .to_string();
            assert!(e.contains("has glibc"), "{e}");
        }
    }
}
