//! Rewriting query text that `promql-parser` 0.11 cannot parse into text it
//! can, for syntax Prometheus 3 added after it:
//!
//! - `durations.rs`: duration expressions (`x[5m+step()]`), folded into
//!   plain durations.
//! - `modifiers.rs`: the `anchored`/`smoothed` range selector modifiers,
//!   carried to the evaluator as a matcher on a reserved label.
//! - `info.rs`: `info()`'s second argument, which may consist of matchers
//!   that all match the empty string, given a reserved matcher that does
//!   not.
//!
//! The reserved labels start with `__sonde_`; the evaluator removes their
//! matchers before a selector reaches the store.

mod durations;
mod info;
mod modifiers;

pub(crate) use info::INFO_PLACEHOLDER_LABEL;
pub(crate) use modifiers::MODIFIER_LABEL;

/// `query` with every rewrite applied, `None` when none applies. `step_ms`
/// and `range_ms` are the query's step and range (0 for an instant query),
/// the values of `step()` and `range()`.
pub(crate) fn rewrite(query: &str, step_ms: i64, range_ms: i64) -> Option<String> {
    let folded = durations::fold(query, step_ms, range_ms);
    let modified = modifiers::rewrite(folded.as_deref().unwrap_or(query)).or(folded);
    let with_info = info::rewrite(modified.as_deref().unwrap_or(query));
    with_info.or(modified)
}

/// The length of the quoted string `s` starts with (`"`, `'` or `` ` ``),
/// `None` when it is not closed.
fn string_end(s: &str) -> Option<usize> {
    let q = s.chars().next()?;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if c == '\\' && q != '`' {
            escaped = true;
        } else if c == q {
            return Some(i + 1);
        }
    }
    None
}

/// Whether `c` may appear in a metric or label name.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == ':'
}
