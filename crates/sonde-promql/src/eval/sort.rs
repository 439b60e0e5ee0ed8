//! `sort`, `sort_desc`, `sort_by_label` and `sort_by_label_desc`.
//!
//! Order only matters for instant queries; range results are always
//! ordered by labels.

use std::cmp::Ordering;

use promql_parser::parser::Expr;

use super::call::arg;
use super::{exec, Evaluator, Sample, Val};
use crate::QueryError;

impl Evaluator<'_> {
    pub(crate) fn sort_call(&self, name: &str, args: &[&Expr], t: i64) -> Result<Val, QueryError> {
        let mut samples = self.eval_vector(arg(args, 0)?, t)?;
        match name {
            "sort" => samples.sort_by(|a, b| by_value(a.v, b.v, false)),
            "sort_desc" => samples.sort_by(|a, b| by_value(a.v, b.v, true)),
            _ => {
                let mut names = Vec::new();
                for a in args.get(1..).unwrap_or_default() {
                    match self.eval(a, t)? {
                        Val::Str(s) => names.push(s),
                        other => {
                            return Err(exec(format!(
                                "expected string argument to {name}, got {}",
                                other.type_name()
                            )))
                        }
                    }
                }
                let desc = name == "sort_by_label_desc";
                samples.sort_by(|a, b| {
                    let o = by_labels(a, b, &names);
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                });
            }
        }
        Ok(Val::Vector(samples))
    }
}

/// Ascending (or descending) by value; NaN always last.
fn by_value(a: f64, b: f64, desc: bool) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if desc => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// By the named labels' values in natural order, then by all labels.
fn by_labels(a: &Sample, b: &Sample, names: &[String]) -> Ordering {
    for n in names {
        let o = natural_cmp(a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
        if o != Ordering::Equal {
            return o;
        }
    }
    a.labels.cmp(&b.labels)
}

/// Natural order: runs of digits compare as numbers.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.len() - a.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let db = b.len() - b.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let (na, nb) = (
                    a[..da].trim_start_matches('0'),
                    b[..db].trim_start_matches('0'),
                );
                let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if o != Ordering::Equal {
                    return o;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a = &a[x.len_utf8()..];
                b = &b[y.len_utf8()..];
            }
        }
    }
}
