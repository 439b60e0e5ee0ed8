//! Label matchers, with Prometheus's semantics (`labels.Matcher`).
//!
//! A matcher tests one label's value; a series that lacks the label is
//! tested as if its value were the empty string. So `foo=""` selects series
//! without `foo`, `foo!=""` those with it, `foo=~".*"` every series,
//! `foo=~".+"` those with it, and `foo!~"x"` also those without it.
//!
//! Regular expressions are fully anchored, as Prometheus compiles them:
//! the pattern `re` is matched as `^(?s:re)$`. The `s` flag makes `.` match
//! a newline too, as it does since Prometheus 3.0. Patterns that are only
//! literals joined by `|` (`a|b|c`) are recognised, so the index can look
//! their values up directly instead of testing every value of the label.

use regex::Regex;
use thiserror::Error;

/// A matcher that could not be built.
#[derive(Debug, Error, Clone)]
pub enum MatcherError {
    /// The regular expression does not compile.
    #[error("invalid regular expression {pattern:?} for label {name:?}")]
    Regex {
        /// The label the matcher is on.
        name: String,
        /// The pattern as given, before anchoring.
        pattern: String,
        /// What the regex compiler said.
        #[source]
        source: regex::Error,
    },
}

/// How a [`Matcher`] compares the label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`: equal to the value.
    Eq,
    /// `!=`: not equal to the value.
    Ne,
    /// `=~`: matches the anchored regular expression.
    Re,
    /// `!~`: does not match the anchored regular expression.
    Nre,
}

impl MatchOp {
    /// Whether the operator negates (`!=`, `!~`).
    pub fn is_negative(self) -> bool {
        matches!(self, MatchOp::Ne | MatchOp::Nre)
    }
}

/// One label matcher, e.g. `job=~"api|web"`.
#[derive(Debug, Clone)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    /// The compiled, anchored pattern (`Re`/`Nre` only).
    regex: Option<Regex>,
    /// The values the `Eq`/`Re` form accepts, when that is a finite list of
    /// literals (`Eq`/`Ne` always; `Re`/`Nre` when the pattern is `a|b|c`).
    literals: Option<Vec<String>>,
}

impl Matcher {
    /// Builds a matcher; fails only on a regular expression that does not
    /// compile.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let (name, value) = (name.into(), value.into());
        let (regex, literals) = match op {
            MatchOp::Eq | MatchOp::Ne => (None, Some(vec![value.clone()])),
            MatchOp::Re | MatchOp::Nre => {
                let regex = Regex::new(&format!("^(?s:{value})$")).map_err(|source| {
                    MatcherError::Regex {
                        name: name.clone(),
                        pattern: value.clone(),
                        source,
                    }
                })?;
                (Some(regex), literal_alternatives(&value))
            }
        };
        Ok(Self {
            name,
            op,
            value,
            regex,
            literals,
        })
    }

    /// `name="value"`.
    pub fn eq(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::literal(MatchOp::Eq, name.into(), value.into())
    }

    /// `name!="value"`.
    pub fn ne(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::literal(MatchOp::Ne, name.into(), value.into())
    }

    /// `name=~"pattern"`.
    pub fn re(name: impl Into<String>, pattern: impl Into<String>) -> Result<Self, MatcherError> {
        Self::new(MatchOp::Re, name, pattern)
    }

    /// `name!~"pattern"`.
    pub fn nre(name: impl Into<String>, pattern: impl Into<String>) -> Result<Self, MatcherError> {
        Self::new(MatchOp::Nre, name, pattern)
    }

    fn literal(op: MatchOp, name: String, value: String) -> Self {
        Self {
            literals: Some(vec![value.clone()]),
            name,
            op,
            value,
            regex: None,
        }
    }

    /// The label this matcher tests.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The operator.
    pub fn op(&self) -> MatchOp {
        self.op
    }

    /// The value or pattern, as given (unanchored).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value matches; pass `""` for a series that lacks the
    /// label.
    pub fn matches(&self, value: &str) -> bool {
        let positive = match &self.regex {
            Some(regex) => regex.is_match(value),
            None => value == self.value,
        };
        positive != self.op.is_negative()
    }

    /// The finite list of values the positive form (`=`, `=~`) of this
    /// matcher accepts, if it is one: the value of `=`/`!=`, the literals of
    /// an `a|b|c` pattern. `None` when only a scan can tell.
    pub fn literals(&self) -> Option<&[String]> {
        self.literals.as_deref()
    }
}

/// The alternatives of `pattern` if it is literals joined by `|` with no
/// other regex syntax (no escapes either), e.g. `GET|POST`.
fn literal_alternatives(pattern: &str) -> Option<Vec<String>> {
    const META: &[char] = &[
        '\\', '.', '+', '*', '?', '(', ')', '[', ']', '{', '}', '^', '$',
    ];
    if pattern.contains(META) {
        return None;
    }
    let mut values: Vec<String> = pattern.split('|').map(str::to_owned).collect();
    values.sort_unstable();
    values.dedup();
    Some(values)
}
