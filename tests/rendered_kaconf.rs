//! halab renders keepalived.conf for every lab in labs/; halabd's parser (halab-kaconf) must
//! take each of them. Cross-crate, so it lives here rather than in either crate.

use std::path::Path;

use halab_kaconf::parse_str;

/// Input: every lab in labs/, rendered by halab. Output: every keepalived.conf parses, with
/// the instances the lab describes.
#[test]
fn every_rendered_lab_config_parses() {
    let labs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs");
    let templates = halab::render::Templates::embedded().expect("templates");
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&labs).expect("labs/").flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let lab_file = entry.path().join("lab.yaml");
        if !lab_file.exists() {
            continue;
        }
        let lab =
            halab::lab::load(&lab_file).unwrap_or_else(|e| panic!("{}: {e}", lab_file.display()));
        let artefacts = halab::render::render(&lab, &templates).expect("renders");
        for a in artefacts
            .iter()
            .filter(|a| a.path == "/etc/keepalived/keepalived.conf")
        {
            let text = String::from_utf8(a.bytes.clone()).expect("utf-8");
            let name = format!("{}/{}/keepalived.conf", entry.path().display(), a.node);
            let parsed = parse_str(Path::new(&name), &text)
                .unwrap_or_else(|e| panic!("{name}:\n{e}\n{text}"));
            assert!(!parsed.config.instances.is_empty(), "{name}: no instance");
            for i in &parsed.config.instances {
                assert!(!i.vips.is_empty(), "{name}: {} has no VIP", i.name);
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 10,
        "only {seen} keepalived.conf rendered from labs/"
    );
}
