//! The lab file: find it, read it, validate it into a [`model::Lab`].

pub mod env;
pub mod locate;
pub mod model;
pub mod raw;
mod schema;
mod serde_error;
pub mod validate;

use std::path::{Path, PathBuf};

use crate::diag::Diagnostics;
use locate::Locator;
pub use model::Lab;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("failed to read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a valid lab: every problem, rendered against the source.
    #[error("{rendered}")]
    Invalid {
        path: PathBuf,
        diagnostics: Diagnostics,
        rendered: String,
    },
}

/// A serde-saphyr error in another YAML file halab reads (scenarios), as diagnostics.
pub fn serde_error_diagnose(e: &serde_saphyr::Error, text: &str, loc: &Locator) -> Diagnostics {
    serde_error::diagnose_without_schema(e, text, loc)
}

/// `LAB` as the user gave it: a lab file, or a directory holding `lab.yaml`; default `./lab.yaml`.
pub fn resolve(arg: Option<&Path>) -> PathBuf {
    match arg {
        None => PathBuf::from("lab.yaml"),
        Some(p) if p.is_dir() => p.join("lab.yaml"),
        Some(p) => p.to_path_buf(),
    }
}

/// Reads and validates a lab file against the process environment.
pub fn load(path: &Path) -> Result<Lab, LoadError> {
    load_with_env(path, &env::ProcessEnv)
}

pub fn load_with_env(path: &Path, env: &dyn env::Env) -> Result<Lab, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text, env)
}

/// Validates lab text; `path` is only used in messages and as the lab's home directory.
pub fn parse(path: &Path, text: &str, env: &dyn env::Env) -> Result<Lab, LoadError> {
    let invalid = |diagnostics: Diagnostics| {
        let rendered = diagnostics.render(path, text);
        LoadError::Invalid {
            path: path.to_path_buf(),
            diagnostics,
            rendered,
        }
    };
    let loc = Locator::new(text);
    let raw: raw::RawLab = match serde_saphyr::from_str(text) {
        Ok(r) => r,
        Err(e) => return Err(invalid(serde_error::diagnose(&e, text, &loc))),
    };
    validate::validate(raw, path, &loc, env).map_err(invalid)
}
