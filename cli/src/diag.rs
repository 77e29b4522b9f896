//! Diagnostics: every problem with its place in the file, a message and a hint.
//!
//! Rendered as `error: FILE:LINE:COL: PATH: MESSAGE`, the source line with a caret, and
//! `hint: ...`, the way compilers print. Plain text, no colour: golden files pin it.

use std::fmt::Write as _;
use std::path::Path;

use crate::lab::locate::Pos;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The field's YAML path, `nodes[2].address`; empty for the whole file.
    pub path: String,
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

/// All problems found in one file; validation fills it and stops at the checkpoint.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn push(
        &mut self,
        path: impl Into<String>,
        pos: Pos,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.items.push(Diagnostic {
            path: path.into(),
            pos,
            message: message.into(),
            hint,
        });
    }

    /// Renders every diagnostic against the file's text, in file order.
    pub fn render(&self, file: &Path, source: &str) -> String {
        let mut items: Vec<&Diagnostic> = self.items.iter().collect();
        items.sort_by_key(|d| (d.pos.line, d.pos.col));
        let lines: Vec<&str> = source.lines().collect();
        let mut out = String::new();
        for d in items {
            let place = if d.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", d.path)
            };
            let _ = writeln!(
                out,
                "error: {}:{}:{}: {place}{}",
                file.display(),
                d.pos.line,
                d.pos.col,
                d.message
            );
            if let Some(text) = d.pos.line.checked_sub(1).and_then(|i| lines.get(i)) {
                let num = d.pos.line.to_string();
                let pad = " ".repeat(num.len());
                let text = text.trim_end();
                // Columns count characters; the caret goes under the same character.
                let lead: String = text
                    .chars()
                    .take(d.pos.col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let _ = writeln!(out, " {num} | {text}");
                let _ = writeln!(out, " {pad} | {lead}^");
            }
            if let Some(h) = &d.hint {
                let _ = writeln!(out, "  hint: {h}");
            }
        }
        let n = self.items.len();
        let _ = writeln!(
            out,
            "{n} problem{} in {}",
            if n == 1 { "" } else { "s" },
            file.display()
        );
        out
    }
}

/// The nearest of `candidates` to `word`, when it is near enough to be a plausible typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(&str, f64)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&word.to_ascii_lowercase(), &c.to_ascii_lowercase());
        if score > best.map_or(0.0, |b| b.1) {
            best = Some((c, score));
        }
    }
    best.filter(|b| b.1 >= 0.8).map(|b| b.0)
}

/// "did you mean `x`?" for the nearest candidate, or the list of what is valid.
pub fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    match nearest(word, candidates.iter().copied()) {
        Some(n) => format!("did you mean `{n}`?"),
        None if candidates.is_empty() => "none is defined".to_string(),
        None => format!(
            "valid: {}",
            candidates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
