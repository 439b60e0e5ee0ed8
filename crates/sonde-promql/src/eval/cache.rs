//! Series read once per selector and query, not once per step.
//!
//! Evaluation is per step, but a range query's steps read overlapping
//! windows of the same series. The first read of a selector fetches its
//! window stretched over the query's whole time span; later reads whose
//! window lies inside that are cut from it (a read outside it fetches
//! again). Selectors are keyed by their address in the query's syntax tree,
//! which lives, unmoved, as long as the evaluation.

use std::cell::RefCell;
use std::collections::HashMap;

use sonde_tsdb::SeriesSamples;

/// Fetched series by selector.
#[derive(Default)]
pub(crate) struct SelectCache {
    entries: RefCell<HashMap<usize, Entry>>,
}

/// The series of one selector with their samples in `[mint, maxt]`.
struct Entry {
    mint: i64,
    maxt: i64,
    series: Vec<SeriesSamples>,
}

impl SelectCache {
    /// The series of selector `key` with their samples in `[mint, maxt]`,
    /// if a fetch covered that window.
    pub(crate) fn get(&self, key: usize, mint: i64, maxt: i64) -> Option<Vec<SeriesSamples>> {
        let entries = self.entries.borrow();
        let entry = entries.get(&key)?;
        if mint < entry.mint || maxt > entry.maxt {
            return None;
        }
        Some(
            entry
                .series
                .iter()
                .map(|(labels, points)| {
                    let from = points.partition_point(|p| p.0 < mint);
                    let to = points.partition_point(|p| p.0 <= maxt);
                    let window = points.get(from..to).unwrap_or_default();
                    (labels.clone(), window.to_vec())
                })
                .collect(),
        )
    }

    /// Records what a fetch of selector `key` over `[mint, maxt]` returned.
    pub(crate) fn put(&self, key: usize, mint: i64, maxt: i64, series: Vec<SeriesSamples>) {
        self.entries
            .borrow_mut()
            .insert(key, Entry { mint, maxt, series });
    }
}
