//! Rendered configs checked by the real tools: `haproxy -c`, `keepalived -t`, `nginx -t`.
//!
//! Each check runs in a throwaway mount + network namespace (`unshare`): the node's rendered
//! /etc/haproxy, /etc/keepalived and /etc/nginx are bind-mounted over the host's, /run and
//! /var/log are private tmpfs, and the node's interfaces exist (keepalived checks them). So
//! the tools see exactly the paths the node will have, and nothing on this machine changes.
//! A warning counts as a failure: a config a tool complains about is not one halab ships.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::lab::Lab;
use crate::render::{Artefact, Check};
use crate::services::sh_quote;

#[derive(Debug)]
pub struct CheckResult {
    pub node: String,
    pub path: String,
    pub tool: &'static str,
    /// Err holds what the tool printed.
    pub result: Result<(), String>,
}

/// Checks every artefact that has a checker; one result per checked file. The sandbox gets
/// the interfaces the lab gives each node, so a config naming another one fails as it would
/// on the node.
pub fn check_all(lab: &Lab, artefacts: &[Artefact]) -> Vec<CheckResult> {
    let mut by_node: BTreeMap<&str, Vec<&Artefact>> = BTreeMap::new();
    for a in artefacts {
        by_node.entry(&a.node).or_default().push(a);
    }
    let mut out = Vec::new();
    for (node, files) in by_node {
        let ifaces: Vec<String> = lab
            .node(node)
            .map(|n| n.interfaces.iter().map(|i| i.name.clone()).collect())
            .unwrap_or_default();
        out.extend(check_node(node, &files, &ifaces));
    }
    out
}

fn check_node(node: &str, files: &[&Artefact], ifaces: &[String]) -> Vec<CheckResult> {
    let checked: Vec<&&Artefact> = files.iter().filter(|a| a.check != Check::None).collect();
    if checked.is_empty() {
        return vec![];
    }
    let fail_all = |msg: String| {
        checked
            .iter()
            .map(|a| CheckResult {
                node: node.to_string(),
                path: a.path.clone(),
                tool: tool_name(a.check),
                result: Err(msg.clone()),
            })
            .collect()
    };
    let dir = match tempdir() {
        Ok(d) => d,
        Err(e) => return fail_all(format!("failed to create a scratch directory: {e}")),
    };
    let tree = dir.join("root");
    let as_refs: Vec<Artefact> = files.iter().map(|a| (*a).clone()).collect();
    if let Err(e) = crate::render::write_tree(&as_refs, &tree) {
        return fail_all(format!("failed to write the rendered files: {e}"));
    }
    let root = tree.join(node);
    let results = checked
        .iter()
        .map(|a| CheckResult {
            node: node.to_string(),
            path: a.path.clone(),
            tool: tool_name(a.check),
            result: run_check(&root, a, ifaces),
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    results
}

fn tool_name(c: Check) -> &'static str {
    match c {
        Check::Haproxy => "haproxy",
        Check::Keepalived => "keepalived",
        Check::Nginx => "nginx",
        Check::None => "-",
    }
}

fn tempdir() -> std::io::Result<std::path::PathBuf> {
    let base = std::env::temp_dir();
    for i in 0..100u32 {
        let p = base.join(format!(
            "halab-check-{}-{}-{i}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free scratch directory name"))
}

fn run_check(root: &Path, a: &Artefact, ifaces: &[String]) -> Result<(), String> {
    let (bin, pkg) = match a.check {
        Check::Haproxy => ("haproxy", "haproxy"),
        Check::Keepalived => ("keepalived", "keepalived"),
        Check::Nginx => ("nginx", "nginx-light"),
        Check::None => return Ok(()),
    };
    if !Path::new("/usr/sbin").join(bin).exists() {
        return Err(format!("{bin} is not installed: apt-get install -y {pkg}"));
    }
    let r = sh_quote(&root.to_string_lossy());
    let mut script = String::from("set -e\n");
    for d in ["haproxy", "keepalived", "nginx"] {
        script.push_str(&format!(
            "if [ -d {r}/etc/{d} ] && [ -d /etc/{d} ]; then mount --bind {r}/etc/{d} /etc/{d}; fi\n"
        ));
    }
    script.push_str("mount -t tmpfs halab-check /run\nmount -t tmpfs halab-check /var/log\nmkdir -p /var/log/nginx /run/haproxy\n");
    script.push_str("ip link set lo up\n");
    for (i, name) in ifaces.iter().enumerate() {
        let q = sh_quote(name);
        script.push_str(&format!(
            "ip link add {q} type veth peer name hck{i}\nip link set {q} up\n"
        ));
    }
    let cmd = match a.check {
        Check::Haproxy => format!("exec haproxy -c -f {}", sh_quote(&a.path)),
        // -l: log to the console, so warnings are on stderr where we read them.
        Check::Keepalived => format!("exec keepalived -t -l -n -f {}", sh_quote(&a.path)),
        Check::Nginx => format!("exec nginx -t -q -c {}", sh_quote(&a.path)),
        Check::None => String::new(),
    };
    script.push_str(&cmd);
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--net",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .output()
        .map_err(|e| format!("failed to run unshare (util-linux): {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let warned = text.lines().any(|l| is_warning(a.check, l));
    if out.status.success() && !warned {
        Ok(())
    } else {
        let status = if out.status.success() {
            "exited 0 but warned".to_string()
        } else {
            format!("exited with {}", out.status)
        };
        Err(format!("{bin} {status}:\n{}", text.trim_end()))
    }
}

pub(crate) fn is_warning(check: Check, line: &str) -> bool {
    match check {
        Check::Haproxy => line.contains("[WARNING]") || line.contains("[ALERT]"),
        Check::Nginx => line.contains("[warn]") || line.contains("[emerg]"),
        // keepalived -t prints config problems as plain lines; success prints nothing
        // but its start/stop banner.
        Check::Keepalived => {
            let l = line.to_ascii_lowercase();
            l.contains("warning")
                || l.contains("error")
                || l.contains("unknown")
                || l.contains("invalid")
                || l.contains("not exist")
                || l.contains("failed")
        }
        Check::None => false,
    }
}
