//! keepalived.conf into tokens, with `include` expanded in place.
//!
//! keepalived's syntax is line-oriented: a statement is the words of one line, a `{` opens a
//! block and a `}` closes it. `!` and `#` start a comment when they start a word; `"..."`
//! quotes a word with spaces. Each token remembers its file and line, and whether it is the
//! first of its line, which is all the parser needs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Diagnostic;

/// Includes nested deeper than this are a loop.
const MAX_INCLUDE_DEPTH: usize = 32;

/// A place in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    /// The file.
    pub file: Arc<PathBuf>,
    /// 1-based line.
    pub line: usize,
}

/// One word, brace or quoted string.
#[derive(Debug, Clone)]
pub struct Token {
    pub text: String,
    /// Was in double quotes (so `{` is a word, not a brace).
    pub quoted: bool,
    /// First token of its line.
    pub starts_line: bool,
    pub pos: Pos,
}

impl Token {
    pub fn is(&self, text: &str) -> bool {
        !self.quoted && self.text == text
    }
}

/// Reads `path` and everything it includes.
pub fn lex_file(path: &Path, errors: &mut Vec<Diagnostic>) -> Vec<Token> {
    let mut out = Vec::new();
    match std::fs::read_to_string(path) {
        Ok(text) => lex_text(path, &text, 0, &mut out, errors),
        Err(e) => errors.push(Diagnostic::whole_file(
            path,
            format!("cannot read configuration file: {e}"),
        )),
    }
    out
}

/// Tokenises `text`, which came from `path`.
pub fn lex_text(
    path: &Path,
    text: &str,
    depth: usize,
    out: &mut Vec<Token>,
    errors: &mut Vec<Diagnostic>,
) {
    let file = Arc::new(path.to_path_buf());
    for (index, line) in text.lines().enumerate() {
        let pos = Pos {
            file: Arc::clone(&file),
            line: index + 1,
        };
        let words = match split_line(line) {
            Ok(words) => words,
            Err(message) => {
                errors.push(Diagnostic::at(&pos, message));
                continue;
            }
        };
        if let Some((first, rest)) = words.split_first()
            && !first.1
            && first.0 == "include"
        {
            include(path, &pos, rest, depth, out, errors);
            continue;
        }
        for (i, (text, quoted)) in words.into_iter().enumerate() {
            out.push(Token {
                text,
                quoted,
                starts_line: i == 0,
                pos: pos.clone(),
            });
        }
    }
}

/// `include PATTERN`: every file matching the glob, in name order, read in place. A relative
/// pattern is relative to the including file's directory.
fn include(
    from: &Path,
    pos: &Pos,
    args: &[(String, bool)],
    depth: usize,
    out: &mut Vec<Token>,
    errors: &mut Vec<Diagnostic>,
) {
    let [(pattern, _)] = args else {
        return errors.push(Diagnostic::at(
            pos,
            "include takes exactly one file name or glob pattern",
        ));
    };
    if depth >= MAX_INCLUDE_DEPTH {
        return errors.push(Diagnostic::at(
            pos,
            format!("includes nested more than {MAX_INCLUDE_DEPTH} deep (an include loop?)"),
        ));
    }
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        from.parent()
            .unwrap_or_else(|| Path::new("."))
            .join(pattern)
    };
    let full_text = full.to_string_lossy().into_owned();
    let paths = match glob::glob(&full_text) {
        Ok(paths) => paths,
        Err(e) => {
            return errors.push(Diagnostic::at(
                pos,
                format!("invalid include pattern `{pattern}`: {e}"),
            ));
        }
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in paths {
        match entry {
            Ok(path) if path.is_file() => files.push(path),
            Ok(_) => {}
            Err(e) => errors.push(Diagnostic::at(pos, format!("cannot read include: {e}"))),
        }
    }
    if files.is_empty() {
        return errors.push(Diagnostic::at(
            pos,
            format!("include `{pattern}` matches no file"),
        ));
    }
    files.sort();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => lex_text(&file, &text, depth + 1, out, errors),
            Err(e) => errors.push(Diagnostic::at(
                pos,
                format!("cannot read included file {}: {e}", file.display()),
            )),
        }
    }
}

/// The words of one line: (text, quoted). Braces are words of their own.
fn split_line(line: &str) -> Result<Vec<(String, bool)>, String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            // A comment runs to the end of the line.
            '!' | '#' => break,
            '{' | '}' => {
                chars.next();
                words.push((c.to_string(), false));
            }
            '"' => {
                chars.next();
                let mut word = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    word.push(c);
                }
                if !closed {
                    return Err("unterminated quoted string".into());
                }
                words.push((word, true));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '{' || c == '}' || c == '"' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                words.push((word, false));
            }
        }
    }
    Ok(words)
}

/// Splits a command line into words the way keepalived does for `script` and `notify`:
/// on whitespace, with '...' and "..." grouping.
pub fn split_command(command: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unterminated quote in command `{command}`"));
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_quotes_and_braces() {
        let words = split_line(r#"  script "killall -0 haproxy"{ } ! comment"#).expect("lexes");
        let texts: Vec<_> = words.iter().map(|w| w.0.as_str()).collect();
        assert_eq!(texts, ["script", "killall -0 haproxy", "{", "}"]);
        assert!(words[1].1);
        assert_eq!(split_line("# all comment").expect("lexes"), []);
        // A comment character inside a word is part of the word (passwords).
        assert_eq!(
            split_line("auth_pass pa!ss")
                .expect("lexes")
                .last()
                .map(|w| w.0.clone()),
            Some("pa!ss".into())
        );
        assert!(split_line(r#"script "open"#).is_err());
    }

    #[test]
    fn commands_split_like_a_shell_would_for_simple_cases() {
        assert_eq!(
            split_command(r#"/bin/sh -c 'echo "a b"' x"#).expect("splits"),
            ["/bin/sh", "-c", "echo \"a b\"", "x"]
        );
        assert!(split_command("a 'b").is_err());
    }
}
