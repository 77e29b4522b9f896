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

/// The workspace's one bless switch: `HALAB_BLESS=1` rewrites expected files, unset compares.
/// Any other value is refused rather than guessed (`HALAB_BLESS=0` must not rewrite, a typo
/// must not compare silently). vrrp/tests/replay.rs, which cannot depend on this crate,
/// reads it the same way.
pub fn blessing() -> bool {
    match std::env::var("HALAB_BLESS") {
        Err(_) => false,
        Ok(v) if v == "1" => true,
        Ok(v) => {
            panic!("HALAB_BLESS={v:?}: set HALAB_BLESS=1 to rewrite golden files, or unset it")
        }
    }
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

/// Golden files under `dir` that no test produced (`produced`: the paths `golden` was called
/// with): each is a failure, or is removed when blessing. Golden files nobody checks would
/// otherwise pass for documentation of what the code does.
pub fn sweep(dir: &Path, produced: &std::collections::HashSet<PathBuf>) -> Vec<String> {
    let mut stale = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                stack.push(path);
            } else if !produced.contains(&path) {
                stale.push(path);
            }
        }
    }
    stale.sort();
    if blessing() {
        for path in &stale {
            std::fs::remove_file(path).expect("remove a stale golden file");
        }
        return Vec::new();
    }
    stale
        .iter()
        .map(|p| {
            format!(
                "{}: no test produces this golden file (run with HALAB_BLESS=1 to remove it)",
                p.display()
            )
        })
        .collect()
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
