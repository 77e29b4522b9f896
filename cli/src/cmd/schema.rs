//! `halab schema lab|scenario`: the JSON Schema of lab files and of scenario files, generated
//! from the same serde types that parse them (`lab::raw`, `scenario::file`), for editors
//! that read JSON Schema (yaml-language-server: `# yaml-language-server: $schema=...`).
//! docs/schema/ holds the committed copies; a test keeps them equal to these.

/// Which file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Lab,
    Scenario,
}

/// The schema as pretty JSON, with a trailing newline (as committed).
pub fn schema(kind: Kind) -> String {
    let root = match kind {
        Kind::Lab => schemars::schema_for!(crate::lab::raw::RawLab),
        Kind::Scenario => crate::scenario::file::json_schema(),
    };
    let mut text = serde_json::to_string_pretty(&root).unwrap_or_default();
    text.push('\n');
    text
}
