//! `halab import DIR|FILES... [-o lab.yaml]`: configs an operator already runs -> a lab file
//! that reproduces the deployment, with the files attached verbatim (`files:`).
//!
//! - `hosts.rs`: which files belong to which host, and where each goes on the node.
//! - `haproxy_cfg.rs`: a small reader of haproxy.cfg (sections, binds, servers).
//! - `infer.rs`: networks, addresses, nodes, VRRP instances, scripts, haproxy -> lab YAML.
//!
//! Every problem names its file and line ([`Problem`]); errors stop the import, warnings and
//! what could not be inferred are written at the top of the lab file and printed.

pub mod haproxy_cfg;
mod hosts;
mod infer;

use std::fmt;
use std::path::{Path, PathBuf};

pub use hosts::{Host, discover};

/// A problem with the input, at a file and line (0: the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub error: bool,
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn error(
        file: &Path,
        line: usize,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) -> Self {
        Problem {
            error: true,
            file: file.to_path_buf(),
            line,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn warning(
        file: &Path,
        line: usize,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) -> Self {
        Problem {
            error: false,
            ..Problem::error(file, line, message, hint)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.error { "error" } else { "warning" };
        write!(f, "{kind}: {}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Every problem found (errors and warnings), in input order.
    #[error("{}", render(.0))]
    Invalid(Vec<Problem>),
    #[error("failed to write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn render(ps: &[Problem]) -> String {
    let errors = ps.iter().filter(|p| p.error).count();
    let mut s: Vec<String> = ps.iter().map(ToString::to_string).collect();
    s.push(format!("{errors} error(s): nothing was written"));
    s.join("\n")
}

/// The lab file's text and the warnings (also written into it as comments).
#[derive(Debug)]
pub struct Imported {
    pub yaml: String,
    pub warnings: Vec<Problem>,
}

/// Reads `inputs` (a directory of host directories, host directories, or files whose
/// directory names the host) into a lab file named `name`, whose `source:` paths are relative
/// to `out_dir`.
pub fn import(inputs: &[PathBuf], name: &str, out_dir: &Path) -> Result<Imported, ImportError> {
    let mut problems = Vec::new();
    let hosts = discover(inputs, &mut problems);
    let yaml = infer::lab(name, &hosts, out_dir, &mut problems);
    if problems.iter().any(|p| p.error) {
        return Err(ImportError::Invalid(problems));
    }
    Ok(Imported {
        yaml,
        warnings: problems,
    })
}

#[cfg(test)]
mod tests;
