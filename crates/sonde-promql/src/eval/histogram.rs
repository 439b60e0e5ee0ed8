//! `histogram_quantile`, `histogram_quantiles` and `histogram_fraction`
//! over classic histograms: series with an `le` label, grouped by their
//! other labels. The quantile arithmetic is `crate::functions`'s
//! `bucket_quantile`; the fraction is Prometheus's `BucketFraction`.
//!
//! The fraction of observations between `lower` and `upper` is estimated
//! by linear interpolation inside the buckets the bounds fall in. The first
//! bucket starts at 0 when its upper bound is positive (as for
//! `histogram_quantile`), else at -Inf. A bound inside a bucket of infinite
//! width is not interpolated: the bucket's observations count as sitting
//! at its finite end.

use std::collections::HashMap;

use promql_parser::parser::Expr;
use sonde_tsdb::Labels;

use super::call::{arg, sample};
use super::{exec, Evaluator, Sample, Val};
use crate::format_value;
use crate::functions::bucket_quantile;
use crate::QueryError;

impl Evaluator<'_> {
    /// `histogram_quantile(q, v)`, `histogram_quantiles(v, "label", q...)`
    /// or `histogram_fraction(lower, upper, v)`.
    pub(crate) fn histogram_call(
        &self,
        name: &str,
        args: &[&Expr],
        t: i64,
    ) -> Result<Val, QueryError> {
        let out = match name {
            "histogram_quantile" => {
                let q = self.eval_scalar(arg(args, 0)?, t)?;
                let samples = self.eval_vector(arg(args, 1)?, t)?;
                classic_buckets(samples)
                    .into_iter()
                    .map(|(labels, mut b)| sample(labels, bucket_quantile(q, &mut b), t, true))
                    .collect()
            }
            "histogram_fraction" => {
                let lower = self.eval_scalar(arg(args, 0)?, t)?;
                let upper = self.eval_scalar(arg(args, 1)?, t)?;
                let samples = self.eval_vector(arg(args, 2)?, t)?;
                classic_buckets(samples)
                    .into_iter()
                    .map(|(labels, mut b)| {
                        sample(labels, bucket_fraction(lower, upper, &mut b), t, true)
                    })
                    .collect()
            }
            _ => return self.histogram_quantiles(args, t),
        };
        Ok(Val::Vector(out))
    }

    /// `histogram_quantiles(v, "label", q1, q2, ...)`: one series per
    /// quantile, labelled with it.
    fn histogram_quantiles(&self, args: &[&Expr], t: i64) -> Result<Val, QueryError> {
        let samples = self.eval_vector(arg(args, 0)?, t)?;
        let label = match self.eval(arg(args, 1)?, t)? {
            Val::Str(s) => s,
            other => {
                return Err(exec(format!(
                    "expected string argument to histogram_quantiles, got {}",
                    other.type_name()
                )))
            }
        };
        let mut qs = Vec::new();
        for a in args.get(2..).unwrap_or_default() {
            qs.push(self.eval_scalar(a, t)?);
        }
        let mut out = Vec::new();
        for (labels, buckets) in classic_buckets(samples) {
            for &q in &qs {
                let mut b = buckets.clone();
                let v = bucket_quantile(q, &mut b);
                out.push(sample(labels.with(&label, &format_quantile(q)), v, t, true));
            }
        }
        Ok(Val::Vector(out))
    }
}

/// The estimated fraction of observations in `[lower, upper]`, from
/// `(upper bound, cumulative count)` buckets in any order; NaN without a
/// `+Inf` bucket or observations.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, buckets: &mut [(f64, f64)]) -> f64 {
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let buckets = coalesce(buckets);
    let Some(&(last_bound, count)) = buckets.last() else {
        return f64::NAN;
    };
    if last_bound != f64::INFINITY || count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, None, None);
    for (i, &(upper_bound, bucket_count)) in buckets.iter().enumerate() {
        let lower_bound = match i {
            0 if upper_bound > 0.0 => 0.0,
            0 => f64::NEG_INFINITY,
            _ => buckets[i - 1].0,
        };
        let position = |v: f64| {
            if lower_bound == f64::NEG_INFINITY {
                bucket_count
            } else if upper_bound == f64::INFINITY {
                rank
            } else {
                rank + (bucket_count - rank) * (v - lower_bound) / (upper_bound - lower_bound)
            }
        };
        for (bound, slot) in [(lower, &mut lower_rank), (upper, &mut upper_rank)] {
            if slot.is_none() {
                if lower_bound >= bound {
                    *slot = Some(rank);
                } else if upper_bound > bound {
                    *slot = Some(position(bound));
                }
            }
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        rank = bucket_count;
    }
    let lower_rank = lower_rank.unwrap_or(count).min(count);
    let upper_rank = upper_rank.unwrap_or(count).min(count);
    (upper_rank - lower_rank) / count
}

/// Buckets with the same upper bound merged (their counts added).
fn coalesce(buckets: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(bound, count) in buckets {
        match out.last_mut() {
            Some(last) if last.0 == bound => last.1 += count,
            _ => out.push((bound, count)),
        }
    }
    out
}

/// Classic histogram buckets: series grouped by their labels without
/// `le`, each group's `(le, count)` pairs; series without a valid `le` are
/// ignored.
fn classic_buckets(samples: Vec<Sample>) -> Vec<(Labels, Vec<(f64, f64)>)> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<(Labels, Vec<(f64, f64)>)> = Vec::new();
    for s in samples {
        let Some(le) = s.labels.get("le").and_then(parse_le) else {
            continue;
        };
        let key = s.labels.filter(|n| n != "le");
        let i = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push((le, s.v));
    }
    groups
}

/// A quantile as `histogram_quantiles` labels it: `0.25`, and whole
/// numbers with a decimal point (`1.0`).
fn format_quantile(q: f64) -> String {
    if q.is_finite() && q.fract() == 0.0 {
        format!("{q:.1}")
    } else {
        format_value(q)
    }
}

/// An `le` label value as a float, as Go's `strconv.ParseFloat` reads it.
fn parse_le(s: &str) -> Option<f64> {
    match s.trim() {
        "+Inf" | "+inf" | "Inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}
