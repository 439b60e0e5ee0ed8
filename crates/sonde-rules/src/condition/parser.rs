//! Condition parser: tokens → [`Expr`].
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | primary
//! primary := "(" expr ")" | field op value | field listop list | field "exists" | macro
//! op      := = == != < <= > >= contains icontains startswith endswith glob
//! listop  := in intersects pmatch
//! list    := "(" [item ("," item)*] ")" | list_name
//! ```
//! Nesting is bounded ([`MAX_DEPTH`]) so no input can overflow the stack.

use super::ast::{CmpOp, Expr, Operand, Word};
use super::lexer::{lex, Tok, Token};

/// Deepest nesting of parentheses and `not`.
pub const MAX_DEPTH: usize = 100;

/// A syntax error at a character offset of the condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Character offset in the condition.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses a condition.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let tokens = lex(text).map_err(|e| SyntaxError {
        offset: e.offset,
        message: e.message,
    })?;
    let mut p = Parser {
        tokens,
        pos: 0,
        end: text.chars().count(),
        depth: 0,
    };
    if p.tokens.is_empty() {
        return Err(SyntaxError {
            offset: 0,
            message: "empty condition".into(),
        });
    }
    let e = p.expr()?;
    if let Some(t) = p.peek() {
        return Err(SyntaxError {
            offset: t.offset,
            message: format!(
                "unexpected {} after a complete expression",
                describe(&t.tok)
            ),
        });
    }
    Ok(e)
}

fn keyword_op(w: &str) -> Option<CmpOp> {
    Some(match w {
        "contains" => CmpOp::Contains,
        "icontains" => CmpOp::IContains,
        "startswith" => CmpOp::StartsWith,
        "endswith" => CmpOp::EndsWith,
        "glob" => CmpOp::Glob,
        "in" => CmpOp::In,
        "intersects" => CmpOp::Intersects,
        "pmatch" => CmpOp::Pmatch,
        "exists" => CmpOp::Exists,
        _ => return None,
    })
}

fn symbol_op(s: &str) -> CmpOp {
    match s {
        "=" => CmpOp::Eq,
        "!=" => CmpOp::Ne,
        "<" => CmpOp::Lt,
        "<=" => CmpOp::Le,
        ">" => CmpOp::Gt,
        _ => CmpOp::Ge,
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Op(o) => format!("`{o}`"),
        Tok::Word(w) => format!("`{w}`"),
        Tok::Quoted(q) => format!("string \"{q}\""),
    }
}

fn is_reserved(w: &str) -> bool {
    matches!(w, "and" | "or" | "not") || keyword_op(w).is_some()
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(x), .. }) if x == w)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn err_here(&self, expected: &str) -> SyntaxError {
        match self.peek() {
            Some(t) => SyntaxError {
                offset: t.offset,
                message: format!("expected {expected}, found {}", describe(&t.tok)),
            },
            None => SyntaxError {
                offset: self.end,
                message: format!("expected {expected}, found end of condition"),
            },
        }
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError {
                offset: self.peek().map_or(self.end, |t| t.offset),
                message: format!("condition nested deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.and()?];
        while self.peek_word("or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::Or(Vec::new()))
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.unary()?];
        while self.peek_word("and") {
            self.pos += 1;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::And(Vec::new()))
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        if self.peek_word("not") {
            self.pos += 1;
            self.enter()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.err_here("a comparison, a macro or `(`"));
        };
        match t.tok {
            Tok::LParen => {
                self.pos += 1;
                self.enter()?;
                let e = self.expr()?;
                self.depth -= 1;
                match self.next() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => Ok(e),
                    _ => {
                        self.pos -= 1;
                        Err(self.err_here("`)`"))
                    }
                }
            }
            Tok::Word(ref w) if !is_reserved(w) => {
                self.pos += 1;
                let word = Word {
                    text: w.clone(),
                    quoted: false,
                    offset: t.offset,
                };
                let op = match self.peek().map(|t| &t.tok) {
                    Some(Tok::Op(o)) => Some(symbol_op(o)),
                    Some(Tok::Word(k)) => keyword_op(k),
                    _ => None,
                };
                match op {
                    Some(op) => {
                        self.pos += 1;
                        self.comparison(word, op)
                    }
                    None if w.contains('.') => {
                        Err(self.err_here(&format!("an operator after field `{w}`")))
                    }
                    None => Ok(Expr::Macro(word)),
                }
            }
            _ => Err(self.err_here("a comparison, a macro or `(`")),
        }
    }

    fn value(&mut self) -> Result<Word, SyntaxError> {
        match self.peek().cloned() {
            Some(Token {
                tok: Tok::Word(w),
                offset,
            }) if !matches!(w.as_str(), "and" | "or" | "not") => {
                self.pos += 1;
                Ok(Word {
                    text: w,
                    quoted: false,
                    offset,
                })
            }
            Some(Token {
                tok: Tok::Quoted(q),
                offset,
            }) => {
                self.pos += 1;
                Ok(Word {
                    text: q,
                    quoted: true,
                    offset,
                })
            }
            _ => Err(self.err_here("a value")),
        }
    }

    fn comparison(&mut self, field: Word, op: CmpOp) -> Result<Expr, SyntaxError> {
        let operand = if op == CmpOp::Exists {
            Operand::None
        } else if op.takes_list() {
            if matches!(self.peek().map(|t| &t.tok), Some(Tok::LParen)) {
                self.pos += 1;
                let mut items = Vec::new();
                if matches!(self.peek().map(|t| &t.tok), Some(Tok::RParen)) {
                    self.pos += 1;
                } else {
                    loop {
                        items.push(self.value()?);
                        match self.next().map(|t| t.tok) {
                            Some(Tok::Comma) => continue,
                            Some(Tok::RParen) => break,
                            _ => {
                                self.pos -= 1;
                                return Err(self.err_here("`,` or `)`"));
                            }
                        }
                    }
                }
                Operand::List(items)
            } else {
                match self.value() {
                    Ok(w) if !w.quoted => Operand::ListName(w),
                    _ => {
                        return Err(SyntaxError {
                            offset: self
                                .tokens
                                .get(self.pos.saturating_sub(1))
                                .map_or(self.end, |t| t.offset),
                            message: format!("expected `(` or a list name after `{}`", op.as_str()),
                        })
                    }
                }
            }
        } else {
            Operand::Value(self.value()?)
        };
        Ok(Expr::Cmp { field, op, operand })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str, offset: usize) -> Word {
        Word {
            text: text.into(),
            quoted: false,
            offset,
        }
    }

    #[test]
    fn precedence_not_and_or() {
        let e = parse("a or not b and c").unwrap();
        assert_eq!(
            e,
            Expr::Or(vec![
                Expr::Macro(w("a", 0)),
                Expr::And(vec![
                    Expr::Not(Box::new(Expr::Macro(w("b", 9)))),
                    Expr::Macro(w("c", 15))
                ])
            ])
        );
    }

    #[test]
    fn comparisons_and_lists() {
        let e = parse("proc.name in (sh, 'ba sh', shells) and fd.name exists").unwrap();
        let Expr::And(items) = e else { panic!() };
        let Expr::Cmp { op, operand, .. } = &items[0] else {
            panic!()
        };
        assert_eq!(*op, CmpOp::In);
        let Operand::List(l) = operand else { panic!() };
        assert_eq!(l.len(), 3);
        assert!(l[1].quoted);
        assert!(matches!(
            items[1],
            Expr::Cmp {
                op: CmpOp::Exists,
                operand: Operand::None,
                ..
            }
        ));
        assert!(matches!(
            parse("proc.name in shells").unwrap(),
            Expr::Cmp {
                operand: Operand::ListName(_),
                ..
            }
        ));
        assert!(matches!(parse("x in ()").unwrap(), Expr::Cmp { .. }));
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        let e = parse("proc.name = sh and").unwrap_err();
        assert_eq!(e.offset, 18);
        assert!(e.message.contains("end of condition"), "{}", e.message);
        let e = parse("(a and b").unwrap_err();
        assert_eq!(e.offset, 8);
        let e = parse("proc.name sh").unwrap_err();
        assert_eq!(e.offset, 10);
        let e = parse("a b").unwrap_err();
        assert_eq!(e.offset, 2);
        let e = parse("x in (a b)").unwrap_err();
        assert_eq!(e.offset, 8);
        assert!(parse("").is_err());
        assert!(parse("and").is_err());
        assert!(parse("x = and").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let s = "(".repeat(10_000) + "a" + &")".repeat(10_000);
        assert!(parse(&s).unwrap_err().message.contains("nested"));
        let s = "not ".repeat(10_000) + "a";
        assert!(parse(&s).is_err());
    }
}
