//! Tokens into statements: a keyword, its words on the same line, and an optional block.

use super::Diagnostic;
use super::lexer::{Pos, Token};

/// Blocks nested deeper than this are not keepalived.conf.
const MAX_DEPTH: usize = 16;

/// `keyword arg arg { ... }`.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub key: Token,
    pub args: Vec<Token>,
    pub block: Option<Vec<Stmt>>,
}

impl Stmt {
    pub fn pos(&self) -> &Pos {
        &self.key.pos
    }

    /// The keyword and its arguments as one list of words (list blocks such as
    /// `virtual_ipaddress` and `group` are read that way).
    pub fn words(&self) -> impl Iterator<Item = &Token> {
        std::iter::once(&self.key).chain(&self.args)
    }
}

/// Builds the statement tree, reporting unbalanced braces.
pub fn build(tokens: &[Token], errors: &mut Vec<Diagnostic>) -> Vec<Stmt> {
    let mut index = 0;
    let mut out = block(tokens, &mut index, None, 0, errors);
    // Unmatched `}` at the top level: report and carry on with what follows.
    while index < tokens.len() {
        errors.push(Diagnostic::at(&tokens[index].pos, "unexpected `}`"));
        index += 1;
        out.extend(block(tokens, &mut index, None, 0, errors));
    }
    out
}

fn block(
    tokens: &[Token],
    index: &mut usize,
    opened_at: Option<&Pos>,
    depth: usize,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Stmt> {
    let mut out = Vec::new();
    loop {
        let Some(token) = tokens.get(*index) else {
            if let Some(pos) = opened_at {
                errors.push(Diagnostic::at(pos, "this `{` is never closed"));
            }
            return out;
        };
        if token.is("}") {
            if opened_at.is_some() {
                *index += 1;
            }
            return out;
        }
        if token.is("{") {
            // A block with no keyword: skip it whole so its contents are not misread.
            errors.push(Diagnostic::at(
                &token.pos,
                "`{` without a keyword before it",
            ));
            *index += 1;
            let _ = block(tokens, index, Some(&token.pos), depth + 1, errors);
            continue;
        }
        let key = token.clone();
        *index += 1;
        let mut args = Vec::new();
        while let Some(next) = tokens.get(*index) {
            if next.starts_line || next.is("{") || next.is("}") {
                break;
            }
            args.push(next.clone());
            *index += 1;
        }
        let mut inner = None;
        if let Some(next) = tokens.get(*index)
            && next.is("{")
        {
            *index += 1;
            if depth + 1 > MAX_DEPTH {
                // Give up on the rest rather than recurse without bound.
                errors.push(Diagnostic::at(&next.pos, "blocks nested too deep"));
                *index = tokens.len();
                return out;
            }
            inner = Some(block(tokens, index, Some(&next.pos), depth + 1, errors));
        }
        out.push(Stmt {
            key,
            args,
            block: inner,
        });
    }
}
