//! Aggregations: sum avg count min max group stddev stdvar topk bottomk
//! quantile count_values limitk limit_ratio, with `by`/`without`.

use std::collections::HashMap;

use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_LIMITK, T_LIMIT_RATIO, T_MAX, T_MIN,
    T_QUANTILE, T_STDDEV, T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, LabelModifier};
use sonde_tsdb::Labels;

use super::{exec, is_name_label, Evaluator, Sample, Val};
use crate::math::{quantile, KahanSum};
use crate::{format_value, QueryError};

impl Evaluator<'_> {
    pub(crate) fn aggregate(&self, a: &AggregateExpr, t: i64) -> Result<Val, QueryError> {
        let op = a.op.id();
        let param = match &a.param {
            Some(p) => Some(self.eval(p, t)?),
            None => None,
        };
        let samples = self.eval_vector(&a.expr, t)?;
        let modifier = a.modifier.as_ref();
        // Samples grouped by their group's labels, in order of appearance.
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut groups: Vec<(Labels, Vec<Sample>)> = Vec::new();
        for s in samples {
            let key = group_labels(&s.labels, modifier);
            let i = *index.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[i].1.push(s);
        }
        let scalar_param = || match &param {
            Some(Val::Scalar(v)) => Ok(*v),
            _ => Err(exec(format!("expected scalar parameter for {}", a.op))),
        };
        let mut out = Vec::new();
        match op {
            T_TOPK | T_BOTTOMK | T_LIMITK => {
                let k = scalar_param()?;
                if k.is_nan() {
                    return Err(exec("Parameter value is NaN"));
                }
                let k = if k >= i64::MAX as f64 {
                    i64::MAX
                } else {
                    k as i64
                };
                if k < 1 {
                    return Ok(Val::Vector(Vec::new()));
                }
                let k = usize::try_from(k).unwrap_or(usize::MAX);
                for (_, mut members) in groups {
                    if op != T_LIMITK {
                        let desc = op == T_TOPK;
                        members.sort_by(|x, y| rank(x.v, y.v, desc));
                    }
                    out.extend(members.into_iter().take(k));
                }
                return Ok(Val::Vector(out));
            }
            T_LIMIT_RATIO => {
                let ratio = scalar_param()?;
                if ratio.is_nan() {
                    return Err(exec("Ratio value is NaN"));
                }
                let ratio = ratio.clamp(-1.0, 1.0);
                for (_, members) in groups {
                    out.extend(members.into_iter().filter(|s| in_ratio(ratio, &s.labels)));
                }
                return Ok(Val::Vector(out));
            }
            T_COUNT_VALUES => {
                let label = match &param {
                    Some(Val::Str(s)) => s.clone(),
                    _ => return Err(exec("expected string parameter for count_values")),
                };
                if label.is_empty() {
                    return Err(exec(format!("invalid label name {label:?}")));
                }
                let mut counts: HashMap<Labels, usize> = HashMap::new();
                let mut order = Vec::new();
                for (key, members) in groups {
                    for s in members {
                        let labels = key.with(&label, &format_value(s.v));
                        let c = counts.entry(labels.clone()).or_insert_with(|| {
                            order.push(labels);
                            0
                        });
                        *c += 1;
                    }
                }
                for labels in order {
                    let count = counts.get(&labels).copied().unwrap_or(0);
                    out.push(new_sample(labels, count as f64, t));
                }
                return Ok(Val::Vector(out));
            }
            _ => {}
        }
        for (key, members) in groups {
            // A group keeps a to-be-dropped metric name (`by (__name__)`)
            // only to drop it later.
            let drop_name = key.metric_name().is_some() && members.iter().any(|s| s.drop_name);
            let values: Vec<f64> = members.iter().map(|s| s.v).collect();
            let v = match op {
                T_SUM => sum(&values),
                T_AVG => avg(&values),
                T_COUNT => values.len() as f64,
                T_GROUP => 1.0,
                T_MIN => {
                    values
                        .iter()
                        .copied()
                        .fold(f64::NAN, |m, v| if m.is_nan() || v < m { v } else { m })
                }
                T_MAX => {
                    values
                        .iter()
                        .copied()
                        .fold(f64::NAN, |m, v| if m.is_nan() || v > m { v } else { m })
                }
                T_STDDEV => variance(&values).sqrt(),
                T_STDVAR => variance(&values),
                T_QUANTILE => {
                    let mut values = values;
                    quantile(scalar_param()?, &mut values)
                }
                _ => return Err(exec(format!("unsupported aggregation {}", a.op))),
            };
            let mut s = new_sample(key, v, t);
            s.drop_name = drop_name;
            out.push(s);
        }
        Ok(Val::Vector(out))
    }
}

fn new_sample(labels: Labels, v: f64, t: i64) -> Sample {
    Sample {
        labels,
        v,
        ts: t,
        drop_name: false,
    }
}

/// The labels of the group a series falls in.
fn group_labels(labels: &Labels, modifier: Option<&LabelModifier>) -> Labels {
    match modifier {
        Some(LabelModifier::Include(by)) => labels.filter(|n| by.labels.iter().any(|l| l == n)),
        Some(LabelModifier::Exclude(without)) => {
            labels.filter(|n| !is_name_label(n) && !without.labels.iter().any(|l| l == n))
        }
        None => Labels::default(),
    }
}

/// Ordering for topk (`desc`) and bottomk: NaN always ranks last.
fn rank(x: f64, y: f64, desc: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if desc => y.partial_cmp(&x).unwrap_or(Ordering::Equal),
        _ => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

/// Whether a series falls in the share `ratio` of series (from the bottom
/// of the hash space when positive, from the top when negative), so that
/// `limit_ratio(r)` and `limit_ratio(-(1-r))` are complements. The hash is
/// sonde's stable label hash, not Prometheus's xxhash, so which series are
/// picked differs from Prometheus's choice.
fn in_ratio(ratio: f64, labels: &Labels) -> bool {
    let offset = labels.stable_hash() as f64 / u64::MAX as f64;
    (ratio >= 0.0 && offset < ratio) || (ratio < 0.0 && offset >= 1.0 + ratio)
}

fn sum(values: &[f64]) -> f64 {
    let mut k = KahanSum::new();
    for &v in values {
        k.add(v);
    }
    k.value()
}

/// The mean; computed incrementally when the plain sum overflows.
fn avg(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let total = sum(values);
    if total.is_finite() || values.iter().any(|v| !v.is_finite()) {
        return total / n;
    }
    let mut mean = 0.0;
    for (i, &v) in values.iter().enumerate() {
        let count = (i + 1) as f64;
        mean += v / count - mean / count;
    }
    mean
}

/// The population variance (Welford's method, as Prometheus computes it).
fn variance(values: &[f64]) -> f64 {
    let (mut count, mut mean, mut m2) = (0.0, 0.0, 0.0);
    for &v in values {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        m2 += delta * (v - mean);
    }
    m2 / count
}
