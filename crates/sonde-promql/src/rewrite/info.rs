//! `info()`'s second argument may be a selector whose matchers all match
//! the empty string (`info(x, {data=~".*"})`), which Prometheus accepts
//! there but `promql-parser` rejects. A matcher on a reserved label that
//! does not match the empty string is added to it; `info()` ignores it.

use super::{is_word_char, string_end};

/// The reserved label of the added matcher.
pub(crate) const INFO_PLACEHOLDER_LABEL: &str = "__sonde_info__";

/// The query with a placeholder matcher in the selector of every
/// `info(v, {...})`; `None` when there is no such call.
pub(crate) fn rewrite(query: &str) -> Option<String> {
    let mut out = String::with_capacity(query.len() + 32);
    let mut changed = false;
    let mut rest = query;
    while let Some(c) = rest.chars().next() {
        if matches!(c, '"' | '\'' | '`') {
            let end = string_end(rest)?;
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        let call = rest.strip_prefix("info").map(str::trim_start);
        let at_word_start = !out.chars().next_back().is_some_and(is_word_char);
        if let (Some(call), true) = (call, at_word_start) {
            if let Some(args) = call.strip_prefix('(') {
                let open = rest.len() - args.len();
                if let Some(brace) = second_arg_brace(args) {
                    let at = open + brace + 1;
                    out.push_str(&rest[..at]);
                    out.push_str(&format!("{INFO_PLACEHOLDER_LABEL}=\"1\", "));
                    rest = &rest[at..];
                    changed = true;
                    continue;
                }
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    changed.then_some(out)
}

/// In the text after `info(`, the offset of the `{` that opens a second
/// argument written as a bare selector.
fn second_arg_brace(args: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < args.len() {
        let rest = &args[i..];
        let c = rest.chars().next()?;
        match c {
            '"' | '\'' | '`' => {
                i += string_end(rest)?;
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => return None,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                let after = &rest[1..];
                let arg = after.trim_start();
                return arg
                    .starts_with('{')
                    .then(|| i + 1 + (after.len() - arg.len()));
            }
            _ => {}
        }
        i += c.len_utf8();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn adds_a_placeholder_to_the_info_selector() {
        assert_eq!(
            rewrite("info(x, {data=~\".*\"})").as_deref(),
            Some("info(x, {__sonde_info__=\"1\", data=~\".*\"})")
        );
        assert_eq!(
            rewrite("info(rate(x[5m]), {a=\",\"})").as_deref(),
            Some("info(rate(x[5m]), {__sonde_info__=\"1\", a=\",\"})")
        );
        assert_eq!(rewrite("info(x)"), None);
        assert_eq!(rewrite("my_info(x, {a=\"\"})"), None);
    }
}
