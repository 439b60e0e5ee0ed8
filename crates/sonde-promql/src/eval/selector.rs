//! Vector and matrix selectors, with offset and `@`.
//!
//! An instant selector at `t` yields each matching series' latest sample in
//! `(t - lookback, t]`, none if that sample is a staleness marker. A matrix
//! selector yields the samples in the left-open window `(t - range, t]`,
//! staleness markers dropped. `t` is the evaluation time, replaced by the
//! `@` time when there is one, minus the offset (which may be negative).

use std::time::{Duration, SystemTime};

use promql_parser::label::{MatchOp, Matcher as PMatcher};
use promql_parser::parser::{AtModifier, MatrixSelector, Offset, VectorSelector};
use sonde_tsdb::{is_stale, MatchOp as TsdbOp, Matcher, SeriesSamples, METRIC_NAME};

use super::extended::{smoothed_sample, RangeModifier};
use super::{exec, Evaluator, RangeVector, Sample, Series};
use crate::rewrite::{INFO_PLACEHOLDER_LABEL, MODIFIER_LABEL};
use crate::QueryError;

impl Evaluator<'_> {
    /// The time a selector or subquery with these modifiers reads at, when
    /// evaluated at `t`.
    pub(crate) fn modified_time(
        &self,
        at: Option<&AtModifier>,
        offset: Option<&Offset>,
        t: i64,
    ) -> i64 {
        let base = match at {
            None => t,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(time)) => system_time_ms(*time),
        };
        base.saturating_sub(offset_ms(offset))
    }

    /// The series matching `vs` with their samples in `[mint, maxt]`, from
    /// the cache when an earlier fetch covered the window; a fetch reads on
    /// to the end of the query's time span.
    fn select(
        &self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, QueryError> {
        self.check_deadline()?;
        let key = vs as *const VectorSelector as usize;
        if let Some(hit) = self.cache.get(key, mint, maxt) {
            return Ok(hit);
        }
        let fetch_maxt = maxt.saturating_add(self.end.saturating_sub(self.start));
        let fetched = self.fetch(vs, mint, fetch_maxt)?;
        self.cache.put(key, mint, fetch_maxt, fetched);
        Ok(self.cache.get(key, mint, maxt).unwrap_or_default())
    }

    /// Reads the series matching `vs` from the store.
    fn fetch(
        &self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, QueryError> {
        let mut groups: Vec<Vec<Matcher>> = Vec::new();
        let base = convert(&vs.matchers.matchers)?;
        if vs.matchers.or_matchers.is_empty() {
            groups.push(base);
        } else {
            for group in &vs.matchers.or_matchers {
                let mut all = base.clone();
                all.extend(convert(group)?);
                groups.push(all);
            }
        }
        if let Some(name) = &vs.name {
            for group in &mut groups {
                group.push(Matcher::eq(METRIC_NAME, name.clone()));
            }
        }
        let mut out: Vec<SeriesSamples> = Vec::new();
        for group in &groups {
            out.extend(self.store.select(group, mint, maxt).map_err(exec)?);
        }
        if groups.len() > 1 {
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out.dedup_by(|a, b| a.0 == b.0);
        }
        Ok(out)
    }

    /// An instant vector selector at `t`.
    pub(crate) fn vector_selector(
        &self,
        vs: &VectorSelector,
        t: i64,
    ) -> Result<Vec<Sample>, QueryError> {
        let ts = self.modified_time(vs.at.as_ref(), vs.offset.as_ref(), t);
        let mint = ts.saturating_sub(self.lookback).saturating_add(1);
        if modifier(vs) == Some(RangeModifier::Smoothed) {
            let series = self.select(vs, mint, ts.saturating_add(self.lookback))?;
            let out: Vec<Sample> = series
                .into_iter()
                .filter_map(|(labels, points)| {
                    let points = without_stale(points);
                    smoothed_sample(labels, &points, ts)
                })
                .collect();
            self.hold(out.len())?;
            return Ok(out);
        }
        let series = self.select(vs, mint, ts)?;
        let mut out = Vec::with_capacity(series.len());
        for (labels, points) in series {
            let Some(&(st, v)) = points.iter().rfind(|(st, _)| *st <= ts && *st >= mint) else {
                continue;
            };
            if is_stale(v) {
                continue;
            }
            out.push(Sample {
                labels,
                v,
                ts: st,
                drop_name: false,
            });
        }
        self.hold(out.len())?;
        Ok(out)
    }

    /// A matrix selector at `t`.
    pub(crate) fn matrix_selector(
        &self,
        ms: &MatrixSelector,
        t: i64,
    ) -> Result<RangeVector, QueryError> {
        let end = self.modified_time(ms.vs.at.as_ref(), ms.vs.offset.as_ref(), t);
        let start = end.saturating_sub(duration_ms(ms.range));
        let modifier = modifier(&ms.vs);
        // With a modifier, also the samples just outside the window.
        let (mint, maxt) = match modifier {
            None => (start.saturating_add(1), end),
            Some(m) => (
                start.saturating_sub(self.lookback).saturating_add(1),
                match m {
                    RangeModifier::Anchored => end,
                    RangeModifier::Smoothed => end.saturating_add(self.lookback),
                },
            ),
        };
        let selected = self.select(&ms.vs, mint, maxt)?;
        let mut series = Vec::with_capacity(selected.len());
        for (labels, points) in selected {
            let points = match modifier {
                None => points
                    .into_iter()
                    .filter(|&(st, v)| st > start && st <= end && !is_stale(v))
                    .collect(),
                Some(_) => around_window(without_stale(points), start, end),
            };
            if points.is_empty() {
                continue;
            }
            self.hold(points.len())?;
            series.push(Series {
                labels,
                points,
                drop_name: false,
            });
        }
        Ok(RangeVector {
            series,
            start,
            end,
            modifier,
        })
    }
}

/// The `anchored`/`smoothed` modifier recorded on a selector.
fn modifier(vs: &VectorSelector) -> Option<RangeModifier> {
    vs.matchers
        .matchers
        .iter()
        .find(|m| m.name == MODIFIER_LABEL)
        .and_then(|m| RangeModifier::from_name(&m.value))
}

/// Samples without staleness markers.
fn without_stale(points: Vec<(i64, f64)>) -> Vec<(i64, f64)> {
    points.into_iter().filter(|p| !is_stale(p.1)).collect()
}

/// The samples in `(start, end]`, the last one at or before `start` and
/// the first one after `end`, of those given.
fn around_window(points: Vec<(i64, f64)>, start: i64, end: i64) -> Vec<(i64, f64)> {
    let first = points
        .iter()
        .position(|p| p.0 > start)
        .unwrap_or(points.len())
        .saturating_sub(1);
    let last = points
        .iter()
        .position(|p| p.0 > end)
        .map_or(points.len(), |i| i + 1);
    points
        .get(first..last)
        .map(<[_]>::to_vec)
        .unwrap_or_default()
}

/// `promql-parser` matchers as sonde-tsdb matchers; the matchers on the
/// reserved labels of `rewrite/` are left out.
pub(crate) fn convert(matchers: &[PMatcher]) -> Result<Vec<Matcher>, QueryError> {
    matchers
        .iter()
        .filter(|m| m.name != MODIFIER_LABEL && m.name != INFO_PLACEHOLDER_LABEL)
        .map(|m| {
            let op = match m.op {
                MatchOp::Equal => TsdbOp::Eq,
                MatchOp::NotEqual => TsdbOp::Ne,
                MatchOp::Re(_) => TsdbOp::Re,
                MatchOp::NotRe(_) => TsdbOp::Nre,
            };
            Matcher::new(op, m.name.clone(), m.value.clone())
                .map_err(|e| QueryError::bad_data(e.to_string()))
        })
        .collect()
}

/// Milliseconds of a duration, saturating.
pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The signed milliseconds of an offset (positive looks back).
fn offset_ms(offset: Option<&Offset>) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pos(d)) => duration_ms(*d),
        Some(Offset::Neg(d)) => -duration_ms(*d),
    }
}

/// Milliseconds since the epoch of a time, negative before it.
fn system_time_ms(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => duration_ms(d),
        Err(e) => -duration_ms(e.duration()),
    }
}
