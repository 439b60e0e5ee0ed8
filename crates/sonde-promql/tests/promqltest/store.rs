//! The test store: loaded series in memory, behind [`Queryable`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use sonde_promql::Queryable;
use sonde_tsdb::{Labels, Matcher, SeriesSamples};

/// Series loaded by `load` commands, emptied by `clear`.
///
/// Series sonde cannot store (native histograms, start timestamps) are
/// kept by label set only; a query that selects one of them is flagged, so
/// the harness can count it as skipped rather than failed.
#[derive(Default)]
pub struct MemStore {
    series: BTreeMap<Labels, Vec<(i64, f64)>>,
    native: Vec<Labels>,
    start_ts: Vec<Labels>,
    touched_native: AtomicBool,
    touched_start_ts: AtomicBool,
}

impl MemStore {
    /// Adds samples to a series, keeping its samples in time order; a
    /// sample at an existing time replaces the old one.
    pub fn add(&mut self, labels: Labels, samples: impl IntoIterator<Item = (i64, f64)>) {
        let points = self.series.entry(labels).or_default();
        for (t, v) in samples {
            match points.binary_search_by_key(&t, |p| p.0) {
                Ok(i) => points[i].1 = v,
                Err(i) => points.insert(i, (t, v)),
            }
        }
    }

    /// Records a series of native histograms.
    pub fn add_native(&mut self, labels: Labels) {
        self.native.push(labels);
    }

    /// Records a series with start timestamps.
    pub fn add_start_ts(&mut self, labels: Labels) {
        self.start_ts.push(labels);
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Whether selects since the last call matched a native-histogram
    /// series, and whether one with start timestamps; resets both.
    pub fn take_touched(&self) -> (bool, bool) {
        (
            self.touched_native.swap(false, Ordering::Relaxed),
            self.touched_start_ts.swap(false, Ordering::Relaxed),
        )
    }
}

fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(m.name()).unwrap_or("")))
}

impl Queryable for MemStore {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, String> {
        if self.native.iter().any(|l| matches_all(matchers, l)) {
            self.touched_native.store(true, Ordering::Relaxed);
        }
        if self.start_ts.iter().any(|l| matches_all(matchers, l)) {
            self.touched_start_ts.store(true, Ordering::Relaxed);
        }
        Ok(self
            .series
            .iter()
            .filter(|(labels, _)| matches_all(matchers, labels))
            .map(|(labels, points)| {
                let points = points
                    .iter()
                    .copied()
                    .filter(|(t, _)| *t >= mint && *t <= maxt)
                    .collect();
                (labels.clone(), points)
            })
            .collect())
    }
}
