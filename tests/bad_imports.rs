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
            let head: Vec<&str> = i.yaml.lines().take_while(|l| l.starts_with('#')).collect();
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
    assert!(
        cases.len() >= 15,
        "at least 15 cases, found {}",
        cases.len()
    );
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
    for e in std::fs::read_dir(&dir)
        .expect("read")
        .filter_map(|e| e.ok().map(|e| e.path()))
    {
        if e.extension().is_some_and(|x| x == "err") && !produced.contains(&e) {
            failures.push(format!("{}: no case produces it", e.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Input: seed 000's configs copied out of the seed document as written
// (labs/import/seed000: loadbalance1's keepalived.conf and haproxy.cfg; loadbalance2's
// keepalived.conf with the three changes the seed's table names).
// Output: the import is a valid lab (three web nodes from the servers, VRID 10, 101/100,
// track script weight 2, interface enp0s8), and the real tools refuse the seed's files before
// anything starts: haproxy 2.6 no longer takes CentOS 7's `listen NAME *:8080` (line 56) and
// keepalived 2.2 wants script security. These are the seed's real flaws on today's Debian.
#[test]
fn seed000_imports_and_its_configs_as_written_are_refused_by_the_real_tools() {
    let dir = root().join("labs/import/seed000");
    let imported = import::import(std::slice::from_ref(&dir), "seed000-import", &dir)
        .unwrap_or_else(|e| panic!("{e}"));
    let env = std::collections::HashMap::<String, String>::new();
    let lab = halab::lab::parse(&dir.join("lab.yaml"), &imported.yaml, &env)
        .unwrap_or_else(|e| panic!("{e}\n{}", imported.yaml));
    let names: Vec<&str> = lab.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "loadbalance1",
            "loadbalance2",
            "nginx1",
            "nginx2",
            "nginx3",
            "client"
        ]
    );
    let v = &lab.vrrp[0];
    assert_eq!((v.vrid, v.members[0].interface.as_str()), (10, "enp0s8"));
    assert!(
        imported
            .yaml
            .contains("source: \"loadbalance1/haproxy.cfg\"")
    );
    let t = halab::render::Templates::embedded().expect("templates");
    let artefacts = halab::render::render(&lab, &t).expect("render");
    let results = halab::check::check_all(&lab, &artefacts, Path::new("/nonexistent/halabd"));
    let refused = |node: &str, path: &str| {
        results
            .iter()
            .find(|r| r.node == node && r.path == path)
            .and_then(|r| r.result.as_ref().err().cloned())
            .unwrap_or_default()
    };
    let ha = refused("loadbalance1", "/etc/haproxy/haproxy.cfg");
    assert!(
        ha.contains("haproxy.cfg:56] : please use the 'bind' keyword"),
        "{ha}"
    );
    let ka = refused("loadbalance1", "/etc/keepalived/keepalived.conf");
    assert!(ka.contains("script_security not enabled"), "{ka}");
}
