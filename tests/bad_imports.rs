//! The catalogue of odd and bad `halab import` inputs: each case is a directory of host
//! directories; what import says about it is pinned.
//!
//! Input: tests/bad-imports/CASE/HOST/{keepalived.conf,haproxy.cfg,...}. Output:
//! tests/bad-imports/CASE.err: the errors (nothing written) or the warnings and the guesses
//! written at the top of the lab file. No case may panic; every error names a file.

use std::collections::HashSet;
use std::path::Path;

use halab::import::{self, ImportError};
use halab_e2e::{golden, root};

fn outcome(case: &Path) -> String {
    let root = root();
    let shown = |s: String| s.replace(&format!("{}/", root.display()), "");
    match import::import(&[case.to_path_buf()], "imported", case) {
        Err(ImportError::Invalid(ps)) => shown(ImportError::Invalid(ps).to_string()) + "\n",
        Err(e) => format!("unexpected: {e}\n"),
        Ok(i) => {
            let head: Vec<&str> = i
                .yaml
                .lines()
                .take_while(|l| l.starts_with('#'))
                .collect();
            shown(format!("ok\n{}\n", head.join("\n")))
        }
    }
}

#[test]
fn every_odd_import_says_what_is_wrong_with_its_pinned_message() {
    let dir = root().join("tests/bad-imports");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/bad-imports exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "at least 15 cases, found {}", cases.len());
    let mut produced = HashSet::new();
    let mut failures = Vec::new();
    for c in &cases {
        let err = c.with_extension("err");
        produced.insert(err.clone());
        let text = match std::panic::catch_unwind(|| outcome(c)) {
            Ok(t) => t,
            Err(_) => {
                failures.push(format!("{}: import panicked", c.display()));
                continue;
            }
        };
        if text.starts_with("error") && !text.contains("tests/bad-imports/") {
            failures.push(format!("{}: an error names no file", c.display()));
        }
        failures.extend(golden(&err, &text));
    }
    // Each .err belongs to a case (sweep() would walk into the cases' input files).
    for e in std::fs::read_dir(&dir).expect("read").filter_map(|e| e.ok().map(|e| e.path())) {
        if e.extension().is_some_and(|x| x == "err") && !produced.contains(&e) {
            failures.push(format!("{}: no case produces it", e.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
