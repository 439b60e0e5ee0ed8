//! Function calls: the vector-level functions are here; range functions
//! (`rate`, `*_over_time`, ...), elementwise math and date functions,
//! `histogram_quantile`'s bucket arithmetic and the label functions are
//! computed by `crate::functions`.

use std::collections::HashMap;

use promql_parser::label::MatchOp;
use promql_parser::parser::{Call, Expr};
use sonde_tsdb::{Labels, METRIC_NAME};

use super::extended::{extended_delta, RangeModifier};
use super::{exec, Evaluator, RangeVector, Sample, Val};
use crate::functions::{
    drops_all_samples, is_range_function, label_join, label_replace, math_function, range_function,
    range_function_at, scalar_function, RangeArgs,
};
use crate::rewrite::MODIFIER_LABEL;
use crate::QueryError;

/// Range functions whose result keeps the series' metric name.
const NAME_KEEPING_RANGE_FUNCTIONS: [&str; 2] = ["last_over_time", "first_over_time"];

/// Native-histogram functions: over float samples they yield nothing.
const HISTOGRAM_ONLY_FUNCTIONS: [&str; 5] = [
    "histogram_avg",
    "histogram_count",
    "histogram_sum",
    "histogram_stddev",
    "histogram_stdvar",
];

impl Evaluator<'_> {
    pub(crate) fn call(&self, c: &Call, t: i64) -> Result<Val, QueryError> {
        let name = c.func.name;
        let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
        match name {
            "time" => return Ok(Val::Scalar(t as f64 / 1000.0)),
            "pi" => return Ok(Val::Scalar(std::f64::consts::PI)),
            "vector" => {
                let v = self.eval_scalar(arg(&args, 0)?, t)?;
                return Ok(Val::Vector(vec![sample(Labels::default(), v, t, false)]));
            }
            "scalar" => {
                let samples = self.eval_vector(arg(&args, 0)?, t)?;
                return Ok(Val::Scalar(match samples.as_slice() {
                    [one] => one.v,
                    _ => f64::NAN,
                }));
            }
            "timestamp" => {
                let samples = self.eval_vector(arg(&args, 0)?, t)?;
                return Ok(Val::Vector(
                    samples
                        .into_iter()
                        .map(|s| sample(s.labels, s.ts as f64 / 1000.0, t, true))
                        .collect(),
                ));
            }
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => {
                return self.sort_call(name, &args, t);
            }
            "absent" => {
                let samples = self.eval_vector(arg(&args, 0)?, t)?;
                return Ok(Val::Vector(if samples.is_empty() {
                    vec![sample(absent_labels(arg(&args, 0)?), 1.0, t, false)]
                } else {
                    Vec::new()
                }));
            }
            "absent_over_time" => {
                let rv = self.eval_matrix(arg(&args, 0)?, t)?;
                return Ok(Val::Vector(if rv.series.is_empty() {
                    vec![sample(absent_labels(arg(&args, 0)?), 1.0, t, false)]
                } else {
                    Vec::new()
                }));
            }
            "present_over_time" => {
                let rv = self.eval_matrix(arg(&args, 0)?, t)?;
                return Ok(Val::Vector(
                    rv.series
                        .into_iter()
                        .map(|s| sample(s.labels, 1.0, t, true))
                        .collect(),
                ));
            }
            "step" => return Ok(Val::Scalar(self.step as f64 / 1000.0)),
            "start" => return Ok(Val::Scalar(self.start as f64 / 1000.0)),
            "end" => return Ok(Val::Scalar(self.end as f64 / 1000.0)),
            "min_of" | "max_of" => {
                let a = self.eval_scalar(arg(&args, 0)?, t)?;
                let b = self.eval_scalar(arg(&args, 1)?, t)?;
                return scalar_function(name, &[a, b])
                    .map(Val::Scalar)
                    .ok_or_else(|| exec(format!("{name} needs two scalar arguments")));
            }
            "info" => return self.info(&args, t),
            "range" => {
                return Ok(Val::Scalar(
                    self.end.saturating_sub(self.start) as f64 / 1000.0,
                ))
            }
            "histogram_quantile" | "histogram_quantiles" | "histogram_fraction" => {
                return self.histogram_call(name, &args, t);
            }
            "label_replace" | "label_join" => return self.label_call(name, &args, t),
            _ => {}
        }
        if HISTOGRAM_ONLY_FUNCTIONS.contains(&name) {
            for a in &args {
                self.eval(a, t)?;
            }
            return Ok(Val::Vector(Vec::new()));
        }
        if is_range_function(name) {
            return self.range_call(name, &args, t);
        }
        // Elementwise functions; date functions default to `vector(time())`.
        let mut input = None;
        let mut scalars = Vec::new();
        for a in &args {
            match self.eval(a, t)? {
                Val::Vector(v) if input.is_none() => input = Some(v),
                Val::Scalar(v) => scalars.push(v),
                other => {
                    return Err(exec(format!(
                        "unexpected {} argument to {name}",
                        other.type_name()
                    )))
                }
            }
        }
        let input =
            input.unwrap_or_else(|| vec![sample(Labels::default(), t as f64 / 1000.0, t, false)]);
        if drops_all_samples(name, &scalars) {
            return Ok(Val::Vector(Vec::new()));
        }
        let mut out = Vec::with_capacity(input.len());
        for s in input {
            match math_function(name, s.v, &scalars) {
                Some(Ok(v)) => out.push(sample(s.labels, v, t, true)),
                Some(Err(e)) => return Err(exec(e)),
                None => return Err(exec(format!("function {name} is not supported"))),
            }
        }
        Ok(Val::Vector(out))
    }

    /// Evaluates `expr` and requires a range vector.
    fn eval_matrix(&self, expr: &Expr, t: i64) -> Result<RangeVector, QueryError> {
        match self.eval(expr, t)? {
            Val::Matrix(m) => Ok(m),
            other => Err(exec(format!(
                "expected range vector, got {}",
                other.type_name()
            ))),
        }
    }

    /// A function over a range vector, e.g. `rate`, with its scalar
    /// arguments in call order.
    fn range_call(&self, name: &str, args: &[&Expr], t: i64) -> Result<Val, QueryError> {
        let mut matrix = None;
        let mut scalars = Vec::new();
        for a in args {
            match self.eval(a, t)? {
                Val::Matrix(m) if matrix.is_none() => matrix = Some(m),
                Val::Scalar(v) => scalars.push(v),
                other => {
                    return Err(exec(format!(
                        "unexpected {} argument to {name}",
                        other.type_name()
                    )))
                }
            }
        }
        let Some(rv) = matrix else {
            return Err(exec(format!("{name} needs a range vector argument")));
        };
        if let Some(modifier) = rv.modifier {
            return self.extended_call(name, modifier, rv, &scalars, t);
        }
        let keeps_name = NAME_KEEPING_RANGE_FUNCTIONS.contains(&name);
        let mut out = Vec::with_capacity(rv.series.len());
        for s in rv.series {
            let range_args = RangeArgs {
                points: &s.points,
                range_start: rv.start,
                range_end: rv.end,
                scalars: &scalars,
            };
            if let Some(v) = range_function_at(name, &range_args, t).map_err(exec)? {
                out.push(sample(s.labels, v, t, s.drop_name || !keeps_name));
            }
        }
        Ok(Val::Vector(out))
    }

    /// A range function over an `anchored` or `smoothed` range vector.
    fn extended_call(
        &self,
        name: &str,
        modifier: RangeModifier,
        rv: RangeVector,
        scalars: &[f64],
        t: i64,
    ) -> Result<Val, QueryError> {
        modifier.check(name)?;
        let mut out = Vec::with_capacity(rv.series.len());
        for s in rv.series {
            let v = match name {
                "rate" | "increase" | "delta" => extended_delta(
                    &s.points,
                    rv.start,
                    rv.end,
                    modifier,
                    name != "delta",
                    name == "rate",
                ),
                // `changes` and `resets` count from the anchor on, when
                // the window itself holds a sample.
                _ if !s.points.iter().any(|p| p.0 > rv.start) => None,
                _ => {
                    let args = RangeArgs {
                        points: &s.points,
                        range_start: rv.start,
                        range_end: rv.end,
                        scalars,
                    };
                    range_function(name, &args).map_err(exec)?
                }
            };
            if let Some(v) = v {
                out.push(sample(s.labels, v, t, true));
            }
        }
        Ok(Val::Vector(out))
    }

    /// `label_replace` and `label_join`.
    fn label_call(&self, name: &str, args: &[&Expr], t: i64) -> Result<Val, QueryError> {
        let samples = self.eval_vector(arg(args, 0)?, t)?;
        let mut strings = Vec::new();
        for a in args.get(1..).unwrap_or_default() {
            match self.eval(a, t)? {
                Val::Str(s) => strings.push(s),
                other => {
                    return Err(exec(format!(
                        "expected string argument to {name}, got {}",
                        other.type_name()
                    )))
                }
            }
        }
        let dst = strings.first().cloned().unwrap_or_default();
        let mut out = Vec::with_capacity(samples.len());
        for s in samples {
            let labels = if name == "label_replace" {
                let [_, replacement, src, regex] = strings.as_slice() else {
                    return Err(exec("label_replace needs 4 string arguments"));
                };
                label_replace(&s.labels, &dst, replacement, src, regex)
            } else {
                let Some(sep) = strings.get(1) else {
                    return Err(exec("label_join needs a separator"));
                };
                let srcs: Vec<&str> = strings.iter().skip(2).map(String::as_str).collect();
                label_join(&s.labels, &dst, sep, &srcs)
            }
            .map_err(exec)?;
            let drop_name = s.drop_name && dst != METRIC_NAME;
            out.push(Sample {
                labels,
                drop_name,
                ..s
            });
        }
        let mut seen = std::collections::HashSet::new();
        for s in &out {
            if !seen.insert(s.labels.clone()) {
                return Err(exec("vector cannot contain metrics with the same labelset"));
            }
        }
        Ok(Val::Vector(out))
    }
}

/// Argument `i`, or an error naming the missing argument.
pub(crate) fn arg<'e>(args: &[&'e Expr], i: usize) -> Result<&'e Expr, QueryError> {
    args.get(i)
        .copied()
        .ok_or_else(|| exec(format!("missing argument {}", i + 1)))
}

pub(crate) fn sample(labels: Labels, v: f64, ts: i64, drop_name: bool) -> Sample {
    Sample {
        labels,
        v,
        ts,
        drop_name,
    }
}

/// The labels `absent` reports: the selector's equality matchers, except
/// the metric name and labels matched more than once.
fn absent_labels(expr: &Expr) -> Labels {
    let vs = match expr {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::default(),
    };
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for m in &vs.matchers.matchers {
        *counts.entry(m.name.as_str()).or_default() += 1;
    }
    let pairs = vs.matchers.matchers.iter().filter(|m| {
        m.op == MatchOp::Equal
            && m.name != METRIC_NAME
            && m.name != MODIFIER_LABEL
            && counts.get(m.name.as_str()).copied() == Some(1)
    });
    Labels::new_utf8(pairs.map(|m| (m.name.clone(), m.value.clone()))).unwrap_or_default()
}
