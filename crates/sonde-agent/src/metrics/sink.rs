//! Writing samples into the metrics store: one batch per flush or scrape,
//! every refused sample counted by reason.

use std::sync::atomic::Ordering::Relaxed;

use sonde_tsdb::{Db, Metadata, Sample};

use super::stats::MetricsStats;

/// Appends `samples`; returns how many were taken.
pub fn write(db: &Db, samples: &[Sample], stats: &MetricsStats) -> usize {
    if samples.is_empty() {
        return 0;
    }
    let outcome = db.append_batch(samples);
    stats
        .samples_appended
        .fetch_add(outcome.appended as u64, Relaxed);
    for (i, e) in &outcome.rejected {
        stats.count_rejected(e);
        tracing::debug!(series = ?samples[*i].labels, error = %e, "metrics store refused a sample");
    }
    outcome.appended
}

pub fn record_metadata<'a>(db: &Db, metadata: impl IntoIterator<Item = (&'a str, &'a Metadata)>) {
    for (family, m) in metadata {
        db.metadata().record(family, m.clone());
    }
}
