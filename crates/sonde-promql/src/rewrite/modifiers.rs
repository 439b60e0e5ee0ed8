//! The `anchored` and `smoothed` modifiers of Prometheus 3.7's extended
//! range selectors (`rate(x[5m] anchored)`, `x smoothed`), which
//! `promql-parser` 0.11 does not parse.
//!
//! Before parsing, each modifier is removed from the query text and
//! recorded as a matcher on the reserved label [`MODIFIER_LABEL`] of the
//! selector it follows (`x[5m] anchored` becomes
//! `x{__sonde_modifier__="anchored"}[5m]`); the evaluator takes that matcher
//! off again and applies the modifier (`eval/extended.rs`). A modifier
//! always follows its selector, after any range, offset or `@`, so it
//! belongs to the last selector seen before it.

/// The reserved label that carries a modifier from the text to the
/// evaluator; never sent to the store.
pub(crate) const MODIFIER_LABEL: &str = "__sonde_modifier__";

/// The modifiers.
const MODIFIERS: [&str; 2] = ["anchored", "smoothed"];

/// Words that are not selectors where an identifier could be one.
const KEYWORDS: [&str; 22] = [
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "atan2",
    "fill",
    "fill_left",
    "fill_right",
    "inf",
    "nan",
    "anchored",
    "smoothed",
    "start",
    "end",
    "step",
];

use super::{is_word_char, string_end};

/// The query with its modifiers moved into matchers; `None` when it has
/// none (or one without a selector before it).
pub(crate) fn rewrite(query: &str) -> Option<String> {
    let mut out = String::with_capacity(query.len() + 32);
    // Where the last selector takes a matcher, and whether it has braces.
    let mut last_selector: Option<(usize, bool)> = None;
    let mut changed = false;
    let mut rest = query;
    while let Some(c) = rest.chars().next() {
        if matches!(c, '"' | '\'' | '`') {
            let end = string_end(rest)?;
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if c == '{' {
            let end = brace_end(rest)?;
            out.push_str(&rest[..end]);
            // A bare `{...}` selector, or the braces of the name before it.
            last_selector = Some((out.len() - 1, true));
            rest = &rest[end..];
        } else if c == '[' {
            let end = rest.find(']')? + 1;
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if is_word_char(c) && !c.is_ascii_digit() {
            let len = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
            let word = &rest[..len];
            let after = rest[len..].trim_start();
            let lower = word.to_ascii_lowercase();
            if MODIFIERS.contains(&lower.as_str()) && !after.starts_with('(') {
                let (at, braces) = last_selector.take()?;
                let matcher = format!("{MODIFIER_LABEL}=\"{lower}\"");
                if braces {
                    let inner = out[..at].trim_end();
                    let sep = if inner.ends_with('{') || inner.ends_with(',') {
                        ""
                    } else {
                        ", "
                    };
                    out.insert_str(at, &format!("{sep}{matcher}"));
                } else {
                    out.insert_str(at, &format!("{{{matcher}}}"));
                }
                changed = true;
            } else {
                out.push_str(word);
                let is_selector = !after.starts_with('(')
                    && !KEYWORDS.contains(&lower.as_str())
                    && !after.starts_with('{');
                if is_selector {
                    last_selector = Some((out.len(), false));
                }
            }
            rest = &rest[len..];
        } else if c.is_ascii_digit() || c == '.' {
            // Numbers and durations, including their unit letters.
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
                .unwrap_or(rest.len());
            out.push_str(&rest[..len]);
            rest = &rest[len..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    changed.then_some(out)
}

/// The length of the `{...}` block `s` starts with, strings skipped.
fn brace_end(s: &str) -> Option<usize> {
    let mut i = 1;
    while i < s.len() {
        let rest = &s[i..];
        let c = rest.chars().next()?;
        match c {
            '"' | '\'' | '`' => i += string_end(rest)?,
            '}' => return Some(i + 1),
            _ => i += c.len_utf8(),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn moves_modifiers_into_their_selector() {
        assert_eq!(rewrite("rate(x[5m])"), None);
        assert_eq!(
            rewrite("rate(x[5m] anchored)").as_deref(),
            Some("rate(x{__sonde_modifier__=\"anchored\"}[5m] )")
        );
        assert_eq!(
            rewrite("x{a=\"b\"} offset -100 smoothed + 0").as_deref(),
            Some("x{a=\"b\", __sonde_modifier__=\"smoothed\"} offset -100  + 0")
        );
        assert_eq!(
            rewrite("sum by (job) ({job=\"x\"} @ start() smoothed)").as_deref(),
            Some("sum by (job) ({job=\"x\", __sonde_modifier__=\"smoothed\"} @ start() )")
        );
        assert_eq!(rewrite("anchored"), None);
    }
}
