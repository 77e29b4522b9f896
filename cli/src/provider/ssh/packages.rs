//! The packages a host lacks, installed with its package manager.

use super::connection::{Conn, ConnError, EXEC_TIMEOUT, INSTALL_TIMEOUT};
use crate::services::sh_quote;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(transparent)]
    Conn(#[from] ConnError),
    #[error(
        "node {node}: installing {names} with {pkg} failed (exit {code}); no file was changed on any host:\n    {tail}\n  hint: install them by hand, or fix the host's package sources"
    )]
    Install {
        node: String,
        names: String,
        pkg: String,
        code: i32,
        tail: String,
    },
}

/// `has PROGRAM`: an executable regular file of that name on root's PATH.
pub(super) const HAS_PROGRAM: &str =
    "has() { p=$(command -v \"$1\") && [ -f \"$p\" ] && [ -x \"$p\" ]; }; has";

pub(super) fn missing_packages(
    c: &Conn,
    pkg: &str,
    want: &[&str],
) -> Result<Vec<String>, PackageError> {
    let mut missing = Vec::new();
    for p in want {
        let q = sh_quote(p);
        // The program counts (Debian's nginx-light or nginx-full serve as well as nginx).
        let script = match pkg {
            "apt" => format!(
                "{HAS_PROGRAM} {q} || dpkg-query -W -f='${{Status}}' {q} 2>/dev/null | grep -q 'install ok installed'"
            ),
            _ => format!("{HAS_PROGRAM} {q} || rpm -q {q} >/dev/null 2>&1"),
        };
        if !c.run(&["sh", "-c", &script], None, EXEC_TIMEOUT)?.ok() {
            missing.push((*p).to_string());
        }
    }
    Ok(missing)
}

/// The packages installed on the host (apt hosts; `None` elsewhere).
pub(super) fn installed_set(
    c: &Conn,
    pkg: &str,
) -> Result<Option<std::collections::BTreeSet<String>>, PackageError> {
    if pkg != "apt" {
        return Ok(None);
    }
    let out = c.run(
        &["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Package}\n"],
        None,
        EXEC_TIMEOUT,
    )?;
    Ok(Some(parse_installed(&out.stdout)))
}

fn parse_installed(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("ii "))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

pub(super) fn install_packages(c: &Conn, pkg: &str, names: &[String]) -> Result<(), PackageError> {
    let list = names
        .iter()
        .map(|p| sh_quote(p))
        .collect::<Vec<_>>()
        .join(" ");
    let script = match pkg {
        "apt" => format!(
            "export DEBIAN_FRONTEND=noninteractive; apt-get install -y --no-install-recommends {list} || {{ apt-get update -q && apt-get install -y --no-install-recommends {list}; }}"
        ),
        "dnf" => format!("dnf install -y {list}"),
        _ => format!("yum install -y {list}"),
    };
    let out = c.run(&["sh", "-c", &script], None, INSTALL_TIMEOUT)?;
    if out.ok() {
        Ok(())
    } else {
        let text = format!("{}{}", out.stdout, out.stderr);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(6)..].join("\n    ");
        Err(PackageError::Install {
            node: c.target.node.clone(),
            names: names.join(" "),
            pkg: pkg.to_string(),
            code: out.code,
            tail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_means_status_ii_only() {
        let text = "ii haproxy\nrc nginx-common\nii  \nun socat\nii libc6\n";
        let got: Vec<String> = parse_installed(text).into_iter().collect();
        assert_eq!(got, ["haproxy", "libc6"]);
    }
}
