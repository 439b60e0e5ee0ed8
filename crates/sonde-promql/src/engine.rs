//! Instant and range query evaluation.

use std::time::Duration;

use std::collections::HashMap;

use sonde_tsdb::Labels;

use crate::eval::{finish_vector, without_name, Evaluator, Val};
use crate::{InstantSample, QueryError, Queryable, RangeSeries, Value};

/// The most steps a range query may have, as Prometheus's API allows.
const MAX_POINTS_PER_SERIES: i64 = 11_000;

/// Limits and defaults, as Prometheus's flags of the same names.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// `--query.lookback-delta`: how far back an instant selector looks.
    pub lookback_delta_ms: i64,
    /// `--query.max-samples`: samples a query may hold in memory at once.
    pub max_samples: usize,
    /// `--query.timeout`.
    pub timeout: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback_delta_ms: 5 * 60 * 1000,
            max_samples: 10_000_000,
            timeout: Duration::from_secs(120),
        }
    }
}

/// The query engine; shareable, holds no per-query state.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    options: EngineOptions,
}

impl Engine {
    pub fn new(options: EngineOptions) -> Self {
        Self { options }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Evaluates `query` at `t` (milliseconds).
    pub fn instant(&self, store: &dyn Queryable, query: &str, t: i64) -> Result<Value, QueryError> {
        let expr = crate::parse::parse(query, 0, 0)?;
        let ev = Evaluator::new(store, &self.options, t, t, 0);
        Ok(match ev.eval(&expr, t)? {
            Val::Scalar(v) => Value::Scalar { t, v },
            Val::Str(v) => Value::String { t, v },
            Val::Vector(samples) => Value::Vector(
                finish_vector(samples)?
                    .into_iter()
                    .map(|s| InstantSample {
                        labels: s.labels,
                        t,
                        v: s.v,
                    })
                    .collect(),
            ),
            Val::Matrix(rv) => Value::Matrix(
                rv.series
                    .into_iter()
                    .map(|s| RangeSeries {
                        labels: if s.drop_name {
                            without_name(&s.labels)
                        } else {
                            s.labels
                        },
                        points: s.points,
                    })
                    .collect(),
            ),
        })
    }

    /// Evaluates `query` at every `step` from `start` to `end` (milliseconds,
    /// inclusive); always a [`Value::Matrix`].
    pub fn range(
        &self,
        store: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Value, QueryError> {
        if step <= 0 {
            return Err(QueryError::bad_data(
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        if end < start {
            return Err(QueryError::bad_data(
                "end timestamp must not be before start time",
            ));
        }
        // Prometheus's API refuses more points per series than this.
        if end.saturating_sub(start) / step > MAX_POINTS_PER_SERIES {
            return Err(QueryError::bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            ));
        }
        let expr = crate::parse::parse(query, step, end.saturating_sub(start))?;
        let ev = Evaluator::new(store, &self.options, start, end, step);
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut series: Vec<RangeSeries> = Vec::new();
        // Points of the result so far: held through every later step.
        let mut held = 0usize;
        let mut t = start;
        while t <= end {
            ev.check_deadline()?;
            ev.start_step(held);
            let samples = match ev.eval(&expr, t)? {
                Val::Scalar(v) => vec![(Labels::default(), v)],
                Val::Vector(samples) => finish_vector(samples)?
                    .into_iter()
                    .map(|s| (s.labels, s.v))
                    .collect(),
                other => {
                    return Err(QueryError::bad_data(format!(
                        "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                        other.type_name()
                    )))
                }
            };
            held += samples.len();
            ev.start_step(held);
            ev.hold(0)?;
            for (labels, v) in samples {
                let i = *index.entry(labels.clone()).or_insert_with(|| {
                    series.push(RangeSeries {
                        labels,
                        points: Vec::new(),
                    });
                    series.len() - 1
                });
                series[i].points.push((t, v));
            }
            t = match t.checked_add(step) {
                Some(next) => next,
                None => break,
            };
        }
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Value::Matrix(series))
    }
}
