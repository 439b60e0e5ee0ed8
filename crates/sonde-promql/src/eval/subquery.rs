//! Subqueries: `expr[range:step]`.
//!
//! The inner expression is evaluated at every multiple of the step (counted
//! from the Unix epoch, as Prometheus aligns them) in the left-open window
//! `(end - range, end]`, where `end` is the evaluation time after `@` and
//! offset. Without an explicit step, Prometheus's default evaluation
//! interval, one minute, is used.

use std::collections::HashMap;

use promql_parser::parser::SubqueryExpr;
use sonde_tsdb::Labels;

use super::selector::duration_ms;
use super::{exec, Evaluator, RangeVector, Series, Val, TOO_MANY_SAMPLES};
use crate::QueryError;

/// The step of a subquery that gives none.
const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;

impl Evaluator<'_> {
    pub(crate) fn subquery(&self, sq: &SubqueryExpr, t: i64) -> Result<RangeVector, QueryError> {
        let end = self.modified_time(sq.at.as_ref(), sq.offset.as_ref(), t);
        let start = end.saturating_sub(duration_ms(sq.range));
        let step = sq
            .step
            .map(duration_ms)
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_SUBQUERY_STEP_MS);
        let mut first = start.div_euclid(step).saturating_mul(step);
        if first <= start {
            first = first.saturating_add(step);
        }
        // Every step holds at least one point per series: a subquery with
        // more steps than the sample limit cannot finish, so it is refused
        // before it runs (Prometheus refuses `x[1y:1ms]` at once, too).
        let steps = end.saturating_sub(first).checked_div(step).unwrap_or(0) + 1;
        if first <= end && usize::try_from(steps).map_or(true, |n| n > self.max_samples) {
            return Err(QueryError::execution(TOO_MANY_SAMPLES));
        }
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut series: Vec<Series> = Vec::new();
        let mut at = first;
        while at <= end {
            self.check_deadline()?;
            let samples = match self.eval(&sq.expr, at)? {
                Val::Vector(v) => v
                    .into_iter()
                    .map(|s| (s.labels, s.v, s.drop_name))
                    .collect(),
                Val::Scalar(v) => vec![(Labels::default(), v, false)],
                other => {
                    return Err(exec(format!(
                        "subquery is only allowed on instant vector, got {}",
                        other.type_name()
                    )))
                }
            };
            self.hold(samples.len())?;
            for (labels, v, drop_name) in samples {
                let i = *index.entry(labels.clone()).or_insert_with(|| {
                    series.push(Series {
                        labels,
                        points: Vec::new(),
                        drop_name,
                    });
                    series.len() - 1
                });
                series[i].points.push((at, v));
                series[i].drop_name |= drop_name;
            }
            at = at.saturating_add(step);
        }
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(RangeVector {
            series,
            start,
            end,
            modifier: None,
        })
    }
}
