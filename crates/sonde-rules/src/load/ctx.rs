//! Load context: file names and text (for positions), the errors collected so
//! far, and the checks of YAML shape shared by lists, macros and rules.

use std::collections::HashMap;

use crate::compile::{Compiler, MAX_PRED_DEPTH};
use crate::condition::{self, Expr};
use crate::error::{ErrorKind, Location, RuleError};
use crate::eval::Pred;
use crate::yaml::{Node, NodeKind, Pos};

pub(super) struct Ctx {
    pub(super) names: Vec<String>,
    pub(super) chars: Vec<Vec<char>>,
    pub(super) errors: Vec<(usize, RuleError)>,
}

impl Ctx {
    pub(super) fn err(&mut self, file: usize, pos: Pos, kind: ErrorKind) {
        self.errors.push((
            file,
            RuleError {
                location: Location {
                    file: self.names[file].clone(),
                    line: pos.line,
                    col: pos.col,
                },
                kind,
            },
        ));
    }

    /// Error at a character offset inside a scalar node (condition, output).
    pub(super) fn err_in(&mut self, file: usize, node: &Node, offset: usize, kind: ErrorKind) {
        let pos = node.map_offset(&self.chars[file], offset);
        self.err(file, pos, kind);
    }

    pub(super) fn scalar<'n>(&mut self, file: usize, node: &'n Node, key: &str) -> Option<&'n str> {
        let s = node.as_str();
        if s.is_none() {
            self.err(
                file,
                node.pos,
                ErrorKind::Structure(format!(
                    "`{key}` must be a string, found {}",
                    node.kind_name()
                )),
            );
        }
        s
    }

    /// A `true`/`false` value, or an error at the node.
    pub(super) fn flag(&mut self, file: usize, node: &Node, key: &str) -> Option<bool> {
        match node.as_str() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => {
                self.err(
                    file,
                    node.pos,
                    ErrorKind::Structure(format!("`{key}` must be true or false")),
                );
                None
            }
        }
    }

    pub(super) fn string_list(
        &mut self,
        file: usize,
        node: &Node,
        key: &str,
    ) -> Option<Vec<String>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.err(
                file,
                node.pos,
                ErrorKind::Structure(format!(
                    "`{key}` must be a sequence, found {}",
                    node.kind_name()
                )),
            );
            return None;
        };
        let mut out = Vec::new();
        for i in items {
            out.push(self.scalar(file, i, key)?.to_string());
        }
        Some(out)
    }

    /// Checks keys against `allowed`; returns key → value node.
    pub(super) fn keys<'n>(
        &mut self,
        file: usize,
        kv: &'n [(Node, Node)],
        item: &'static str,
        allowed: &[&str],
    ) -> HashMap<&'n str, &'n Node> {
        let mut out = HashMap::new();
        for (k, v) in kv {
            let Some(key) = k.as_str() else {
                self.err(
                    file,
                    k.pos,
                    ErrorKind::Structure(format!("keys of a {item} must be strings")),
                );
                continue;
            };
            if !allowed.contains(&key) {
                let hint = match key {
                    "append" | "override" | "exceptions" => {
                        format!("; `{key}` is not supported yet")
                    }
                    _ => format!("; expected one of {}", allowed.join(", ")),
                };
                self.err(
                    file,
                    k.pos,
                    ErrorKind::UnknownKey {
                        key: key.to_string(),
                        item,
                        hint,
                    },
                );
                continue;
            }
            if out.insert(key, v).is_some() {
                self.err(
                    file,
                    k.pos,
                    ErrorKind::Structure(format!("duplicate key `{key}` in {item}")),
                );
            }
        }
        out
    }

    /// Parses a condition scalar, reporting a syntax error in file coordinates.
    pub(super) fn condition(&mut self, file: usize, node: &Node) -> Option<Expr> {
        let text = self.scalar(file, node, "condition")?;
        match condition::parse(text) {
            Ok(e) => Some(e),
            Err(e) => {
                self.err_in(file, node, e.offset, ErrorKind::ConditionSyntax(e.message));
                None
            }
        }
    }

    pub(super) fn compile(
        &mut self,
        c: &Compiler<'_>,
        file: usize,
        node: &Node,
        e: &Expr,
    ) -> Option<Pred> {
        match c.compile(e) {
            Ok(p) if p.depth() > MAX_PRED_DEPTH => {
                self.err(
                    file,
                    node.pos,
                    ErrorKind::ConditionSyntax(format!(
                        "condition nested deeper than {MAX_PRED_DEPTH} levels after macro expansion"
                    )),
                );
                None
            }
            Ok(p) => Some(p),
            Err(errors) => {
                for e in errors {
                    self.err_in(file, node, e.offset, e.kind);
                }
                None
            }
        }
    }
}

/// An item: file index, the item node and its key/value pairs.
pub(super) type Kv<'n> = (usize, &'n Node, &'n [(Node, Node)]);
