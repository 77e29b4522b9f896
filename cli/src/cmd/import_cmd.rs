//! `halab import INPUTS... [-o lab.yaml] [--name NAME]`: writes the lab file, then validates
//! it as `halab validate` would; warnings and guesses are printed and kept in the file.

use std::path::{Path, PathBuf};

use crate::exit_codes;
use crate::import::{self, ImportError};

pub fn import(inputs: &[PathBuf], output: Option<&Path>, name: Option<&str>) -> i32 {
    let out_dir = output
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let default_name = output
        .and_then(|_| out_dir.canonicalize().ok())
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_string()))
        .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or_else(|| "imported".to_string());
    let name = name.map_or(default_name, str::to_string);
    let imported = match import::import(inputs, &name, &out_dir) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return exit_codes::BAD_INPUT;
        }
    };
    for w in &imported.warnings {
        eprintln!("{w}");
    }
    let Some(out) = output else {
        print!("{}", imported.yaml);
        return exit_codes::OK;
    };
    if let Err(source) = crate::state::write_private(out, 0o600, imported.yaml.as_bytes()) {
        eprintln!(
            "{}",
            ImportError::Write {
                path: out.to_path_buf(),
                source
            }
        );
        return exit_codes::LAB_ERROR;
    }
    match crate::lab::load(out) {
        Ok(lab) => {
            eprintln!(
                "wrote {}: {} nodes, {} VRRP instance(s); next: halab test {} standard",
                out.display(),
                lab.nodes.len(),
                lab.vrrp.len(),
                out.display()
            );
            exit_codes::OK
        }
        Err(e) => {
            eprint!("{e}");
            eprintln!(
                "the imported lab does not validate: fix the input (or edit {})",
                out.display()
            );
            exit_codes::BAD_INPUT
        }
    }
}
