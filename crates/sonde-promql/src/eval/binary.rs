//! Binary operators: arithmetic, comparison (with and without `bool`), the
//! set operators `and`/`or`/`unless`, and vector matching with
//! `on`/`ignoring`, `group_left`/`group_right` and `fill`.
//!
//! Errors for ambiguous matches are worded as Prometheus words them.

use std::collections::{HashMap, HashSet};

use promql_parser::parser::token::{
    TokenId, T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS,
    T_MOD, T_MUL, T_NEQ, T_POW, T_SUB,
};
use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};
use sonde_tsdb::{Labels, METRIC_NAME};

use super::{exec, Evaluator, Sample, Val};
use crate::QueryError;

impl Evaluator<'_> {
    pub(crate) fn binary(&self, b: &BinaryExpr, t: i64) -> Result<Val, QueryError> {
        let op = b.op.id();
        let lhs = self.eval(&b.lhs, t)?;
        let rhs = self.eval(&b.rhs, t)?;
        let default_modifier = BinModifier::default();
        let modifier = b.modifier.as_ref().unwrap_or(&default_modifier);
        let return_bool = modifier.return_bool;
        let comparison = b.op.is_comparison_operator();
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => {
                let (v, keep) = apply(op, l, r);
                Ok(Val::Scalar(if comparison {
                    f64::from(u8::from(keep))
                } else {
                    v
                }))
            }
            (Val::Vector(l), Val::Scalar(r)) => {
                Ok(Val::Vector(vector_scalar(op, l, r, false, return_bool, t)))
            }
            (Val::Scalar(l), Val::Vector(r)) => {
                Ok(Val::Vector(vector_scalar(op, r, l, true, return_bool, t)))
            }
            (Val::Vector(l), Val::Vector(r)) => {
                if b.op.is_set_operator() {
                    Ok(Val::Vector(set_op(op, l, r, modifier)))
                } else {
                    vector_vector(op, l, r, modifier, t).map(Val::Vector)
                }
            }
            (l, r) => Err(exec(format!(
                "binary expression must contain only scalar and instant vector types, got {} and {}",
                l.type_name(),
                r.type_name()
            ))),
        }
    }
}

/// Whether an operator's result loses the metric name.
fn drops_name(op: TokenId) -> bool {
    matches!(op, T_ADD | T_SUB | T_MUL | T_DIV | T_MOD | T_POW | T_ATAN2)
}

/// The value of `l op r` and, for comparisons, whether it holds (always
/// `true` for arithmetic).
fn apply(op: TokenId, l: f64, r: f64) -> (f64, bool) {
    match op {
        T_ADD => (l + r, true),
        T_SUB => (l - r, true),
        T_MUL => (l * r, true),
        T_DIV => (l / r, true),
        T_MOD => (l % r, true),
        T_POW => (l.powf(r), true),
        T_ATAN2 => (l.atan2(r), true),
        T_EQLC => (l, l == r),
        T_NEQ => (l, l != r),
        T_GTR => (l, l > r),
        T_LSS => (l, l < r),
        T_GTE => (l, l >= r),
        T_LTE => (l, l <= r),
        _ => (f64::NAN, false),
    }
}

/// A vector and a scalar; `swap` when the scalar is on the left.
fn vector_scalar(
    op: TokenId,
    vector: Vec<Sample>,
    scalar: f64,
    swap: bool,
    return_bool: bool,
    t: i64,
) -> Vec<Sample> {
    let comparison = is_comparison(op);
    vector
        .into_iter()
        .filter_map(|s| {
            let (l, r) = if swap { (scalar, s.v) } else { (s.v, scalar) };
            let (mut v, mut keep) = apply(op, l, r);
            if comparison && swap {
                v = r;
            }
            if return_bool {
                v = f64::from(u8::from(keep));
                keep = true;
            }
            keep.then(|| Sample {
                v,
                ts: t,
                drop_name: s.drop_name || drops_name(op) || return_bool,
                labels: s.labels,
            })
        })
        .collect()
}

fn is_comparison(op: TokenId) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

/// The labels two samples are matched on.
fn signature(labels: &Labels, matching: Option<&LabelModifier>) -> Labels {
    match matching {
        Some(LabelModifier::Include(on)) => labels.filter(|n| on.labels.iter().any(|l| l == n)),
        // The type and unit labels take part in matching.
        Some(LabelModifier::Exclude(ignoring)) => {
            labels.filter(|n| n != METRIC_NAME && !ignoring.labels.iter().any(|l| l == n))
        }
        None => labels.filter(|n| n != METRIC_NAME),
    }
}

/// `and`, `or`, `unless`.
fn set_op(op: TokenId, lhs: Vec<Sample>, rhs: Vec<Sample>, modifier: &BinModifier) -> Vec<Sample> {
    let matching = modifier.matching.as_ref();
    match op {
        T_LAND => {
            let right: HashSet<Labels> =
                rhs.iter().map(|s| signature(&s.labels, matching)).collect();
            lhs.into_iter()
                .filter(|s| right.contains(&signature(&s.labels, matching)))
                .collect()
        }
        T_LUNLESS => {
            let right: HashSet<Labels> =
                rhs.iter().map(|s| signature(&s.labels, matching)).collect();
            lhs.into_iter()
                .filter(|s| !right.contains(&signature(&s.labels, matching)))
                .collect()
        }
        T_LOR => {
            let left: HashSet<Labels> =
                lhs.iter().map(|s| signature(&s.labels, matching)).collect();
            let mut out = lhs;
            out.extend(
                rhs.into_iter()
                    .filter(|s| !left.contains(&signature(&s.labels, matching))),
            );
            out
        }
        _ => Vec::new(),
    }
}

/// Prometheus's rendering of a label set: `{a="b", c="d"}`.
pub(crate) fn format_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// Arithmetic or comparison between two vectors.
fn vector_vector(
    op: TokenId,
    lhs: Vec<Sample>,
    rhs: Vec<Sample>,
    modifier: &BinModifier,
    t: i64,
) -> Result<Vec<Sample>, QueryError> {
    let matching = modifier.matching.as_ref();
    let card = &modifier.card;
    let one_to_many = matches!(card, VectorMatchCardinality::OneToMany(_));
    // The "one" side is the right one unless group_right.
    let (many, one, one_side) = if one_to_many {
        (rhs, lhs, "left")
    } else {
        (lhs, rhs, "right")
    };
    let mut one_by_sig: HashMap<Labels, usize> = HashMap::new();
    for (i, s) in one.iter().enumerate() {
        let sig = signature(&s.labels, matching);
        if let Some(&prev) = one_by_sig.get(&sig) {
            return Err(exec(format!(
                "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                format_labels(&sig),
                one_side,
                format_labels(&one[prev].labels),
                format_labels(&s.labels),
            )));
        }
        one_by_sig.insert(sig, i);
    }
    // A missing "one"-side sample is filled with the right fill value, a
    // missing "many"-side one with the left, whichever side is which (as
    // Prometheus swaps the sides for group_right).
    let fill_one = modifier.fill_values.rhs;
    let fill_many = modifier.fill_values.lhs;
    let mut matched_sigs: HashMap<Labels, HashSet<Labels>> = HashMap::new();
    let mut used_one: HashSet<Labels> = HashSet::new();
    let mut out = Vec::new();
    let include = card.labels().map(|l| l.labels.clone()).unwrap_or_default();
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    for m in &many {
        let sig = signature(&m.labels, matching);
        let o = match one_by_sig.get(&sig) {
            Some(&i) => Some(&one[i]),
            None if fill_one.is_some() => None,
            None => continue,
        };
        used_one.insert(sig.clone());
        let (mv, ov) = (m.v, o.map_or(fill_one.unwrap_or(f64::NAN), |o| o.v));
        let (l, r) = if one_to_many { (ov, mv) } else { (mv, ov) };
        let labels = result_labels(
            &m.labels,
            o.map(|o| &o.labels),
            modifier,
            &include,
            one_to_one,
        );
        let entry = matched_sigs.entry(sig).or_default();
        if one_to_one {
            if !entry.is_empty() {
                return Err(exec(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                ));
            }
        } else if entry.contains(&labels) {
            return Err(exec(
                "multiple matches for labels: grouping labels must ensure unique matches",
            ));
        }
        entry.insert(labels.clone());
        if let Some(s) = combine(op, l, r, modifier.return_bool, labels, m, t) {
            out.push(s);
        }
    }
    if let Some(fill_many) = fill_many {
        for o in &one {
            let sig = signature(&o.labels, matching);
            if used_one.contains(&sig) {
                continue;
            }
            let (l, r) = if one_to_many {
                (o.v, fill_many)
            } else {
                (fill_many, o.v)
            };
            if let Some(s) = combine(op, l, r, modifier.return_bool, sig, o, t) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// The sample `l op r` with `labels`, if the operator keeps it.
fn combine(
    op: TokenId,
    l: f64,
    r: f64,
    return_bool: bool,
    labels: Labels,
    from: &Sample,
    t: i64,
) -> Option<Sample> {
    let (mut v, mut keep) = apply(op, l, r);
    if return_bool {
        v = f64::from(u8::from(keep));
        keep = true;
    }
    keep.then(|| Sample {
        labels,
        v,
        ts: t,
        drop_name: from.drop_name || drops_name(op) || return_bool,
    })
}

/// The labels of a vector-vector result, from the "many" side's labels and
/// the matched "one" side's.
fn result_labels(
    many: &Labels,
    one: Option<&Labels>,
    modifier: &BinModifier,
    include: &[String],
    one_to_one: bool,
) -> Labels {
    if one_to_one {
        return match modifier.matching.as_ref() {
            Some(LabelModifier::Include(on)) => many.filter(|n| on.labels.iter().any(|l| l == n)),
            Some(LabelModifier::Exclude(ignoring)) => {
                many.filter(|n| !ignoring.labels.iter().any(|l| l == n))
            }
            None => many.clone(),
        };
    }
    let mut labels = many.clone();
    if let Some(one) = one {
        for name in include {
            labels = labels.with(name, one.get(name).unwrap_or(""));
        }
    }
    labels
}
