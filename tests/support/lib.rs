//! Shared helpers for halab's cross-crate tests: paths, golden files with a bless switch.
//!
//! `HALAB_BLESS=1 cargo test -p halab-e2e` rewrites golden files from what the code produces;
//! review the diff before committing it.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

pub fn blessing() -> bool {
    std::env::var("HALAB_BLESS").is_ok_and(|v| v == "1")
}

/// Compares `actual` with the golden file, or rewrites it when blessing. Returns a
/// description of the difference, if any.
pub fn golden(path: &Path, actual: &str) -> Option<String> {
    if blessing() {
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).expect("create golden dir");
        }
        std::fs::write(path, actual).expect("write golden file");
        return None;
    }
    let expected = match std::fs::read_to_string(path) {
        Ok(e) => e,
        Err(_) => {
            return Some(format!(
                "{}: golden file missing (run with HALAB_BLESS=1 to create it)",
                path.display()
            ));
        }
    };
    if expected == actual {
        return None;
    }
    let first = expected
        .lines()
        .zip(actual.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
    Some(format!(
        "{}: differs from golden at line {}\n  expected: {:?}\n  actual:   {:?}\n(run with HALAB_BLESS=1 to accept)",
        path.display(),
        first + 1,
        expected.lines().nth(first).unwrap_or("<eof>"),
        actual.lines().nth(first).unwrap_or("<eof>")
    ))
}

/// Every lab directory under labs/ (those holding a lab.yaml), sorted.
pub fn labs() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("labs"))
        .expect("labs/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("lab.yaml").exists())
        .collect();
    out.sort();
    out
}
