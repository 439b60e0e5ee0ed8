//! Condition AST → typed [`Pred`]: resolves fields, expands macros and lists,
//! checks every operator and value against the field's type.
//!
//! Macros are compiled once each, leaves first ([`macro_order`], which also finds
//! cycles), and a rule's reference to a macro clones the compiled macro. Errors
//! are reported only for the text being compiled; a reference to a broken macro
//! makes the referrer fail silently, the macro's own error having been reported
//! when it was compiled, so every mistake is reported once.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::condition::{CmpOp, Expr, Operand, Word};
use crate::error::ErrorKind;
use crate::eval::{Access, Check, Pred, Test};
use crate::fields::{resolve, FieldType, Indexing, ResolveError};
use crate::matchers::Glob;

/// Deepest compiled predicate (after macro expansion).
pub const MAX_PRED_DEPTH: usize = 1000;

/// An error at a character offset of the condition being compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// Character offset in the condition.
    pub offset: usize,
    /// What.
    pub kind: ErrorKind,
}

/// Compiles conditions against a set of lists and compiled macros.
pub struct Compiler<'a> {
    /// Lists by name, items already expanded.
    pub lists: &'a HashMap<String, Vec<String>>,
    /// Names of all defined macros (compiled or not).
    pub macro_names: &'a HashSet<String>,
    /// Compiled macros; a defined macro absent here is broken.
    pub macros: HashMap<String, Pred>,
}

/// `Err(vec![])` means "broken because of a macro whose error is reported elsewhere".
pub type CompileResult = Result<Pred, Vec<CompileError>>;

impl Compiler<'_> {
    /// Compiles an expression.
    pub fn compile(&self, e: &Expr) -> CompileResult {
        let mut errors = Vec::new();
        let mut silent = false;
        let p = self.walk(e, &mut errors, &mut silent);
        match p {
            Some(p) if errors.is_empty() && !silent => Ok(p),
            _ => Err(errors),
        }
    }

    fn walk(&self, e: &Expr, errors: &mut Vec<CompileError>, silent: &mut bool) -> Option<Pred> {
        match e {
            Expr::And(items) | Expr::Or(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    if let Some(p) = self.walk(i, errors, silent) {
                        // Flatten nested and/and, or/or.
                        match (e, p) {
                            (Expr::And(_), Pred::And(inner)) | (Expr::Or(_), Pred::Or(inner)) => {
                                out.extend(inner)
                            }
                            (_, p) => out.push(p),
                        }
                    }
                }
                let p = if matches!(e, Expr::And(_)) {
                    Pred::And(out)
                } else {
                    Pred::Or(out)
                };
                Some(p)
            }
            Expr::Not(inner) => Some(Pred::Not(Box::new(self.walk(inner, errors, silent)?))),
            Expr::Macro(w) => {
                if let Some(p) = self.macros.get(&w.text) {
                    Some(p.clone())
                } else if self.macro_names.contains(&w.text) {
                    *silent = true;
                    None
                } else {
                    errors.push(CompileError {
                        offset: w.offset,
                        kind: ErrorKind::UnknownMacro(w.text.clone()),
                    });
                    None
                }
            }
            Expr::Cmp { field, op, operand } => match self.leaf(field, *op, operand) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
        }
    }

    fn values(&self, operand: &Operand) -> Result<Vec<Word>, CompileError> {
        Ok(match operand {
            Operand::None => Vec::new(),
            Operand::Value(w) => vec![w.clone()],
            Operand::ListName(w) => match self.lists.get(&w.text) {
                Some(items) => items.iter().map(|t| item(t, w.offset)).collect(),
                None => {
                    return Err(CompileError {
                        offset: w.offset,
                        kind: ErrorKind::UnknownList(w.text.clone()),
                    })
                }
            },
            Operand::List(words) => {
                let mut out = Vec::new();
                for w in words {
                    match self.lists.get(&w.text).filter(|_| !w.quoted) {
                        Some(items) => out.extend(items.iter().map(|t| item(t, w.offset))),
                        None => out.push(w.clone()),
                    }
                }
                out
            }
        })
    }

    fn leaf(&self, field: &Word, op: CmpOp, operand: &Operand) -> Result<Pred, CompileError> {
        let at = |offset: usize, kind: ErrorKind| CompileError { offset, kind };
        let fref = resolve(&field.text).map_err(|e| match e {
            ResolveError::Unknown(n) => at(field.offset, ErrorKind::UnknownField(n)),
            ResolveError::BadIndex(m) => at(field.offset, ErrorKind::BadIndex(m)),
        })?;
        let def = fref.id.def();
        let access = match (def.indexing, fref.index) {
            (Indexing::Ancestor, Some(n)) => Access::Ancestor(n),
            (Indexing::Ancestor, None) => Access::AnyAncestor,
            (Indexing::None, _) => Access::Plain,
        };
        let values = self.values(operand)?;
        let mismatch = || {
            at(
                field.offset,
                ErrorKind::TypeMismatch(format!(
                    "operator `{}` does not apply to `{}`, which is {}",
                    op.as_str(),
                    def.name,
                    def.ty
                )),
            )
        };
        let num = |w: &Word| {
            parse_num(&w.text).ok_or_else(|| {
                at(
                    w.offset,
                    ErrorKind::TypeMismatch(format!(
                        "`{}` is a number, `{}` is not",
                        def.name, w.text
                    )),
                )
            })
        };
        let text = |w: &Word| -> Box<str> { w.text.as_str().into() };
        let one = || {
            values.first().cloned().unwrap_or_else(|| Word {
                text: String::new(),
                quoted: true,
                offset: field.offset,
            })
        };
        let set = |v: &[Word]| {
            let mut s: Vec<Box<str>> = v.iter().map(text).collect();
            s.sort();
            s.dedup();
            s
        };
        let check = match (def.ty, op) {
            (_, CmpOp::Exists) => Check::Exists,
            (FieldType::Str, CmpOp::Eq) => Check::StrEq(text(&one())),
            (FieldType::Str, CmpOp::Ne) => Check::StrNe(text(&one())),
            (FieldType::Str, CmpOp::Contains) => Check::Contains(text(&one())),
            (FieldType::Str, CmpOp::IContains) => {
                Check::IContains(one().text.to_ascii_lowercase().into())
            }
            (FieldType::Str, CmpOp::StartsWith) => Check::StartsWith(text(&one())),
            (FieldType::Str, CmpOp::EndsWith) => Check::EndsWith(text(&one())),
            (FieldType::Str, CmpOp::Glob) => Check::Glob(Glob::new(&one().text)),
            (FieldType::Str, CmpOp::In) => Check::StrIn(set(&values)),
            (FieldType::Str, CmpOp::Pmatch) => Check::Pmatch(values.iter().map(text).collect()),
            (
                FieldType::Num,
                CmpOp::Eq | CmpOp::Ne | CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge,
            ) => Check::Num(op, num(&one())?),
            (FieldType::Num, CmpOp::In) => {
                let mut v = values.iter().map(num).collect::<Result<Vec<_>, _>>()?;
                v.sort_unstable();
                v.dedup();
                Check::NumIn(v)
            }
            (FieldType::Bool, CmpOp::Eq | CmpOp::Ne) => {
                let w = one();
                let b = match w.text.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(at(
                            w.offset,
                            ErrorKind::TypeMismatch(format!(
                                "`{}` is a bool, `{}` is neither true nor false",
                                def.name, w.text
                            )),
                        ))
                    }
                };
                Check::Bool(b, op == CmpOp::Eq)
            }
            (FieldType::StrList, CmpOp::Contains) => Check::ListContains(text(&one())),
            (FieldType::StrList, CmpOp::Intersects) => Check::ListIntersects(set(&values)),
            (FieldType::StrList, CmpOp::In) => Check::ListIn(set(&values)),
            _ => return Err(mismatch()),
        };
        Ok(Pred::Test(Test {
            field: fref.id,
            access,
            check,
        }))
    }
}

fn item(text: &str, offset: usize) -> Word {
    Word {
        text: text.to_string(),
        quoted: true,
        offset,
    }
}

fn parse_num(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse().ok()?
        }
        None => return None,
    };
    Some(if neg { v.checked_neg()? } else { v })
}

/// Macro references of an expression: (name, offset).
pub fn macro_refs(e: &Expr, out: &mut Vec<(String, usize)>) {
    match e {
        Expr::And(items) | Expr::Or(items) => items.iter().for_each(|i| macro_refs(i, out)),
        Expr::Not(inner) => macro_refs(inner, out),
        Expr::Macro(w) => out.push((w.text.clone(), w.offset)),
        Expr::Cmp { .. } => {}
    }
}

/// A cycle found by [`macro_order`]: the macro whose reference closes it, the
/// reference's offset in that macro's condition, and the chain (`a -> b -> a`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// Macro holding the closing reference.
    pub at_macro: String,
    /// Offset of the reference.
    pub offset: usize,
    /// `a -> b -> a`.
    pub chain: String,
}

/// Orders macros so that each comes after the macros it references (post-order
/// DFS, iterative), and reports each reference cycle once.
pub fn macro_order(refs: &BTreeMap<String, Vec<(String, usize)>>) -> (Vec<String>, Vec<Cycle>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Gray,
        Black,
    }
    let mut color: HashMap<&str, Color> = refs.keys().map(|k| (k.as_str(), Color::White)).collect();
    let mut order = Vec::new();
    let mut cycles = Vec::new();
    for root in refs.keys() {
        if color[root.as_str()] != Color::White {
            continue;
        }
        // Stack of (macro, next reference index).
        let mut stack: Vec<(&str, usize)> = vec![(root.as_str(), 0)];
        color.insert(root, Color::Gray);
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let edges = &refs[node];
            if *next < edges.len() {
                let (target, offset) = &edges[*next];
                *next += 1;
                match color.get(target.as_str()).copied() {
                    Some(Color::White) => {
                        color.insert(target, Color::Gray);
                        stack.push((target.as_str(), 0));
                    }
                    Some(Color::Gray) => {
                        let start = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                        let mut chain: Vec<&str> = stack[start..].iter().map(|(n, _)| *n).collect();
                        chain.push(target);
                        cycles.push(Cycle {
                            at_macro: node.to_string(),
                            offset: *offset,
                            chain: chain.join(" -> "),
                        });
                    }
                    _ => {}
                }
            } else {
                color.insert(node, Color::Black);
                order.push(node.to_string());
                stack.pop();
            }
        }
    }
    (order, cycles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_num("42"), Some(42));
        assert_eq!(parse_num("-1"), Some(-1));
        assert_eq!(parse_num("0x10"), Some(16));
        assert_eq!(parse_num("1e3"), None);
        assert_eq!(parse_num(""), None);
        assert_eq!(parse_num("-"), None);
        assert_eq!(parse_num("+1"), None);
    }

    #[test]
    fn order_and_cycles() {
        let mut refs = BTreeMap::new();
        refs.insert("a".to_string(), vec![("b".to_string(), 0)]);
        refs.insert("b".to_string(), vec![("c".to_string(), 3)]);
        refs.insert("c".to_string(), vec![]);
        let (order, cycles) = macro_order(&refs);
        assert_eq!(order, vec!["c", "b", "a"]);
        assert!(cycles.is_empty());
        refs.insert("c".to_string(), vec![("a".to_string(), 7)]);
        let (_, cycles) = macro_order(&refs);
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].chain, "a -> b -> c -> a");
        assert_eq!(cycles[0].at_macro, "c");
        assert_eq!(cycles[0].offset, 7);
    }
}
