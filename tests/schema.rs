//! The JSON Schemas editors read (docs/schema/) are the ones `halab schema` generates from
//! the serde types that parse lab and scenario files, and every lab and scenario in the
//! repository validates against them.
//!
//! Input: docs/schema/{lab,scenario}.schema.json, labs/*/*.yaml, labs/*/scenarios/*.yaml.
//! Output: equal to the generated schemas (HALAB_BLESS=1 rewrites them); each file valid;
//! a misspelt key invalid.

use halab::cmd::schema::{Kind, schema};
use halab_e2e::{golden, labs, root};

fn compiled(kind: Kind) -> jsonschema::JSONSchema {
    let value: serde_json::Value = serde_json::from_str(&schema(kind)).expect("schema is JSON");
    jsonschema::JSONSchema::compile(&value).expect("a valid JSON Schema")
}

fn yaml(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read");
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn problems(schema: &jsonschema::JSONSchema, value: &serde_json::Value) -> Vec<String> {
    match schema.validate(value) {
        Ok(()) => vec![],
        Err(errors) => errors
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect(),
    }
}

#[test]
fn the_committed_schemas_are_the_generated_ones() {
    let mut diffs = Vec::new();
    for (kind, file) in [(Kind::Lab, "lab"), (Kind::Scenario, "scenario")] {
        let path = root().join(format!("docs/schema/{file}.schema.json"));
        diffs.extend(golden(&path, &schema(kind)));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn every_lab_and_scenario_in_the_repository_validates() {
    let (lab, scenario) = (compiled(Kind::Lab), compiled(Kind::Scenario));
    let mut checked = 0;
    let mut failures = Vec::new();
    for dir in labs() {
        let mut files: Vec<(std::path::PathBuf, &jsonschema::JSONSchema)> = Vec::new();
        for e in std::fs::read_dir(&dir).expect("lab dir").flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "yaml") {
                files.push((p, &lab));
            }
        }
        if let Ok(d) = std::fs::read_dir(dir.join("scenarios")) {
            for e in d.flatten() {
                files.push((e.path(), &scenario));
            }
        }
        for (p, s) in files {
            checked += 1;
            let found = problems(s, &yaml(&p));
            if !found.is_empty() {
                failures.push(format!("{}: {}", p.display(), found.join("; ")));
            }
        }
    }
    assert!(checked >= 30, "only {checked} files checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_misspelt_key_is_flagged_by_the_schema() {
    let (lab, scenario) = (compiled(Kind::Lab), compiled(Kind::Scenario));
    let bad_lab: serde_json::Value = serde_saphyr::from_str(
        "name: x\nnetworks: [{ name: lan, cidr: 10.0.0.0/24 }]\nnodes: [{ name: lb1, role: lb, address: 10.0.0.2, prioriy: 5 }]\n",
    )
    .expect("yaml");
    assert!(!problems(&lab, &bad_lab).is_empty(), "prioriy passed");
    let bad_scenario: serde_json::Value =
        serde_saphyr::from_str("steps:\n  - outage: { max_gap: 2s, vipp: 10.0.0.10 }\n")
            .expect("yaml");
    assert!(
        !problems(&scenario, &bad_scenario).is_empty(),
        "vipp passed"
    );
}
