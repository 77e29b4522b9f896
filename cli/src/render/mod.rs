//! Rendering: a pure function from the validated lab to every file each node needs.
//!
//! `render(&lab, &templates)` returns [`Artefact`]s; writing them to a directory, into a
//! namespace or over SSH is someone else's job. Templates are minijinja (Jinja2) files in
//! `templates/`, embedded in the binary and overridable from a directory; an undefined
//! variable is an error naming the template and line.

mod context;

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};

use crate::lab::model::{Lab, Node, Role};

/// One file for one node: where it goes on the machine, its mode, its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artefact {
    pub node: String,
    /// Absolute path on the node (`/etc/haproxy/haproxy.cfg`).
    pub path: String,
    pub mode: u32,
    pub bytes: Vec<u8>,
    /// Which real tool checks it before it replaces the old file.
    pub check: Check,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    None,
    Haproxy,
    Keepalived,
    Nginx,
}

/// The templates halab ships, by file name.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "haproxy.cfg.j2",
        include_str!("../../../templates/haproxy.cfg.j2"),
    ),
    (
        "keepalived.conf.j2",
        include_str!("../../../templates/keepalived.conf.j2"),
    ),
    (
        "nginx.conf.j2",
        include_str!("../../../templates/nginx.conf.j2"),
    ),
    (
        "index.html.j2",
        include_str!("../../../templates/index.html.j2"),
    ),
    (
        "sysctl.conf.j2",
        include_str!("../../../templates/sysctl.conf.j2"),
    ),
    ("hosts.j2", include_str!("../../../templates/hosts.j2")),
    (
        "halabd.service.j2",
        include_str!("../../../templates/halabd.service.j2"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("failed to render template {name}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Template {
        name: String,
        line: Option<usize>,
        message: String,
    },
    #[error("failed to read template override {}: {source}", path.display())]
    Override {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<minijinja::Error> for RenderError {
    fn from(e: minijinja::Error) -> Self {
        let message = match e.detail() {
            Some(d) => format!("{}: {d}", e.kind()),
            None => e.kind().to_string(),
        };
        RenderError::Template {
            name: e.name().unwrap_or("?").to_string(),
            line: e.line(),
            message,
        }
    }
}

/// The template set: halab's own, each replaceable by a file of the same name in a directory.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn embedded() -> Result<Self, RenderError> {
        Self::with_overrides(None)
    }

    pub fn with_overrides(dir: Option<&Path>) -> Result<Self, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()?,
        );
        for (name, text) in EMBEDDED {
            let text = match dir.map(|d| d.join(name)).filter(|p| p.exists()) {
                Some(p) => std::fs::read_to_string(&p)
                    .map_err(|source| RenderError::Override { path: p, source })?,
                None => (*text).to_string(),
            };
            env.add_template_owned(*name, text)?;
        }
        Ok(Templates { env })
    }

    fn render(&self, name: &str, ctx: &minijinja::Value) -> Result<Vec<u8>, RenderError> {
        Ok(self.env.get_template(name)?.render(ctx)?.into_bytes())
    }
}

/// Every file every node of the lab needs, in node order then path order.
pub fn render(lab: &Lab, t: &Templates) -> Result<Vec<Artefact>, RenderError> {
    let mut out = Vec::new();
    let lab_view = context::lab(lab);
    for node in &lab.nodes {
        render_node(lab, &lab_view, node, t, &mut out)?;
        own_files(node, &mut out);
    }
    Ok(out)
}

/// The node's own files, as they are: each replaces what halab rendered at its path, and is
/// checked by the tool that reads that path.
fn own_files(node: &Node, out: &mut Vec<Artefact>) {
    for f in &node.files {
        let a = Artefact {
            node: node.name.clone(),
            path: f.path.clone(),
            mode: f.mode,
            bytes: f.bytes.clone(),
            check: check_of(&f.path),
        };
        match out
            .iter_mut()
            .find(|x| x.node == node.name && x.path == f.path)
        {
            Some(x) => *x = a,
            None => out.push(a),
        }
    }
}

/// Which tool reads a file at `path`: the daemons' main configs only (an included file is
/// checked through the file that includes it).
pub fn check_of(path: &str) -> Check {
    match path {
        "/etc/haproxy/haproxy.cfg" => Check::Haproxy,
        "/etc/keepalived/keepalived.conf" => Check::Keepalived,
        "/etc/nginx/nginx.conf" => Check::Nginx,
        _ => Check::None,
    }
}

fn render_node(
    lab: &Lab,
    lab_view: &minijinja::Value,
    node: &Node,
    t: &Templates,
    out: &mut Vec<Artefact>,
) -> Result<(), RenderError> {
    let base = context::node(lab_view, node);
    let mut push = |path: &str, mode: u32, bytes: Vec<u8>, check: Check| {
        out.push(Artefact {
            node: node.name.clone(),
            path: path.to_string(),
            mode,
            bytes,
            check,
        });
    };
    if lab.hosts {
        push(
            "/etc/hosts",
            0o644,
            t.render("hosts.j2", &base)?,
            Check::None,
        );
    }
    if !node.sysctl.is_empty() {
        push(
            "/etc/sysctl.d/90-halab.conf",
            0o644,
            t.render("sysctl.conf.j2", &base)?,
            Check::None,
        );
    }
    if node.role == Role::Lb {
        let (hctx, has_secret) = context::haproxy(lab, &base);
        // A stats password makes the file a secret: readable by root only.
        let mode = if has_secret { 0o600 } else { 0o644 };
        push(
            "/etc/haproxy/haproxy.cfg",
            mode,
            t.render("haproxy.cfg.j2", &hctx)?,
            Check::Haproxy,
        );
        let kctx = context::keepalived(lab, node, &base);
        // auth_pass lives here; keepalived itself insists on nothing, we do.
        push(
            "/etc/keepalived/keepalived.conf",
            0o600,
            t.render("keepalived.conf.j2", &kctx)?,
            Check::Keepalived,
        );
        // Every script body goes on every LB: tracked scripts and notify scripts alike.
        for s in &lab.scripts {
            if let Some(f) = &s.file {
                push(&f.path, 0o755, f.content.clone().into_bytes(), Check::None);
            }
        }
        if node.engine == Some(crate::lab::model::Engine::Halabd) {
            push(
                "/etc/systemd/system/halabd.service",
                0o644,
                t.render("halabd.service.j2", &base)?,
                Check::None,
            );
        }
    }
    if let Some(web) = &node.web {
        let wctx = context::web(&base, web);
        push(
            "/etc/nginx/nginx.conf",
            0o644,
            t.render("nginx.conf.j2", &wctx)?,
            Check::Nginx,
        );
        push(
            "/var/www/halab/index.html",
            0o644,
            t.render("index.html.j2", &wctx)?,
            Check::None,
        );
    }
    Ok(())
}

/// Writes artefacts under `dir/<node>/<path>` with their modes (for `halab render --out`).
pub fn write_tree(artefacts: &[Artefact], dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for a in artefacts {
        let p = dir.join(&a.node).join(a.path.trim_start_matches('/'));
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Write through a private temporary so a secret is never briefly world-readable.
        let tmp = p.with_extension("halab-tmp");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&a.bytes)?;
        }
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(a.mode))?;
        std::fs::rename(&tmp, &p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: a lab whose lb1 brings its own haproxy.cfg and a check script.
    // Output: lb1's haproxy.cfg is that file, byte for byte, checked by haproxy; the script
    // is added with its mode; lb2 keeps the rendered haproxy.cfg.
    #[test]
    fn own_files_replace_rendered_ones() {
        let text = r##"
name: own
networks: [{ name: lan, cidr: 10.9.0.0/24 }]
nodes:
  - name: lb1
    role: lb
    address: 10.9.0.11
    files:
      - { path: /etc/haproxy/haproxy.cfg, content: "global\n  maxconn 10\n" }
      - { path: /etc/keepalived/check.sh, content: "#!/bin/sh\npidof haproxy\n", mode: "0750" }
  - { name: lb2, role: lb, address: 10.9.0.12 }
  - { name: web1, role: web, address: 10.9.0.21 }
vrrp: [{ vrid: 51, vips: [10.9.0.10] }]
"##;
        let env = std::collections::HashMap::<String, String>::new();
        let lab = crate::lab::parse(Path::new("own.yaml"), text, &env).expect("valid lab");
        let t = Templates::embedded().expect("templates");
        let out = render(&lab, &t).expect("renders");
        let find = |node: &str, path: &str| {
            out.iter()
                .filter(|a| a.node == node && a.path == path)
                .collect::<Vec<_>>()
        };
        let own = find("lb1", "/etc/haproxy/haproxy.cfg");
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].bytes, b"global\n  maxconn 10\n");
        assert_eq!(own[0].check, Check::Haproxy);
        let script = find("lb1", "/etc/keepalived/check.sh");
        assert_eq!((script.len(), script[0].mode), (1, 0o750));
        assert_eq!(script[0].check, Check::None);
        let rendered = find("lb2", "/etc/haproxy/haproxy.cfg");
        assert!(String::from_utf8_lossy(&rendered[0].bytes).contains("rendered by halab"));
        assert!(find("lb2", "/etc/keepalived/check.sh").is_empty());
    }
}
