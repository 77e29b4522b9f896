//! Every lab in labs/ validates and renders exactly as its golden files say.
//!
//! Input: labs/<lab>/lab.yaml with an empty environment (secrets take their defaults).
//! Output: tests/golden/<lab>/<node>/<path> per file, and MANIFEST with each file's mode;
//! nothing else in tests/golden.

use std::collections::{HashMap, HashSet};

use halab::lab;
use halab::render::{self, Templates};
use halab_e2e::{golden, labs, root, sweep};

#[test]
fn every_lab_renders_as_its_golden_files() {
    let env: HashMap<String, String> = HashMap::new();
    let t = Templates::embedded().expect("embedded templates parse");
    let mut failures = Vec::new();
    let mut produced = HashSet::new();
    let all = labs();
    assert!(
        all.len() >= 6,
        "expected labs/seed000..seed004 and labs/minimal, found {all:?}"
    );
    for dir in all {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let lab = match lab::load_with_env(&dir.join("lab.yaml"), &env) {
            Ok(l) => l,
            Err(e) => {
                failures.push(format!("{name}: does not validate:\n{e}"));
                continue;
            }
        };
        let artefacts = render::render(&lab, &t).expect("render");
        let gdir = root().join("tests/golden").join(&name);
        let mut manifest = String::new();
        for a in &artefacts {
            manifest.push_str(&format!("{:o} {} {}\n", a.mode, a.node, a.path));
            let text = String::from_utf8(a.bytes.clone()).expect("rendered text is UTF-8");
            let path = gdir.join(&a.node).join(a.path.trim_start_matches('/'));
            if let Some(d) = golden(&path, &text) {
                failures.push(d);
            }
            produced.insert(path);
        }
        if let Some(d) = golden(&gdir.join("MANIFEST"), &manifest) {
            failures.push(d);
        }
        produced.insert(gdir.join("MANIFEST"));
    }
    // Golden files of removed labs, nodes or files fail too (tests/golden holds nothing else).
    failures.extend(sweep(&root().join("tests/golden"), &produced));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn secrets_come_from_the_environment_and_files_holding_them_are_private() {
    // Input: seed000 with HALAB_VRRP_PASS and HALAB_STATS_PASSWORD set.
    // Output: the values in keepalived.conf / haproxy.cfg, both mode 0600, and never in Debug output.
    let env: HashMap<String, String> = [
        ("HALAB_VRRP_PASS".to_string(), "vr7Pw".to_string()),
        ("HALAB_STATS_PASSWORD".to_string(), "St4tsPw".to_string()),
    ]
    .into();
    let lab =
        lab::load_with_env(&root().join("labs/seed000/lab.yaml"), &env).expect("seed000 validates");
    let debug = format!("{lab:?}");
    assert!(
        !debug.contains("vr7Pw") && !debug.contains("St4tsPw"),
        "a secret leaked into Debug output"
    );
    let json = serde_json_string(&lab);
    assert!(
        !json.contains("vr7Pw") && !json.contains("St4tsPw"),
        "a secret leaked into JSON output"
    );
    let artefacts =
        render::render(&lab, &Templates::embedded().expect("templates")).expect("render");
    let ka = artefacts
        .iter()
        .find(|a| a.path == "/etc/keepalived/keepalived.conf")
        .expect("keepalived.conf");
    assert!(String::from_utf8_lossy(&ka.bytes).contains("auth_pass vr7Pw"));
    assert_eq!(ka.mode, 0o600);
    let hp = artefacts
        .iter()
        .find(|a| a.path == "/etc/haproxy/haproxy.cfg")
        .expect("haproxy.cfg");
    assert!(String::from_utf8_lossy(&hp.bytes).contains("stats auth lemp:St4tsPw"));
    assert_eq!(hp.mode, 0o600);
}

fn serde_json_string(lab: &halab::lab::Lab) -> String {
    // The CLI's `validate --json` path.
    halab::lab::model::to_json(lab).to_string()
}

#[test]
fn an_unset_secret_without_default_is_an_error_naming_the_variable() {
    let text = std::fs::read_to_string(root().join("labs/seed000/lab.yaml"))
        .expect("read")
        .replace("${HALAB_VRRP_PASS:-12345}", "${HALAB_TEST_UNSET_VAR}");
    let env: HashMap<String, String> = HashMap::new();
    let err = lab::parse(std::path::Path::new("labs/seed000/lab.yaml"), &text, &env)
        .expect_err("must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("environment variable `HALAB_TEST_UNSET_VAR` is not set"),
        "{msg}"
    );
    assert!(msg.contains("vrrp[0].auth.pass"), "{msg}");
}

#[test]
fn a_template_with_an_undefined_variable_fails_with_its_name_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("hosts.j2"),
        "line one\n{{ node.name }}\n{{ node.no_such_field }}\n",
    )
    .expect("write");
    let t = Templates::with_overrides(Some(dir.path())).expect("templates");
    let lab = lab::load_with_env(&root().join("labs/minimal/lab.yaml"), &HashMap::new())
        .expect("minimal validates");
    let err = render::render(&lab, &t).expect_err("strict undefined must fail");
    let msg = err.to_string();
    assert!(msg.contains("hosts.j2:3"), "{msg}");
    assert!(msg.contains("undefined"), "{msg}");
}
