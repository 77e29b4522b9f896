//! Which files belong to which host, and where each goes on the node: `HOST/keepalived.conf`
//! -> /etc/keepalived/keepalived.conf, `HOST/haproxy.cfg` -> /etc/haproxy/haproxy.cfg,
//! `HOST/nginx.conf` -> /etc/nginx/nginx.conf, `HOST/etc/...` -> /etc/..., a script
//! (`*.sh`) -> /etc/keepalived/NAME.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::Problem;

#[derive(Debug, Clone)]
pub struct HostFile {
    /// Where it was read from.
    pub source: PathBuf,
    /// Where it goes on the node.
    pub path: String,
    pub mode: u32,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub dir: PathBuf,
    pub files: Vec<HostFile>,
}

impl Host {
    pub fn file(&self, path: &str) -> Option<&HostFile> {
        self.files.iter().find(|f| f.path == path)
    }
}

const CONFIG_NAMES: &[&str] = &["keepalived.conf", "haproxy.cfg", "nginx.conf"];

/// The hosts of the inputs, in name order.
pub fn discover(inputs: &[PathBuf], problems: &mut Vec<Problem>) -> Vec<Host> {
    let mut files: Vec<(String, PathBuf, PathBuf)> = Vec::new(); // (host, host dir, file)
    for input in inputs {
        if input.is_file() {
            let dir = input
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            files.push((host_name(&dir), dir, input.clone()));
        } else if input.is_dir() {
            let own = walk(input);
            let direct_configs = own.iter().any(|f| {
                f.parent() == Some(input.as_path())
                    && f.file_name()
                        .is_some_and(|n| CONFIG_NAMES.iter().any(|c| n == *c))
            });
            if direct_configs {
                files.extend(
                    own.into_iter()
                        .map(|f| (host_name(input), input.clone(), f)),
                );
            } else {
                let mut subdirs: Vec<PathBuf> = std::fs::read_dir(input)
                    .map(|d| {
                        d.filter_map(|e| e.ok().map(|e| e.path()))
                            .filter(|p| p.is_dir())
                            .collect()
                    })
                    .unwrap_or_default();
                subdirs.sort();
                if subdirs.is_empty() {
                    problems.push(Problem::error(input, 0, "holds no host directory and no keepalived.conf, haproxy.cfg or nginx.conf", Some("give a directory per host (DIR/lb1/keepalived.conf, DIR/lb1/haproxy.cfg, ...)".to_string())));
                }
                for d in subdirs {
                    files.extend(walk(&d).into_iter().map(|f| (host_name(&d), d.clone(), f)));
                }
            }
        } else {
            problems.push(Problem::error(input, 0, "no such file or directory", None));
        }
    }
    let mut hosts: BTreeMap<String, Host> = BTreeMap::new();
    for (name, dir, file) in files {
        if let Some(h) = hosts.get(&name)
            && h.dir != dir
        {
            problems.push(Problem::error(
                &file,
                0,
                format!(
                    "host `{name}` is given twice: {} and {}",
                    h.dir.display(),
                    dir.display()
                ),
                Some("each host is one directory; rename one".to_string()),
            ));
            continue;
        }
        let host = hosts.entry(name.clone()).or_insert_with(|| Host {
            name: name.clone(),
            dir: dir.clone(),
            files: vec![],
        });
        let text = match std::fs::read(&file) {
            Ok(b) => match String::from_utf8(b) {
                Ok(t) => t,
                Err(_) => {
                    problems.push(Problem::error(
                        &file,
                        0,
                        "is not UTF-8 text",
                        Some("configs and scripts are text files".to_string()),
                    ));
                    continue;
                }
            },
            Err(e) => {
                problems.push(Problem::error(
                    &file,
                    0,
                    format!("cannot be read: {e}"),
                    None,
                ));
                continue;
            }
        };
        let rel = file.strip_prefix(&dir).unwrap_or(&file).to_path_buf();
        let Some((path, mode)) = place(&rel, &file) else {
            problems.push(Problem::warning(
                &file,
                0,
                "left out: halab cannot tell where it goes on the node",
                Some(format!(
                    "put it at {}/etc/... to give its path",
                    dir.display()
                )),
            ));
            continue;
        };
        if host.files.iter().any(|f| f.path == path) {
            problems.push(Problem::error(
                &file,
                0,
                format!("a second file for {path} on host `{name}`"),
                Some("keep one".to_string()),
            ));
            continue;
        }
        host.files.push(HostFile {
            source: file,
            path,
            mode,
            text,
        });
    }
    for h in hosts.values() {
        if !valid_name(&h.name) {
            problems.push(Problem::error(
                &h.dir,
                0,
                format!("host name `{}` is not a valid node name", h.name),
                Some("name the directory with letters, digits and `-`".to_string()),
            ));
        }
    }
    hosts.into_values().collect()
}

fn host_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "host".to_string())
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.starts_with('-')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Where a host's file goes, and its mode.
fn place(rel: &Path, file: &Path) -> Option<(String, u32)> {
    let exec = std::fs::metadata(file).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    let name = rel.file_name()?.to_string_lossy().to_string();
    if rel.starts_with("etc") {
        let mode = if exec {
            0o755
        } else {
            crate::lab::validate::files::default_mode(&format!("/{}", rel.display()))
        };
        return Some((format!("/{}", rel.display()), mode));
    }
    let in_root = rel.parent().is_none_or(|p| p.as_os_str().is_empty());
    match name.as_str() {
        "keepalived.conf" if in_root => Some(("/etc/keepalived/keepalived.conf".into(), 0o600)),
        "haproxy.cfg" if in_root => Some(("/etc/haproxy/haproxy.cfg".into(), 0o644)),
        "nginx.conf" if in_root => Some(("/etc/nginx/nginx.conf".into(), 0o644)),
        _ if name.ends_with(".sh") || exec => Some((format!("/etc/keepalived/{name}"), 0o755)),
        _ => None,
    }
}
