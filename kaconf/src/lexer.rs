//! keepalived.conf into tokens, with `include` expanded in place.
//!
//! keepalived's syntax is line-oriented: a statement is the words of one line, a `{` opens a
//! block and a `}` closes it. `!` and `#` start a comment when they start a word; `"..."`
//! quotes a word with spaces. Each token remembers its file and line, and whether it is the
//! first of its line, which is all the parser needs.
//!
//! A token is a slice of its file's text, not a string of its own: the lexer keeps every file
//! it read and one flat list of places in them ([`Lexed`]), and [`Lexed::tokens`] turns those
//! into one flat list of [`Token`]s. The parse's garbage is then a few large vectors, which
//! glibc maps apart from the heap and hands back whole, rather than one small allocation per
//! word left as holes between the configuration's (issue #18).

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::Diagnostic;

/// Includes nested deeper than this are a loop.
const MAX_INCLUDE_DEPTH: usize = 32;

/// A place in a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos<'a> {
    /// The file.
    pub file: &'a Path,
    /// 1-based line.
    pub line: usize,
}

/// One word, brace or quoted string.
#[derive(Debug, Clone, Copy)]
pub struct Token<'a> {
    pub text: &'a str,
    /// Was in double quotes (so `{` is a word, not a brace).
    pub quoted: bool,
    /// First token of its line.
    pub starts_line: bool,
    pub pos: Pos<'a>,
}

impl Token<'_> {
    pub fn is(&self, text: &str) -> bool {
        !self.quoted && self.text == text
    }
}

/// Every file read (the configuration, then what it includes, in reading order) and its
/// tokens as places in those files, in the order the parser reads them.
#[derive(Debug, Default)]
pub struct Lexed {
    files: Vec<(PathBuf, String)>,
    words: Vec<Word>,
}

/// A token before every file is read: its file (an index into `files`), its bytes there.
#[derive(Debug)]
struct Word {
    file: usize,
    bytes: Range<usize>,
    line: usize,
    quoted: bool,
    starts_line: bool,
}

impl Lexed {
    /// The tokens, each a slice of its file's text.
    pub fn tokens(&self) -> Vec<Token<'_>> {
        let mut tokens = Vec::with_capacity(self.words.len());
        tokens.extend(self.words.iter().filter_map(|w| {
            let (path, text) = self.files.get(w.file)?;
            Some(Token {
                text: text.get(w.bytes.clone())?,
                quoted: w.quoted,
                starts_line: w.starts_line,
                pos: Pos {
                    file: path,
                    line: w.line,
                },
            })
        }));
        tokens
    }

    /// Tokenises `text`, which came from `path`, and keeps it.
    fn add(&mut self, path: &Path, text: String, depth: usize, errors: &mut Vec<Diagnostic>) {
        let file = self.files.len();
        // The file's place, taken now so that its includes come after it.
        self.files.push((path.to_path_buf(), String::new()));
        // About twice the words of a usual file (one in 7-8 bytes), so the list grows in one
        // step or none; a large file's list is mapped, and the pages it does not fill cost
        // nothing.
        self.words.reserve(text.len() / 4);
        let mut words = Vec::new();
        let mut start = 0;
        for (index, piece) in text.split_inclusive('\n').enumerate() {
            // As `str::lines`: without its `\n`, and then its `\r`, if it has one.
            let line = piece
                .strip_suffix('\n')
                .map_or(piece, |l| l.strip_suffix('\r').unwrap_or(l));
            let line_start = start;
            start += piece.len();
            let pos = Pos {
                file: path,
                line: index + 1,
            };
            if let Err(message) = split_line(line, &mut words) {
                errors.push(Diagnostic::at(&pos, message));
                continue;
            }
            if let [(first, false), rest @ ..] = words.as_slice()
                && line.get(first.clone()) == Some("include")
            {
                let pattern = match rest {
                    [(bytes, _)] => line.get(bytes.clone()),
                    _ => None,
                };
                self.include(path, &pos, pattern, depth, errors);
                continue;
            }
            for (i, (bytes, quoted)) in words.iter().enumerate() {
                self.words.push(Word {
                    file,
                    bytes: line_start + bytes.start..line_start + bytes.end,
                    line: index + 1,
                    quoted: *quoted,
                    starts_line: i == 0,
                });
            }
        }
        if let Some(slot) = self.files.get_mut(file) {
            slot.1 = text;
        }
    }

    /// `include PATTERN`: every file matching the glob, in name order, read in place. A
    /// relative pattern is relative to the including file's directory. `pattern` is None
    /// when the line does not have exactly one.
    fn include(
        &mut self,
        from: &Path,
        pos: &Pos,
        pattern: Option<&str>,
        depth: usize,
        errors: &mut Vec<Diagnostic>,
    ) {
        let Some(pattern) = pattern else {
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
                Ok(text) => self.add(&file, text, depth + 1, errors),
                Err(e) => errors.push(Diagnostic::at(
                    pos,
                    format!("cannot read included file {}: {e}", file.display()),
                )),
            }
        }
    }
}

/// Reads `path` and everything it includes.
pub fn lex_file(path: &Path, errors: &mut Vec<Diagnostic>) -> Lexed {
    let mut lexed = Lexed::default();
    match std::fs::read_to_string(path) {
        Ok(text) => lexed.add(path, text, 0, errors),
        Err(e) => errors.push(Diagnostic::whole_file(
            path,
            format!("cannot read configuration file: {e}"),
        )),
    }
    lexed
}

/// Tokenises `text`, as if read from `path` (includes are relative to it).
pub fn lex_text(path: &Path, text: &str, errors: &mut Vec<Diagnostic>) -> Lexed {
    let mut lexed = Lexed::default();
    lexed.add(path, text.to_owned(), 0, errors);
    lexed
}

/// The words of one line into `words`, replacing what it held: (bytes in the line, quoted).
/// Braces are words of their own.
fn split_line(line: &str, words: &mut Vec<(Range<usize>, bool)>) -> Result<(), String> {
    words.clear();
    let mut chars = line.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            // A comment runs to the end of the line.
            '!' | '#' => break,
            '{' | '}' => {
                chars.next();
                words.push((at..at + 1, false));
            }
            '"' => {
                chars.next();
                let start = at + 1;
                let Some((end, _)) = chars.by_ref().find(|&(_, c)| c == '"') else {
                    return Err("unterminated quoted string".into());
                };
                words.push((start..end, true));
            }
            _ => {
                let mut end = line.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || c == '{' || c == '}' || c == '"' {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                words.push((at..end, false));
            }
        }
    }
    Ok(())
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

    /// The words of `line` as (text, quoted).
    fn split(line: &str) -> Result<Vec<(&str, bool)>, String> {
        let mut words = Vec::new();
        split_line(line, &mut words)?;
        Ok(words.into_iter().map(|(r, q)| (&line[r], q)).collect())
    }

    #[test]
    fn comments_quotes_and_braces() {
        let words = split(r#"  script "killall -0 haproxy"{ } ! comment"#).expect("lexes");
        let texts: Vec<_> = words.iter().map(|w| w.0).collect();
        assert_eq!(texts, ["script", "killall -0 haproxy", "{", "}"]);
        assert!(words[1].1);
        assert_eq!(split("# all comment").expect("lexes"), []);
        // A comment character inside a word is part of the word (passwords).
        assert_eq!(
            split("auth_pass pa!ss").expect("lexes").last().map(|w| w.0),
            Some("pa!ss")
        );
        assert!(split(r#"script "open"#).is_err());
        // Multi-byte characters keep their bytes; an empty quoted word is a word.
        assert_eq!(
            split("é\"\"x{").expect("lexes"),
            [("é", false), ("", true), ("x", false), ("{", false)]
        );
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
