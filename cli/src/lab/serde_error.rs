//! A file serde-saphyr rejected, as diagnostics with hints: the YAML syntax error if there is
//! one, every unknown key and value ([`schema::sweep`]), and serde's own first complaint
//! (a wrong type, a missing key) unless it is one of those or a consequence of the syntax error.

use serde_saphyr::Error;

use super::locate::{Locator, Pos, SyntaxError};
use super::schema;
use crate::diag::{Diagnostic, Diagnostics};

pub fn diagnose(e: &Error, text: &str, loc: &Locator) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let Some(s) = loc.syntax() {
        d.items.push(syntax(s, text, loc));
    }
    schema::sweep(loc, &mut d);
    let inner = e.without_snippet();
    let shadowed = loc
        .syntax()
        .is_some_and(|s| !ends_before_line(inner, text, s.pos.line));
    if !shadowed {
        let x = from_serde(inner, text, loc);
        if !d
            .items
            .iter()
            .any(|i| i.pos == x.pos && i.message == x.message)
        {
            d.items.push(x);
        }
    }
    d
}

/// The same for a file that is not a lab file (a scenario): the syntax error and serde's
/// first complaint, without the lab schema's sweep for unknown keys.
pub fn diagnose_without_schema(e: &Error, text: &str, loc: &Locator) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let Some(s) = loc.syntax() {
        d.items.push(syntax(s, text, loc));
    }
    let inner = e.without_snippet();
    if loc
        .syntax()
        .is_none_or(|s| ends_before_line(inner, text, s.pos.line))
    {
        d.items.push(from_serde(inner, text, loc));
    }
    d
}

/// Whether serde's error lies wholly before `line`: an error in a value the syntax error cut
/// short (a scalar that ran on into the next line) is that error's consequence.
fn ends_before_line(e: &Error, text: &str, line: usize) -> bool {
    let Some(l) = e.location() else { return false };
    let end = usize::try_from(l.span().offset() + l.span().len()).unwrap_or(usize::MAX);
    end <= line_start(text, line)
}

fn diag(
    path: impl Into<String>,
    pos: Pos,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> Diagnostic {
    Diagnostic {
        path: path.into(),
        pos,
        message: message.into(),
        hint: Some(hint.into()),
    }
}

/// serde's error in lab-file words.
fn from_serde(e: &Error, text: &str, loc: &Locator) -> Diagnostic {
    let l = e.location();
    let pos = l.map_or(Pos { line: 1, col: 1 }, |l| Pos {
        line: usize::try_from(l.line()).unwrap_or(1),
        col: usize::try_from(l.column()).unwrap_or(1),
    });
    let spanned = l
        .map(|l| chars(text, l.span().offset(), l.span().len()))
        .unwrap_or_default();
    let path = loc.path_at(pos).unwrap_or_default();
    let key = schema::key_of(&path);
    let last_line = pos.line + spanned.matches('\n').count();
    match e {
        Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let (message, hint) = schema::unknown_key(field, expected);
            diag(path, pos, message, hint)
        }
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            let (message, hint) =
                schema::unknown_value(schema::value_kind(&path), variant, expected);
            diag(
                &path,
                pos,
                message,
                schema::folded(key, pos.line, last_line).unwrap_or(hint),
            )
        }
        Error::SerdeMissingField { field, .. } => {
            // serde-saphyr places it at the mapping's last key: name the mapping instead.
            let map = loc
                .entries()
                .iter()
                .find(|e| e.pos == pos && join(&e.parent, &e.key) == path)
                .map_or(path.clone(), |e| e.parent.clone());
            diag(
                &map,
                loc.value(&map),
                format!("missing key `{field}`"),
                missing_hint(field, &map),
            )
        }
        Error::Unexpected { expected, .. } => shape(
            &loc.value_path_at(pos).unwrap_or(path),
            pos,
            expected,
            text,
            loc,
        ),
        Error::Eof { .. } if loc.entries().is_empty() => diag(
            "",
            Pos { line: 1, col: 1 },
            "the lab file is empty",
            "a lab needs at least `name`, `networks` and `nodes`; labs/minimal/lab.yaml is a small example",
        ),
        Error::InvalidScalar { ty, .. } => {
            let (what, hint) = scalar_type(ty);
            diag(
                &path,
                pos,
                format!("`{}` is not {what}", spanned.trim()),
                schema::folded(key, pos.line, last_line).unwrap_or(hint),
            )
        }
        Error::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | Error::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => diag(
            path,
            pos,
            format!("expected {expected}, found {unexpected}"),
            "check the value against docs/lab-file.md: numbers unquoted, lists in `[]` or `- ` items, maps as `key: value`",
        ),
        Error::DuplicateMappingKey { key: Some(k), .. } => diag(
            path,
            pos,
            format!("key `{k}` appears twice in this map"),
            "a YAML map holds each key once: merge the two or delete one",
        ),
        _ => {
            let s = SyntaxError {
                pos,
                index: l.map_or(0, |l| usize::try_from(l.span().offset()).unwrap_or(0)),
                message: plain(e),
            };
            syntax(&s, text, loc)
        }
    }
}

/// A map or list where the other (or a scalar) was written.
fn shape(path: &str, pos: Pos, expected: &str, text: &str, loc: &Locator) -> Diagnostic {
    let key = schema::key_of(path);
    let first_key = loc
        .entries()
        .iter()
        .find(|e| e.parent == path)
        .map(|e| e.key.as_str());
    let found = match (loc.scalar(path), first_key) {
        (Some(s), _) => format!("`{s}`"),
        (None, Some(_)) => "a map".to_string(),
        (None, None) => match char_at(text, pos) {
            Some('[' | '-') => "a list".to_string(),
            Some('{') => "a map".to_string(),
            _ => "something else".to_string(),
        },
    };
    match expected {
        "mapping start" if path.is_empty() => diag(
            path,
            pos,
            format!(
                "the lab file must be a map of keys (`name:`, `networks:`, `nodes:`, ...), found {found}"
            ),
            "labs/minimal/lab.yaml is a small example to start from",
        ),
        "mapping start" => diag(
            path,
            pos,
            format!("expected a map (`key: value`), found {found}"),
            format!(
                "write `{key}:` with one `KEY: VALUE` per line indented below it, or `{key}: {{KEY: VALUE, ...}}`"
            ),
        ),
        "sequence start" => {
            let hint = match (loc.scalar(path), first_key) {
                (None, Some(first)) => format!(
                    "start each entry with `- `: a map keyed by name (`{first}: {{...}}`) becomes `- {{name: {first}, ...}}`"
                ),
                (item, _) => format!(
                    "a list is `[a, b]` or one `- item` per line, even with one item: `{key}: [{}]`",
                    item.unwrap_or("ITEM")
                ),
            };
            diag(path, pos, format!("expected a list, found {found}"), hint)
        }
        other => diag(
            path,
            pos,
            format!("expected {other}, found {found}"),
            "check the value's type against docs/lab-file.md",
        ),
    }
}

/// What a scalar type is called, and how to write one.
fn scalar_type(ty: &str) -> (String, String) {
    let whole = "write digits only, without quotes or a unit";
    match ty {
        "u8" => ("a whole number 0..255".to_string(), whole.to_string()),
        "u16" => ("a whole number 0..65535".to_string(), whole.to_string()),
        "u32" => (
            "a whole number 0..4294967295".to_string(),
            whole.to_string(),
        ),
        "i8" | "i16" | "i32" | "i64" | "u64" | "usize" | "isize" => {
            ("a whole number".to_string(), whole.to_string())
        }
        "f32" | "f64" => (
            "a number".to_string(),
            "write seconds as a plain number, without a unit: `2`, `0.5`".to_string(),
        ),
        "bool" => (
            "`true` or `false`".to_string(),
            "write `true` or `false`".to_string(),
        ),
        other => (
            format!("a {other}"),
            "check the value's type against docs/lab-file.md".to_string(),
        ),
    }
}

fn missing_hint(field: &str, map: &str) -> String {
    match field {
        "name" if map.is_empty() => {
            "add `name: LAB` at the top: letters, digits, `-` and `_`".to_string()
        }
        "name" => "add `name: ...`: other sections refer to this one by it".to_string(),
        "role" => "add `role: lb`, `role: web` or `role: client`".to_string(),
        "vips" => {
            "add `vips: [ADDRESS]`: the virtual addresses this instance moves between the LBs"
                .to_string()
        }
        "vrid" => "add `vrid: N` (1..255, unique on the network): keepalived's virtual_router_id"
            .to_string(),
        "networks" => "add `networks: [{name: lan, cidr: 10.0.0.0/24}]`".to_string(),
        "nodes" => "add `nodes:` with the LB, web and client nodes".to_string(),
        "cidr" => "add `cidr: ADDRESS/PREFIX`, e.g. 10.0.0.0/24".to_string(),
        "script" => {
            "add `script: \"COMMAND\"`: what keepalived runs, as in vrrp_script".to_string()
        }
        "pass" => "add `pass: SECRET` (1 to 8 characters; `${VAR}` reads it from the environment)"
            .to_string(),
        "host" => "add `host: HOST`: an address or an ssh_config alias".to_string(),
        "backend" => "add `backend: NAME`: a backend or listen of this lab".to_string(),
        "network" => "add `network: NAME`: one of the lab's `networks`".to_string(),
        "path" | "content" => {
            "a script `file` needs both `path` (absolute) and `content`".to_string()
        }
        f => format!("add `{f}:` here; see docs/lab-file.md"),
    }
}

/// The parser's complaint, placed where the mistake is and explained.
fn syntax(s: &SyntaxError, text: &str, loc: &Locator) -> Diagnostic {
    if s.message.contains("tab") {
        let at = text
            .chars()
            .skip(s.index)
            .position(|c| c == '\t')
            .map_or(s.pos, |i| pos_of(text, s.index + i));
        return diag(
            "",
            at,
            "a tab in the indentation",
            "YAML indents with spaces only: replace the tab with spaces",
        );
    }
    // The scan includes the character the parser stopped at: it may be the opener itself.
    let (quote, flow) = open_at(text, s.index + 1);
    let read_on = |at: Pos| {
        if s.pos.line > at.line {
            format!("YAML read on to line {} ({})", s.pos.line, s.message)
        } else {
            "YAML read on to the end of the file".to_string()
        }
    };
    if let Some((q, at)) = quote.filter(|_| s.message.contains("quote")) {
        return diag(
            loc.path_at(at).unwrap_or_default(),
            at,
            format!("`{q}` is never closed"),
            format!(
                "add the closing `{q}`: a quoted value may span lines, so {}",
                read_on(at)
            ),
        );
    }
    if let Some((open, at)) =
        flow.filter(|(_, at)| at.line < s.pos.line || s.message.contains("unclosed bracket"))
    {
        let close = if open == '[' { ']' } else { '}' };
        return diag(
            loc.path_at(at).unwrap_or_default(),
            at,
            format!("`{open}` is never closed"),
            format!("close it with `{close}` where it ends; {}", read_on(at)),
        );
    }
    let line = text.lines().nth(s.pos.line.saturating_sub(1)).unwrap_or("");
    let indent = line.len() - line.trim_start().len();
    let hint = if s.message.contains("mapping values are not allowed") {
        let lines: Vec<&str> = text.lines().take(s.pos.line.saturating_sub(1)).collect();
        let above = lines
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .copied()
            .unwrap_or("");
        let above_indent = above.len() - above.trim_start().len();
        let key = line
            .trim_start()
            .trim_start_matches("- ")
            .split(':')
            .next()
            .unwrap_or("")
            .trim();
        if indent > above_indent {
            format!(
                "line {} is indented deeper ({indent} spaces) than the line above ({above_indent}), so YAML reads it as part of that value: indent `{key}:` like its sibling keys",
                s.pos.line
            )
        } else {
            "a value holding `: ` must be quoted: `key: \"a: b\"`".to_string()
        }
    } else if s.message.contains("did not find expected") && !s.message.contains("',' or") {
        format!(
            "line {} is indented {indent} spaces, which matches no key or `- ` item above it: align it with its siblings",
            s.pos.line
        )
    } else {
        "the file is not valid YAML here; check indentation and quoting".to_string()
    };
    diag("", s.pos, s.message.clone(), hint)
}

/// A delimiter and where it opened.
type Opened = Option<(char, Pos)>;

/// The quote, and the innermost `[` or `{`, still open at character `index` (comments skipped).
fn open_at(text: &str, index: usize) -> (Opened, Opened) {
    let mut opened = 0;
    let mut stack: Vec<(char, usize)> = Vec::new();
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut prev = '\n';
    for (i, c) in text.chars().take(index).enumerate() {
        match (quote, c) {
            _ if comment => comment = c != '\n',
            (Some('"'), '\\') if prev == '\\' => {
                prev = ' ';
                continue;
            }
            (Some(q), c) if c == q && !(q == '"' && prev == '\\') => quote = None,
            (Some(_), _) => {}
            (None, '#') if prev.is_whitespace() => comment = true,
            (None, '"' | '\'') if prev.is_whitespace() || "[{,:".contains(prev) => {
                quote = Some(c);
                opened = i;
            }
            (None, '[' | '{') => stack.push((c, i)),
            (None, ']' | '}') => {
                stack.pop();
            }
            _ => {}
        }
        prev = c;
    }
    (
        quote.map(|q| (q, pos_of(text, opened))),
        stack.pop().map(|(c, i)| (c, pos_of(text, i))),
    )
}

/// 1-based line and column of character `index`.
fn pos_of(text: &str, index: usize) -> Pos {
    let before: Vec<char> = text.chars().take(index).collect();
    let line = before.iter().filter(|c| **c == '\n').count() + 1;
    let col = before.iter().rev().take_while(|c| **c != '\n').count() + 1;
    Pos { line, col }
}

/// The character index where 1-based `line` starts.
fn line_start(text: &str, line: usize) -> usize {
    text.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(|l| l.chars().count())
        .sum()
}

fn char_at(text: &str, pos: Pos) -> Option<char> {
    text.lines()
        .nth(pos.line.checked_sub(1)?)?
        .chars()
        .nth(pos.col.checked_sub(1)?)
}

fn chars(text: &str, offset: u64, len: u64) -> String {
    text.chars()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(len).unwrap_or(0))
        .collect()
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_unclosed_bracket_and_line_starts() {
        // Input: a flow list left open, a quoted `[` and a comment. Output: the open `[`.
        let text = "a: \"[x\" # [\nb: [1, 2\nc: 3\n";
        let at = text
            .find("c:")
            .map(|i| text[..i].chars().count())
            .unwrap_or(0);
        assert_eq!(
            open_at(text, at),
            (None, Some(('[', Pos { line: 2, col: 4 })))
        );
        assert_eq!(
            open_at("a: 'x\n", 6).0,
            Some(('\'', Pos { line: 1, col: 4 }))
        );
        assert_eq!(line_start(text, 2), 12);
    }
}
