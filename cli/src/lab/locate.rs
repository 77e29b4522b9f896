//! Where each YAML path sits in the source, so a semantic error can name its line.
//!
//! serde hands validation plain values; this walks the same text once with the YAML
//! parser's event stream and records, for every path (`nodes[2].vrrp.priority`), the
//! position of its key and of its value, every key with its parent (so a rejected file can
//! be checked for all its unknown keys at once), scalar values, and the parser's own
//! complaint when the text is not YAML.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};

/// 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Default)]
pub struct Locator {
    keys: HashMap<String, Pos>,
    values: HashMap<String, Pos>,
    entries: Vec<Entry>,
    /// Scalar values: their text and where they end.
    scalars: HashMap<String, (String, Pos)>,
    syntax: Option<SyntaxError>,
}

/// One key of one mapping, in file order.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The mapping's path (`vrrp[0]`), empty for the top level.
    pub parent: String,
    pub key: String,
    pub pos: Pos,
}

/// Where the YAML parser gave up, and why.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub pos: Pos,
    /// Offset in characters from the start of the text.
    pub index: usize,
    pub message: String,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

impl Locator {
    /// Never fails: a document the parser rejects yields whatever was seen before the error
    /// (serde reports the syntax error itself, with its own position).
    pub fn new(text: &str) -> Self {
        let mut loc = Locator::default();
        let mut stack: Vec<Frame> = Vec::new();
        for item in Parser::new_from_str(text) {
            let (event, span) = match item {
                Ok(ev) => ev,
                Err(e) => {
                    let m = e.marker();
                    loc.syntax = Some(SyntaxError {
                        pos: Pos {
                            line: m.line(),
                            col: m.col() + 1,
                        },
                        index: m.index(),
                        message: e.info(),
                    });
                    break;
                }
            };
            let pos = Pos {
                line: span.start.line(),
                col: span.start.col() + 1,
            };
            match event {
                Event::Scalar(value, ..) => {
                    if let Some(path) = loc.node_path(&mut stack, pos, Some(value.as_ref())) {
                        loc.values.insert(path.clone(), pos);
                        let end = Pos {
                            line: span.end.line(),
                            col: span.end.col() + 1,
                        };
                        loc.scalars.insert(path, (value.to_string(), end));
                    }
                }
                Event::Alias(..) => {
                    if let Some(path) = loc.node_path(&mut stack, pos, None) {
                        loc.values.insert(path, pos);
                    }
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let path = loc.node_path(&mut stack, pos, None).unwrap_or_default();
                    loc.values.insert(path.clone(), pos);
                    stack.push(if matches!(event, Event::MappingStart(..)) {
                        Frame::Map { path, key: None }
                    } else {
                        Frame::Seq { path, next: 0 }
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                // A lab is one document; a second one is serde's to report.
                Event::DocumentEnd => break,
                _ => {}
            }
        }
        loc
    }

    /// The path of the node that starts now, or None when the node is a mapping key
    /// (then it is recorded as the key of the next value).
    fn node_path(&mut self, stack: &mut [Frame], pos: Pos, scalar: Option<&str>) -> Option<String> {
        match stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => Some(join(path, &k)),
                None => {
                    // A key. Complex keys (mappings as keys) are not used by lab files.
                    let k = scalar.unwrap_or("?").to_string();
                    self.keys.insert(join(path, &k), pos);
                    self.entries.push(Entry {
                        parent: path.clone(),
                        key: k.clone(),
                        pos,
                    });
                    *key = Some(k);
                    None
                }
            },
        }
    }

    /// The path whose key or value starts at `pos` (the deepest, for a serde error's place).
    pub fn path_at(&self, pos: Pos) -> Option<String> {
        let key = self.keys.iter().filter(|(_, p)| **p == pos).map(|(k, _)| k);
        let value = self
            .values
            .iter()
            .filter(|(_, p)| **p == pos)
            .map(|(k, _)| k);
        key.chain(value).max_by_key(|k| k.len()).cloned()
    }

    /// Every mapping key, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The text of the scalar value at `path`, if it is one.
    pub fn scalar(&self, path: &str) -> Option<&str> {
        self.scalars.get(path).map(|s| s.0.as_str())
    }

    /// The line the scalar value at `path` ends on (a plain scalar may run on over lines).
    pub fn scalar_end_line(&self, path: &str) -> Option<usize> {
        self.scalars.get(path).map(|s| s.1.line)
    }

    /// The parser's error, when the text is not valid YAML (everything before it is recorded).
    pub fn syntax(&self) -> Option<&SyntaxError> {
        self.syntax.as_ref()
    }

    /// The path whose value (not key) starts at `pos`, the deepest.
    pub fn value_path_at(&self, pos: Pos) -> Option<String> {
        self.values
            .iter()
            .filter(|(_, p)| **p == pos)
            .map(|(k, _)| k)
            .max_by_key(|k| k.len())
            .cloned()
    }

    /// The position of the key of `path`, else of its value, else of the nearest parent.
    pub fn key(&self, path: &str) -> Pos {
        self.find(path, true)
    }

    /// The position of the value of `path`, else of its key, else of the nearest parent.
    pub fn value(&self, path: &str) -> Pos {
        self.find(path, false)
    }

    fn find(&self, path: &str, key_first: bool) -> Pos {
        let mut p = path;
        loop {
            let (first, second) = if key_first {
                (&self.keys, &self.values)
            } else {
                (&self.values, &self.keys)
            };
            if let Some(pos) = first.get(p).or_else(|| second.get(p)) {
                return *pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None if !p.is_empty() => p = "",
                None => return Pos { line: 1, col: 1 },
            }
        }
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_values_and_sequence_items() {
        // Input: a small nested document. Output: line/column of keys, values and items.
        let text = "name: x\nnodes:\n  - name: a\n    role: lb\n  - {name: b, role: web}\n";
        let loc = Locator::new(text);
        assert_eq!(loc.key("name"), Pos { line: 1, col: 1 });
        assert_eq!(loc.value("name"), Pos { line: 1, col: 7 });
        assert_eq!(loc.value("nodes[0].role"), Pos { line: 4, col: 11 });
        assert_eq!(loc.key("nodes[1].role"), Pos { line: 5, col: 15 });
        // Unknown paths fall back to the nearest known parent.
        assert_eq!(loc.value("nodes[1].web.port"), Pos { line: 5, col: 5 });
    }
}
