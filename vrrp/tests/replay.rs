//! Replays: a recorded run (tests/data/NAME.jsonl: a config line, then one `{at, input}` per
//! line) must produce exactly the recorded actions (NAME.expected.jsonl, one `{at, actions}`
//! per input). `HALAB_BLESS=1 cargo test -p halab-vrrp --test replay` rewrites the expected
//! files; review the diff before committing it.

use std::path::Path;

use halab_vrrp::replay::{Event, Step, replay};
use halab_vrrp::{Instance, InstanceConfig};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    config: InstanceConfig,
}

fn check(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let recording = std::fs::read_to_string(dir.join(format!("{name}.jsonl"))).expect("recording");
    let mut lines = recording.lines().filter(|l| !l.trim().is_empty());
    let header: Header = serde_json::from_str(lines.next().expect("config line")).expect("config");
    let events: Vec<Event> = lines
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let mut instance = Instance::new(header.config).expect("valid config");
    let steps = replay(&mut instance, events);
    let actual: String = steps
        .iter()
        .map(|s| serde_json::to_string(s).expect("json") + "\n")
        .collect();

    let expected_path = dir.join(format!("{name}.expected.jsonl"));
    if blessing() {
        std::fs::write(&expected_path, &actual).expect("bless");
        return;
    }
    let expected = std::fs::read_to_string(&expected_path)
        .expect("expected actions (bless with HALAB_BLESS=1)");
    let expected_steps: Vec<Step> = expected
        .lines()
        .map(|l| serde_json::from_str(l).expect("step"))
        .collect();
    for (i, (got, want)) in steps.iter().zip(&expected_steps).enumerate() {
        assert_eq!(got, want, "{name}: step {i} at {:?}", want.at);
    }
    assert_eq!(steps.len(), expected_steps.len(), "{name}: number of steps");
    assert_eq!(actual, expected, "{name}: serialised form");
}

/// The workspace's bless switch, read as halab-e2e's `blessing` reads it: `HALAB_BLESS=1`
/// rewrites, unset compares, anything else is refused.
fn blessing() -> bool {
    match std::env::var("HALAB_BLESS") {
        Err(_) => false,
        Ok(v) if v == "1" => true,
        Ok(v) => {
            panic!("HALAB_BLESS={v:?}: set HALAB_BLESS=1 to rewrite expected files, or unset it")
        }
    }
}

#[test]
fn handoff_and_heal() {
    check("handoff_and_heal");
}
