//! Duration expressions (Prometheus 3.5's `promql-duration-expr`), which
//! `promql-parser` 0.11 does not parse: `rate(x[5m+30s])`,
//! `x[1h:step()*2]`, `x offset min_of(range(), 1h)`.
//!
//! They are constant for a query (`step()` and `range()` are the query's
//! step and range), so they are folded into plain durations in the query
//! text before parsing: every range or subquery bracket whose content is not
//! already a plain duration, and the argument of every `offset` that is a
//! parenthesised expression or a call. An unparenthesised `offset` takes one
//! operand, as in Prometheus: `x offset 100 + 2` is `(x offset 100) + 2`.
//!
//! Arithmetic is in seconds: a bare number is seconds, `+ - * / % ^` with
//! PromQL's precedence (`^` binds tighter than a sign), and `step()`,
//! `range()`, `min_of(a, b)`, `max_of(a, b)` (names in any case).

use super::{is_word_char, string_end};

/// The query with its duration expressions folded, `None` when it has none
/// (or one that does not evaluate).
pub(crate) fn fold(query: &str, step_ms: i64, range_ms: i64) -> Option<String> {
    let ctx = Context {
        step: step_ms as f64 / 1000.0,
        range: range_ms as f64 / 1000.0,
    };
    let mut out = String::with_capacity(query.len());
    let mut changed = false;
    let mut rest = query;
    while let Some(c) = rest.chars().next() {
        if matches!(c, '"' | '\'' | '`') {
            let end = string_end(rest)?;
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if c == '[' {
            let close = rest.find(']')?;
            let inner = &rest[1..close];
            let mut parts = Vec::new();
            for part in inner.splitn(2, ':') {
                parts.push(ctx.fold_part(part, &mut changed)?);
            }
            out.push('[');
            out.push_str(&parts.join(":"));
            out.push(']');
            rest = &rest[close + 1..];
        } else if starts_keyword(rest, "offset") && !ends_in_word(&out) {
            out.push_str("offset");
            rest = &rest["offset".len()..];
            let trimmed = rest.trim_start();
            out.push_str(&rest[..rest.len() - trimmed.len()]);
            let len = operand_len(trimmed)?;
            let operand = &trimmed[..len];
            if operand.contains(['(', ')']) {
                let secs = ctx.eval(operand)?;
                out.push_str(&format_ms(secs));
                changed = true;
            } else {
                out.push_str(operand);
            }
            rest = &trimmed[len..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    changed.then_some(out)
}

struct Context {
    step: f64,
    range: f64,
}

impl Context {
    /// One side of a bracket: kept when empty or a plain duration.
    fn fold_part(&self, part: &str, changed: &mut bool) -> Option<String> {
        let trimmed = part.trim();
        if trimmed.is_empty() || is_plain(trimmed) {
            return Some(part.to_string());
        }
        *changed = true;
        Some(format_ms(self.eval(trimmed)?))
    }

    /// The value of an expression, in seconds.
    fn eval(&self, expr: &str) -> Option<f64> {
        let tokens = tokenize(expr)?;
        let mut p = Parser {
            tokens: &tokens,
            pos: 0,
            ctx: self,
        };
        let v = p.sum()?;
        (p.pos == tokens.len()).then_some(v)
    }
}

/// `5m`, `1h30m`, `500ms`, `90`, `1.5`: what `promql-parser` reads itself.
fn is_plain(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
        && s.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

/// A number of seconds as a duration literal in milliseconds.
fn format_ms(secs: f64) -> String {
    let ms = (secs * 1000.0).round();
    if ms == 0.0 {
        // `promql-parser` rejects `0s` and `0ms` but reads `0`.
        "0".to_string()
    } else if ms < 0.0 {
        format!("-{}ms", -ms)
    } else {
        format!("{ms}ms")
    }
}

fn starts_keyword(s: &str, keyword: &str) -> bool {
    s.get(..keyword.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(keyword))
        && !s[keyword.len()..].starts_with(is_word_char)
}

fn ends_in_word(s: &str) -> bool {
    s.chars().next_back().is_some_and(is_word_char)
}

/// The length of the single operand at the start of `s`: signs, then a
/// parenthesised expression, a call, or a number or duration.
fn operand_len(s: &str) -> Option<usize> {
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() && (bytes[i] == b'-' || bytes[i] == b'+' || bytes[i] == b' ') {
        i += 1;
    }
    let word = s[i..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
        .unwrap_or(s.len() - i);
    i += word;
    if s[i..].starts_with('(') {
        let mut depth = 0usize;
        for (j, c) in s[i..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + j + 1);
                    }
                }
                _ => {}
            }
        }
        return None;
    }
    (word > 0).then_some(i)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Op(char),
    Open,
    Close,
    Comma,
    Ident(String),
}

fn tokenize(s: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut rest = s.trim_start();
    while let Some(c) = rest.chars().next() {
        let len = match c {
            '+' | '-' | '*' | '/' | '%' | '^' => {
                tokens.push(Token::Op(c));
                1
            }
            '(' => {
                tokens.push(Token::Open);
                1
            }
            ')' => {
                tokens.push(Token::Close);
                1
            }
            ',' => {
                tokens.push(Token::Comma);
                1
            }
            c if c.is_ascii_digit() || c == '.' => {
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
                    .unwrap_or(rest.len());
                tokens.push(Token::Num(number_or_duration(&rest[..len])?));
                len
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                tokens.push(Token::Ident(rest[..len].to_ascii_lowercase()));
                len
            }
            _ => return None,
        };
        rest = rest[len..].trim_start();
    }
    Some(tokens)
}

/// `90` or `1.5` (seconds) or a duration like `1h30m`, in seconds.
fn number_or_duration(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            _ => return None,
        };
        total += n * secs;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// A recursive-descent evaluator over the tokens.
struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    ctx: &'t Context,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn eat(&mut self, t: &Token) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// `a + b`, `a - b`.
    fn sum(&mut self) -> Option<f64> {
        let mut v = self.product()?;
        loop {
            if self.eat(&Token::Op('+')) {
                v += self.product()?;
            } else if self.eat(&Token::Op('-')) {
                v -= self.product()?;
            } else {
                return Some(v);
            }
        }
    }

    /// `a * b`, `a / b`, `a % b`.
    fn product(&mut self) -> Option<f64> {
        let mut v = self.unary()?;
        loop {
            if self.eat(&Token::Op('*')) {
                v *= self.unary()?;
            } else if self.eat(&Token::Op('/')) {
                v /= self.unary()?;
            } else if self.eat(&Token::Op('%')) {
                v %= self.unary()?;
            } else {
                return Some(v);
            }
        }
    }

    /// A sign applies to the power after it: `-2 ^ 2` is -4.
    fn unary(&mut self) -> Option<f64> {
        if self.eat(&Token::Op('-')) {
            return Some(-self.unary()?);
        }
        if self.eat(&Token::Op('+')) {
            return self.unary();
        }
        self.power()
    }

    /// `a ^ b`, right-associative.
    fn power(&mut self) -> Option<f64> {
        let base = self.atom()?;
        if self.eat(&Token::Op('^')) {
            return Some(base.powf(self.unary()?));
        }
        Some(base)
    }

    fn atom(&mut self) -> Option<f64> {
        let token = self.peek()?.clone();
        self.pos += 1;
        match token {
            Token::Num(v) => Some(v),
            Token::Open => {
                let v = self.sum()?;
                self.eat(&Token::Close).then_some(v)
            }
            Token::Ident(name) => {
                if !self.eat(&Token::Open) {
                    return None;
                }
                let mut args = Vec::new();
                if !self.eat(&Token::Close) {
                    loop {
                        args.push(self.sum()?);
                        if self.eat(&Token::Close) {
                            break;
                        }
                        if !self.eat(&Token::Comma) {
                            return None;
                        }
                    }
                }
                match (name.as_str(), args.as_slice()) {
                    ("step", []) => Some(self.ctx.step),
                    ("range", []) => Some(self.ctx.range),
                    ("min_of", [a, b]) => Some(a.min(*b)),
                    ("max_of", [a, b]) => Some(a.max(*b)),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_brackets_and_offsets() {
        assert_eq!(fold("rate(x[5m])", 0, 0), None);
        assert_eq!(fold("x[26m+4m]", 0, 0).as_deref(), Some("x[1800000ms]"));
        assert_eq!(
            fold("x[29s+1s:5s+5s]", 0, 0).as_deref(),
            Some("x[30000ms:10000ms]")
        );
        assert_eq!(
            fold("x offset -(min_of(step(), 1s))+8000", 5000, 0).as_deref(),
            Some("x offset -1000ms+8000")
        );
        assert_eq!(
            fold("x offset step()", 5000, 0).as_deref(),
            Some("x offset 5000ms")
        );
        assert_eq!(fold("x offset -2 ^ 2", 0, 0), None);
        assert_eq!(fold("x{a=\"[1+1]\"}", 0, 0), None);
    }
}
