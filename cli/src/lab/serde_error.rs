//! A serde-saphyr error (syntax, wrong type, unknown key) as one diagnostic with a hint.

use serde_saphyr::Error;

use super::locate::{Locator, Pos};
use crate::diag::{Diagnostics, did_you_mean};

pub fn diagnose(e: &Error, _text: &str, loc: &Locator) -> Diagnostics {
    let inner = e.without_snippet();
    let pos = inner.location().map_or(Pos { line: 1, col: 1 }, |l| Pos { line: usize::try_from(l.line()).unwrap_or(1), col: usize::try_from(l.column()).unwrap_or(1) });
    let path = loc.path_at(pos).unwrap_or_default();
    let (message, hint) = match inner {
        Error::SerdeUnknownField { field, expected, .. } => (
            format!("unknown field `{field}`"),
            Some(format!("{}; see docs/lab-file.md", did_you_mean(field, expected))),
        ),
        Error::SerdeUnknownVariant { variant, expected, .. } => (
            format!("unknown value `{variant}`"),
            Some(did_you_mean(variant, expected)),
        ),
        Error::SerdeMissingField { field, .. } => (format!("missing field `{field}`"), Some(format!("add `{field}:` here; see docs/lab-file.md"))),
        Error::SerdeInvalidType { .. } | Error::SerdeInvalidValue { .. } => {
            (plain(inner), Some("check the value's type against docs/lab-file.md (numbers unquoted, lists in [] or `- ` items)".to_string()))
        }
        _ => (plain(inner), Some("the file is not valid YAML here; check indentation and quoting".to_string())),
    };
    let mut d = Diagnostics::default();
    d.push(path, pos, message, hint);
    d
}

/// The error's own message without its location suffix (we print the location in front).
fn plain(e: &Error) -> String {
    let opts = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
    let s = e.render_with_options(opts);
    let s = match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    s.trim().to_string()
}
