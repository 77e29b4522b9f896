//! The catalogue of bad lab files: each fails validation with exactly the pinned text.
//!
//! Input: tests/bad-labs/NAME.yaml. Output: tests/bad-labs/NAME.err, the rendered
//! diagnostics. Each must name a line (FILE:LINE:COL) and none may panic.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use halab::lab::{self, LoadError};
use halab_e2e::{golden, root, sweep};

#[test]
fn every_bad_lab_fails_with_its_pinned_message() {
    let dir = root().join("tests/bad-labs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/bad-labs exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "the catalogue must hold at least 30 bad labs, found {}",
        files.len()
    );
    // A fixed environment: one variable set, so env expansion is tested both ways.
    let env: HashMap<String, String> = [("HALAB_TEST_SET".to_string(), "x".to_string())].into();
    let mut failures = Vec::new();
    // The lab files are inputs; the .err files must each belong to one.
    let mut produced: HashSet<_> = files.iter().cloned().collect();
    for f in &files {
        produced.insert(f.with_extension("err"));
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let text = std::fs::read_to_string(f).expect("read bad lab");
        // Messages use the path relative to the repo, as a user would type it.
        let shown = Path::new("tests/bad-labs").join(&name);
        let result = std::panic::catch_unwind(|| lab::parse(&shown, &text, &env));
        let rendered = match result {
            Err(_) => {
                failures.push(format!("{name}: validation panicked"));
                continue;
            }
            Ok(Ok(_)) => {
                failures.push(format!(
                    "{name}: validated, but it is in the bad-lab catalogue"
                ));
                continue;
            }
            Ok(Err(LoadError::Invalid { rendered, .. })) => rendered,
            Ok(Err(e)) => {
                failures.push(format!("{name}: failed in an unexpected way: {e}"));
                continue;
            }
        };
        let first = rendered.lines().next().unwrap_or("");
        let located = first.starts_with(&format!("error: {}:", shown.display()))
            && first
                .split(':')
                .nth(2)
                .is_some_and(|l| l.parse::<usize>().is_ok_and(|n| n >= 1));
        if !located {
            failures.push(format!(
                "{name}: the first error does not name a line: {first}"
            ));
        }
        if !rendered.contains("hint: ") {
            failures.push(format!("{name}: no hint in:\n{rendered}"));
        }
        if let Some(d) = golden(&f.with_extension("err"), &rendered) {
            failures.push(d);
        }
    }
    failures.extend(sweep(&dir, &produced));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn all_problems_are_reported_at_once() {
    // Input: a lab with three independent semantic problems. Output: three diagnostics.
    let text = "name: many\nnetworks: [{name: lan, cidr: 10.0.0.0/24}]\nnodes:\n  - {name: lb1, role: lb, address: 10.0.0.11}\n  - {name: lb2, role: lb, address: 10.0.0.11}\n  - {name: web1, role: web, address: 10.9.0.21}\nvrrp:\n  - {vrid: 300, vips: [10.0.0.10]}\n";
    let err = lab::parse(Path::new("many.yaml"), text, &HashMap::new()).expect_err("invalid");
    let LoadError::Invalid { diagnostics, .. } = err else {
        panic!("not a validation error")
    };
    let msgs: Vec<&str> = diagnostics
        .items
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        msgs.iter().any(|m| m.contains("also node `lb1`'s")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("outside network")),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.contains("vrid 300")), "{msgs:?}");
}
