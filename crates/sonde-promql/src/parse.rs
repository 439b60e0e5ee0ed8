//! Parsing a query with `promql-parser`, and placing its errors.
//!
//! `promql-parser` reports grammar errors as a bare string, without a
//! position. The position reported here is derived by re-parsing prefixes:
//! it is the end of the longest prefix of the query that some simple
//! completion (closing the brackets it left open, possibly after an operand
//! or a range) turns into a valid query, moved past any white space. That is
//! where a left-to-right parser first finds the query can no longer be
//! valid, i.e. the offending token; the query's length when the query ends
//! too early. For lexer errors (bad strings, numbers, durations) the same
//! search finds the offending character.
//!
//! A query that does not parse is retried rewritten for the syntax of
//! Prometheus 3 that `promql-parser` lacks (`rewrite/`); errors are always
//! placed in the query as written.

use promql_parser::parser::{self, Expr};

use crate::QueryError;

/// Queries longer than this are placed at the start of the first token
/// rather than searched, to bound the cost of placing an error.
const MAX_SEARCHED_LEN: usize = 4096;

/// Parses `query` of a query with step `step_ms` spanning `range_ms` (both
/// 0 for an instant query); a failure is a [`QueryError`] of kind `BadData`
/// with the byte offset of the offending token in `query`. Duration
/// expressions and range modifiers are rewritten when the query does not
/// parse as it is.
pub(crate) fn parse(query: &str, step_ms: i64, range_ms: i64) -> Result<Expr, QueryError> {
    let original = parser::parse(query);
    if original.is_err() {
        if let Some(rewritten) = crate::rewrite::rewrite(query, step_ms, range_ms) {
            if let Ok(expr) = parser::parse(&rewritten) {
                return Ok(expr);
            }
        }
    }
    original.map_err(|message| {
        let position = error_position(query);
        QueryError {
            kind: crate::ErrorKind::BadData,
            message,
            position: Some(position),
        }
    })
}

/// The byte offset at which `query` stops being a viable PromQL prefix.
fn error_position(query: &str) -> usize {
    let leading = query.len() - query.trim_start().len();
    if query.len() > MAX_SEARCHED_LEN {
        return leading;
    }
    let boundaries: Vec<usize> = query
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(query.len()))
        .collect();
    let viable_end = boundaries
        .iter()
        .rev()
        .copied()
        .find(|&n| n > leading && is_viable_prefix(&query[..n]))
        .unwrap_or(leading);
    // Step over white space to the offending token; the query's length
    // when the query ends too early.
    let rest = &query[viable_end..];
    viable_end + (rest.len() - rest.trim_start().len())
}

/// Whether some simple completion of `prefix` parses.
fn is_viable_prefix(prefix: &str) -> bool {
    let closers = closers(prefix);
    const MIDDLES: [&str; 8] = ["", " x", "x", "1", "[1m]", "[1m:]", "\"\"", "=\"\""];
    MIDDLES.iter().any(|middle| {
        let candidate = format!("{prefix}{middle}{closers}");
        parser::parse(&candidate).is_ok()
    })
}

/// The brackets that close those `prefix` leaves open, innermost first;
/// string literals are skipped.
fn closers(prefix: &str) -> String {
    let mut open = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in prefix.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' => open.push(')'),
            '[' => open.push(']'),
            '{' => open.push('}'),
            ')' | ']' | '}' => {
                open.pop();
            }
            _ => {}
        }
    }
    let mut out = String::new();
    if let Some(q) = quote {
        out.push(q);
    }
    out.extend(open.iter().rev());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_the_offending_token() {
        let err = parse("sum(rate(foo[5m])) +* 2", 0, 0).unwrap_err();
        assert_eq!(err.position, Some(20));
        let err = parse("foo{a=\"b\"", 0, 0).unwrap_err();
        assert!(err.position.is_some());
        let err = parse("rate(foo[5x])", 0, 0).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::BadData);
    }
}
