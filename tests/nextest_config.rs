//! CI runs the tests with cargo-nextest (scripts/test), one process per test, so the
//! in-process `common::heavy()` mutex of cli/tests bounds nothing there: the `heavy` test
//! group of .config/nextest.toml does. Input: the test functions in cli/tests/*.rs that call
//! `heavy()`, and the tests the config puts in the group. Output: the same two sets, so a
//! timing-sensitive lab added later cannot silently run unbounded beside the others.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Top-level test functions whose body calls `heavy()`: the last `fn NAME(` at column 0
/// before the call.
fn heavy_callers(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in source.lines() {
        if let Some(rest) = line.strip_prefix("fn ") {
            current = rest.split('(').next().map(str::to_string);
        }
        if line.contains("heavy()")
            && !line.trim_start().starts_with("//")
            && let Some(name) = &current
        {
            out.push(name.clone());
        }
    }
    out
}

/// The `test(=NAME)` names in the overrides that put tests in the `heavy` group.
fn grouped(config: &str) -> Vec<String> {
    config
        .split("[[profile.default.overrides]]")
        .skip(1)
        .filter(|block| block.contains("test-group = \"heavy\""))
        .flat_map(|block| block.split("test(=").skip(1))
        .filter_map(|s| s.split(')').next().map(str::to_string))
        .collect()
}

#[test]
fn every_test_that_takes_heavy_is_in_nextest_s_heavy_group_and_only_those() {
    let mut callers = BTreeSet::new();
    for f in std::fs::read_dir(root().join("cli/tests")).expect("cli/tests") {
        let p = f.expect("entry").path();
        if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).expect("read");
            callers.extend(heavy_callers(&text));
        }
    }
    assert!(callers.len() >= 10, "too few callers found: {callers:?}");
    let config =
        std::fs::read_to_string(root().join(".config/nextest.toml")).expect(".config/nextest.toml");
    let listed: BTreeSet<String> = grouped(&config).into_iter().collect();
    let missing: Vec<_> = callers.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&callers).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        ".config/nextest.toml's heavy group is out of step with cli/tests:\n  call heavy() but not in \
         the group: {missing:?}\n  in the group but do not call heavy(): {extra:?}\n  hint: add or \
         remove `test(=NAME)` in an override with test-group = \"heavy\""
    );
}

#[test]
fn the_parsers_see_a_caller_and_a_listed_test() {
    let src = "fn helper() {}\n#[test]\nfn a_lab() {\n    let _g = heavy();\n}\nfn other() {\n    // heavy()\n}\n";
    assert_eq!(heavy_callers(src), vec!["a_lab".to_string()]);
    let cfg = "[[profile.default.overrides]]\nfilter = 'test(=x) | test(=y)'\ntest-group = \"heavy\"\n\
               [[profile.default.overrides]]\nfilter = 'test(=z)'\npriority = 60\n";
    assert_eq!(grouped(cfg), vec!["x".to_string(), "y".to_string()]);
}
