//! Tokens into statements: a keyword, its words on the same line, and an optional block.
//!
//! The tree is flat: one list of [`Node`]s in file order, a block's statements right after
//! its keyword's, each node knowing how many follow inside its block. [`Stmt`] and [`Stmts`]
//! are views into it and into the tokens, made as the parser walks them: no allocation per
//! statement or block (issue #18).

use super::Diagnostic;
use super::lexer::{Pos, Token};

/// Blocks nested deeper than this are not keepalived.conf.
const MAX_DEPTH: usize = 16;

/// `keyword arg arg { ... }`.
#[derive(Debug, Clone, Copy)]
pub struct Stmt<'a> {
    pub key: &'a Token<'a>,
    pub args: &'a [Token<'a>],
    pub block: Option<Stmts<'a>>,
}

impl<'a> Stmt<'a> {
    pub fn pos(&self) -> &'a Pos<'a> {
        &self.key.pos
    }

    /// The keyword and its arguments as one list of words (list blocks such as
    /// `virtual_ipaddress` and `group` are read that way).
    pub fn words(&self) -> impl Iterator<Item = &'a Token<'a>> + use<'a> {
        std::iter::once(self.key).chain(self.args)
    }
}

/// One statement in the flat tree.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Its keyword's index in the tokens; its arguments follow it.
    key: usize,
    args: usize,
    /// Whether it has a block.
    block: bool,
    /// How many nodes its block holds, at every depth: they follow this one.
    inner: usize,
}

/// A block's statements (or the file's).
#[derive(Debug, Clone, Copy)]
pub struct Stmts<'a> {
    tokens: &'a [Token<'a>],
    /// The block's statements and everything inside them.
    nodes: &'a [Node],
}

impl<'a> Stmts<'a> {
    pub fn iter(&self) -> Iter<'a> {
        Iter(*self)
    }

    /// How many statements the block holds (not counting those inside them).
    pub fn len(&self) -> usize {
        self.iter().count()
    }
}

impl<'a> IntoIterator for Stmts<'a> {
    type Item = Stmt<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        Iter(self)
    }
}

/// The statements of a block, in file order.
#[derive(Debug, Clone)]
pub struct Iter<'a>(Stmts<'a>);

impl<'a> Iterator for Iter<'a> {
    type Item = Stmt<'a>;

    fn next(&mut self) -> Option<Stmt<'a>> {
        let Stmts { tokens, nodes } = self.0;
        let (node, rest) = nodes.split_first()?;
        let (inner, rest) = rest.split_at_checked(node.inner)?;
        self.0.nodes = rest;
        let (key, args) = tokens.get(node.key..=node.key + node.args)?.split_first()?;
        Some(Stmt {
            key,
            args,
            block: node.block.then_some(Stmts {
                tokens,
                nodes: inner,
            }),
        })
    }
}

/// The statement tree of a file.
#[derive(Debug)]
pub struct Tree<'a> {
    tokens: &'a [Token<'a>],
    nodes: Vec<Node>,
}

impl Tree<'_> {
    /// The top-level statements.
    pub fn top(&self) -> Stmts<'_> {
        Stmts {
            tokens: self.tokens,
            nodes: &self.nodes,
        }
    }
}

/// Builds the statement tree, reporting unbalanced braces.
pub fn build<'a>(tokens: &'a [Token<'a>], errors: &mut Vec<Diagnostic>) -> Tree<'a> {
    let mut builder = Builder {
        tokens,
        index: 0,
        // At most one statement a token; a large file's list is mapped, and the pages it
        // does not fill cost nothing.
        nodes: Vec::with_capacity(tokens.len()),
        errors,
    };
    builder.block(None, 0);
    // Unmatched `}` at the top level: report and carry on with what follows.
    while let Some(token) = tokens.get(builder.index) {
        builder
            .errors
            .push(Diagnostic::at(&token.pos, "unexpected `}`"));
        builder.index += 1;
        builder.block(None, 0);
    }
    Tree {
        tokens,
        nodes: builder.nodes,
    }
}

struct Builder<'a, 'e> {
    tokens: &'a [Token<'a>],
    /// The next token.
    index: usize,
    nodes: Vec<Node>,
    errors: &'e mut Vec<Diagnostic>,
}

impl Builder<'_, '_> {
    /// Reads statements up to the `}` that closes the block (none at the top level) or the
    /// end, appending them and their blocks to `nodes`.
    fn block(&mut self, opened_at: Option<&Pos>, depth: usize) {
        let tokens = self.tokens;
        loop {
            let Some(token) = tokens.get(self.index) else {
                if let Some(pos) = opened_at {
                    self.errors
                        .push(Diagnostic::at(pos, "this `{` is never closed"));
                }
                return;
            };
            if token.is("}") {
                if opened_at.is_some() {
                    self.index += 1;
                }
                return;
            }
            if token.is("{") {
                // A block with no keyword: skip it whole so its contents are not misread.
                self.errors.push(Diagnostic::at(
                    &token.pos,
                    "`{` without a keyword before it",
                ));
                self.index += 1;
                let kept = self.nodes.len();
                self.block(Some(&token.pos), depth + 1);
                self.nodes.truncate(kept);
                continue;
            }
            let key = self.index;
            self.index += 1;
            while let Some(next) = tokens.get(self.index) {
                if next.starts_line || next.is("{") || next.is("}") {
                    break;
                }
                self.index += 1;
            }
            let mut node = Node {
                key,
                args: self.index - key - 1,
                block: false,
                inner: 0,
            };
            let Some(next) = tokens.get(self.index).filter(|next| next.is("{")) else {
                self.nodes.push(node);
                continue;
            };
            self.index += 1;
            if depth + 1 > MAX_DEPTH {
                // Give up on the rest rather than recurse without bound.
                self.errors
                    .push(Diagnostic::at(&next.pos, "blocks nested too deep"));
                self.index = tokens.len();
                return;
            }
            node.block = true;
            let at = self.nodes.len();
            self.nodes.push(node);
            self.block(Some(&next.pos), depth + 1);
            let inner = self.nodes.len() - at - 1;
            if let Some(node) = self.nodes.get_mut(at) {
                node.inner = inner;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::lexer::lex_text;

    /// Input: a file with nested blocks, a keyword-less block and a stray `}`.
    /// Output: the statements as `key(args)[block]`, and the brace errors.
    #[test]
    fn flat_tree_reads_as_nested_statements() {
        let mut errors = Vec::new();
        let lexed = lex_text(
            Path::new("t.conf"),
            "a 1 2 {\n b {\n c\n }\n d 3\n}\n{ x }\ne\n}\nf { g }\n",
            &mut errors,
        );
        let tokens = lexed.tokens();
        let tree = build(&tokens, &mut errors);
        fn show(stmts: Stmts<'_>) -> String {
            stmts
                .iter()
                .map(|s| {
                    let args: Vec<_> = s.args.iter().map(|t| t.text).collect();
                    let block = s
                        .block
                        .map(|b| format!("[{}]", show(b)))
                        .unwrap_or_default();
                    format!("{}({}){block}", s.key.text, args.join(" "))
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
        assert_eq!(show(tree.top()), "a(1 2)[b()[c()] d(3)] e() f()[g()]");
        let lines: Vec<_> = errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (7, "`{` without a keyword before it"),
                (9, "unexpected `}`")
            ]
        );
    }
}
