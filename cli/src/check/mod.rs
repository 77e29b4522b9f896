//! Rendered configs checked by the real tools on this machine: `haproxy -c`, `nginx -t`,
//! `keepalived -t`, and `halabd -t` for nodes that run halabd ([`tool::ToolCheck`], the same
//! check the ssh provider runs on its hosts).
//!
//! Each check runs in a throwaway mount + network namespace (`unshare`): the node's rendered
//! /etc/haproxy, /etc/keepalived and /etc/nginx are bind-mounted over the host's, /run and
//! /var/log are private tmpfs, and the node's interfaces exist (keepalived checks them). So
//! the tools see exactly the paths the node will have, and nothing on this machine changes.
//! A warning counts as a failure: a config a tool complains about is not one halab ships.

pub mod tool;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::lab::Lab;
use crate::lab::model::Engine;
use crate::render::Artefact;
use crate::services::sh_quote;
use tool::ToolCheck;

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
/// on the node. `halabd`: the binary that checks the nodes with `engine: halabd`.
pub fn check_all(lab: &Lab, artefacts: &[Artefact], halabd: &Path) -> Vec<CheckResult> {
    let mut by_node: BTreeMap<&str, Vec<&Artefact>> = BTreeMap::new();
    for a in artefacts {
        by_node.entry(&a.node).or_default().push(a);
    }
    let mut out = Vec::new();
    for (node, files) in by_node {
        let n = lab.node(node);
        let ifaces: Vec<String> = n
            .map(|n| n.interfaces.iter().map(|i| i.name.clone()).collect())
            .unwrap_or_default();
        let engine = n.and_then(|n| n.engine);
        out.extend(check_node(node, &files, &ifaces, engine, halabd));
    }
    out
}

fn check_node(
    node: &str,
    files: &[&Artefact],
    ifaces: &[String],
    engine: Option<Engine>,
    halabd: &Path,
) -> Vec<CheckResult> {
    let halabd = halabd.to_string_lossy();
    let checked: Vec<(&&Artefact, ToolCheck)> = files
        .iter()
        .filter_map(|a| ToolCheck::for_file(a.check, engine, &a.path, &halabd).map(|c| (a, c)))
        .collect();
    if checked.is_empty() {
        return vec![];
    }
    let fail_all = |msg: String| {
        checked
            .iter()
            .map(|(a, c)| CheckResult {
                node: node.to_string(),
                path: a.path.clone(),
                tool: c.tool,
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
        .map(|(a, c)| CheckResult {
            node: node.to_string(),
            path: a.path.clone(),
            tool: c.tool,
            result: run_check(&root, c, ifaces),
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    results
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

fn run_check(root: &Path, c: &ToolCheck, ifaces: &[String]) -> Result<(), String> {
    let bin = &c.argv[0];
    let installed = match c.package() {
        Some(_) => Path::new("/usr/sbin").join(bin).exists(),
        None => Path::new(bin).exists(),
    };
    if !installed {
        return Err(match c.package() {
            Some(pkg) => format!("{bin} is not installed: apt-get install -y {pkg}"),
            None => format!(
                "{bin} is not built: cargo build -p halabd (or set HALABD to the halabd binary)"
            ),
        });
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
    let argv: Vec<String> = c.argv.iter().map(|a| sh_quote(a)).collect();
    script.push_str(&format!("exec {}", argv.join(" ")));
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
    c.verdict(out.status.code(), &text)
        .map_err(|status| format!("{} {status}:\n{}", c.tool, text.trim_end()))
}
