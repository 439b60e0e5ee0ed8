//! The evaluator: one expression at one evaluation time.
//!
//! Evaluation is per step: a range query evaluates its expression at every
//! step and merges the results by series (see `engine.rs`). Intermediate
//! values are [`Val`]s; samples carry a `drop_name` flag because the metric
//! name is removed late, as Prometheus 3 does (delayed name removal): a
//! name-dropping operation only marks its output, and the name goes when
//! the query's result is assembled, so `label_replace` can still read it.
//!
//! The samples a step holds (selected, in range vectors, in subquery
//! results) plus the points of a range query's result so far are counted
//! against `max_samples`; the timeout is checked before every read from the
//! store and between steps.
//!
//! - `selector.rs`: vector and matrix selectors, offset and `@`.
//! - `cache.rs`: series read once per selector, not once per step.
//! - `subquery.rs`: subqueries.
//! - `binary.rs`: binary operators and vector matching.
//! - `aggregate.rs`: aggregations.
//! - `call.rs`: function calls.
//! - `extended.rs`: the `anchored` and `smoothed` modifiers.
//! - `info.rs`: `info()`, enriching series with info metrics' labels.
//! - `histogram.rs`: `histogram_quantile(s)` and `histogram_fraction` over
//!   classic buckets.
//! - `sort.rs`: `sort`, `sort_desc`, `sort_by_label(_desc)`.

mod aggregate;
mod binary;
mod cache;
mod call;
mod extended;
mod histogram;
mod info;
mod selector;
mod sort;
mod subquery;

use std::cell::Cell;
use std::time::Instant;

use promql_parser::parser::Expr;
use sonde_tsdb::{Labels, METRIC_NAME};

use crate::{ErrorKind, QueryError, Queryable};
use extended::RangeModifier;

/// Prometheus's error when a query holds too many samples.
pub(crate) const TOO_MANY_SAMPLES: &str =
    "query processing would load too many samples into memory in query execution";

/// One series' value at the evaluation time.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub labels: Labels,
    pub v: f64,
    /// The sample's own timestamp (what `timestamp()` returns): the stored
    /// sample's time for a selector, the evaluation time otherwise.
    pub ts: i64,
    /// The metric name is to be removed from the result.
    pub drop_name: bool,
}

/// One series' samples in a range.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
    pub drop_name: bool,
}

/// A range vector and the window `(start, end]` it covers. With a
/// modifier, series also hold the samples around the window it needs.
#[derive(Debug, Clone)]
pub(crate) struct RangeVector {
    pub series: Vec<Series>,
    pub start: i64,
    pub end: i64,
    pub modifier: Option<RangeModifier>,
}

/// An intermediate value.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Scalar(f64),
    Str(String),
    Vector(Vec<Sample>),
    Matrix(RangeVector),
}

impl Val {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Str(_) => "string",
            Val::Vector(_) => "instant vector",
            Val::Matrix(_) => "range vector",
        }
    }
}

/// What one query's evaluation knows: the store, the query's time range
/// and limits, and the samples it currently holds.
pub(crate) struct Evaluator<'a> {
    pub store: &'a dyn Queryable,
    /// The query's first and last evaluation time (equal for an instant
    /// query), for `@ start()` / `@ end()`.
    pub start: i64,
    pub end: i64,
    /// The range query's step; 0 for an instant query.
    pub step: i64,
    pub lookback: i64,
    pub max_samples: usize,
    pub deadline: Instant,
    /// Samples loaded by the step being evaluated.
    loaded: Cell<usize>,
    cache: cache::SelectCache,
}

impl<'a> Evaluator<'a> {
    pub fn new(
        store: &'a dyn Queryable,
        options: &crate::EngineOptions,
        start: i64,
        end: i64,
        step: i64,
    ) -> Self {
        Self {
            store,
            start,
            end,
            step,
            lookback: options.lookback_delta_ms,
            max_samples: options.max_samples,
            deadline: Instant::now() + options.timeout,
            loaded: Cell::new(0),
            cache: cache::SelectCache::default(),
        }
    }

    /// Starts a new step: samples held by the previous one are released,
    /// `base` (the result so far) stays held.
    pub fn start_step(&self, base: usize) {
        self.loaded.set(base);
    }

    /// Accounts `n` more samples held; errors over the limit.
    pub fn hold(&self, n: usize) -> Result<(), QueryError> {
        let total = self.loaded.get().saturating_add(n);
        self.loaded.set(total);
        if total > self.max_samples {
            return Err(QueryError::execution(TOO_MANY_SAMPLES));
        }
        Ok(())
    }

    /// Errors once the query has run past its timeout.
    pub fn check_deadline(&self) -> Result<(), QueryError> {
        if Instant::now() >= self.deadline {
            return Err(QueryError {
                kind: ErrorKind::Timeout,
                message: "query timed out in expression evaluation".into(),
                position: None,
            });
        }
        Ok(())
    }

    /// Evaluates `expr` at `t` (milliseconds).
    pub fn eval(&self, expr: &Expr, t: i64) -> Result<Val, QueryError> {
        match expr {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, t),
            Expr::Unary(u) => match self.eval(&u.expr, t)? {
                Val::Scalar(v) => Ok(Val::Scalar(-v)),
                Val::Vector(samples) => Ok(Val::Vector(
                    samples
                        .into_iter()
                        .map(|s| Sample {
                            v: -s.v,
                            drop_name: true,
                            ..s
                        })
                        .collect(),
                )),
                other => Err(exec(format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(vs) => self.vector_selector(vs, t).map(Val::Vector),
            Expr::MatrixSelector(ms) => self.matrix_selector(ms, t).map(Val::Matrix),
            Expr::Subquery(sq) => self.subquery(sq, t).map(Val::Matrix),
            Expr::Binary(b) => self.binary(b, t),
            Expr::Aggregate(a) => self.aggregate(a, t),
            Expr::Call(c) => self.call(c, t),
            Expr::Extension(_) => Err(exec("extension expressions are not supported")),
        }
    }

    /// Evaluates `expr` and requires an instant vector.
    pub fn eval_vector(&self, expr: &Expr, t: i64) -> Result<Vec<Sample>, QueryError> {
        match self.eval(expr, t)? {
            Val::Vector(v) => Ok(v),
            other => Err(exec(format!(
                "expected instant vector, got {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates `expr` and requires a scalar.
    pub fn eval_scalar(&self, expr: &Expr, t: i64) -> Result<f64, QueryError> {
        match self.eval(expr, t)? {
            Val::Scalar(v) => Ok(v),
            other => Err(exec(format!("expected scalar, got {}", other.type_name()))),
        }
    }
}

/// An execution error.
pub(crate) fn exec(message: impl Into<String>) -> QueryError {
    QueryError::execution(message)
}

/// Removes the metric name from samples marked to lose it, then fails if two
/// samples are left with the same labels, as Prometheus does.
pub(crate) fn finish_vector(samples: Vec<Sample>) -> Result<Vec<Sample>, QueryError> {
    let mut out: Vec<Sample> = samples
        .into_iter()
        .map(|s| {
            if s.drop_name {
                Sample {
                    labels: without_name(&s.labels),
                    drop_name: false,
                    ..s
                }
            } else {
                s
            }
        })
        .collect();
    let mut seen = std::collections::HashSet::with_capacity(out.len());
    for s in &out {
        if !seen.insert(&s.labels) {
            return Err(exec("vector cannot contain metrics with the same labelset"));
        }
    }
    out.shrink_to_fit();
    Ok(out)
}

/// Labels that go with the metric name: the name itself and the type and
/// unit labels of Prometheus's type-and-unit metadata (`__type__`,
/// `__unit__`).
pub(crate) fn is_name_label(name: &str) -> bool {
    matches!(name, METRIC_NAME | "__type__" | "__unit__")
}

/// `labels` without the metric name (and its type and unit labels).
pub(crate) fn without_name(labels: &Labels) -> Labels {
    labels.filter(|n| !is_name_label(n))
}
