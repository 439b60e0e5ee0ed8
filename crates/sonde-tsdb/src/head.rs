//! The in-memory head, as Prometheus's tsdb `Head`: the newest samples of
//! every series, as XOR chunks in memory, found through the
//! [`SeriesIndex`].
//!
//! [`Head::append`] finds or creates the series, then applies Prometheus's
//! ordering rules (with out-of-order ingestion off, its default):
//! - a timestamp before the series' last one is rejected
//!   ([`AppendError::OutOfOrder`]);
//! - the last timestamp again with the same value bits is accepted and
//!   stores nothing (a duplicate, as when a scrape is retried);
//! - the last timestamp again with other value bits is rejected
//!   ([`AppendError::DuplicateTimestamp`]).
//!
//! Each series keeps closed [`XorChunk`](crate::XorChunk)s and one open
//! [`XorAppender`](crate::XorAppender), with each chunk's first and last
//! timestamp. A new chunk is cut once the open one holds
//! [`SAMPLES_PER_CHUNK`] samples; unlike Prometheus, chunks are not also
//! cut at block-range boundaries, as there are no blocks yet.
//!
//! [`Head::select`] reads the series chosen by matchers over a time range,
//! decoding only the chunks whose time range overlaps it. Every sample
//! the head turns away is counted in [`HeadStats`].
//!
//! The staleness marker ([`STALE_NAN`]) is stored as an ordinary value,
//! bit for bit.

mod series;
mod stale;

use std::collections::HashMap;

use thiserror::Error;

use crate::index::{IndexError, SeriesIndex, SeriesRef};
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::ChunkError;

use series::{Appended, MemSeries};
pub use series::{ChunkMeta, SAMPLES_PER_CHUNK};
pub use stale::{is_stale, STALE_NAN, STALE_NAN_BITS};

/// A series and its samples, as [`Head::select`] returns them.
pub type SeriesSamples = (Labels, Vec<(i64, f64)>);

/// A sample the head did not take.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AppendError {
    /// The timestamp is before the series' last one.
    #[error("out of order sample: t={t} is before the series' last t={last_t}")]
    OutOfOrder {
        /// The rejected sample's timestamp.
        t: i64,
        /// The series' last timestamp.
        last_t: i64,
    },
    /// The series already has a different value at this timestamp.
    #[error("duplicate sample for timestamp {t} with a different value")]
    DuplicateTimestamp {
        /// The rejected sample's timestamp.
        t: i64,
    },
    /// A series needs at least one label (Prometheus: "empty labelset").
    #[error("empty label set")]
    EmptyLabels,
    /// The series could not be created.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The sample could not be encoded.
    #[error(transparent)]
    Chunk(#[from] ChunkError),
}

/// The head's size and its counts of accepted and rejected samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadStats {
    /// Series in the head.
    pub series: usize,
    /// Samples stored (duplicates not included).
    pub samples_appended: u64,
    /// Samples rejected as out of order.
    pub out_of_order: u64,
    /// Repeats of a series' last sample, accepted without storing anything.
    pub duplicates: u64,
    /// Samples rejected for a different value at the last timestamp.
    pub duplicate_conflicts: u64,
    /// Samples rejected for any other reason (empty label set, series
    /// references exhausted, chunk encoding).
    pub other_rejected: u64,
    /// Chunks, closed and open.
    pub chunks: u64,
    /// Encoded bytes in all chunks, 2-byte headers included.
    pub chunk_bytes: u64,
}

impl HeadStats {
    /// Encoded chunk bytes per stored sample; `None` before any sample.
    pub fn bytes_per_sample(&self) -> Option<f64> {
        (self.samples_appended > 0).then(|| self.chunk_bytes as f64 / self.samples_appended as f64)
    }
}

/// The in-memory head: series index and per-series chunks.
#[derive(Debug, Default)]
pub struct Head {
    index: SeriesIndex,
    series: HashMap<SeriesRef, MemSeries>,
    /// Counters; `series` is filled in by [`Head::stats`].
    stats: HeadStats,
}

impl Head {
    /// An empty head.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the sample `(t, v)` to the series `labels`, creating the
    /// series if new; returns the series' reference. A repeat of the
    /// series' last sample is accepted and stores nothing.
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        let result = self.try_append(labels, t, v);
        if let Err(err) = &result {
            let counter = match err {
                AppendError::OutOfOrder { .. } => &mut self.stats.out_of_order,
                AppendError::DuplicateTimestamp { .. } => &mut self.stats.duplicate_conflicts,
                AppendError::EmptyLabels | AppendError::Index(_) | AppendError::Chunk(_) => {
                    &mut self.stats.other_rejected
                }
            };
            *counter += 1;
        }
        result
    }

    fn try_append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        if labels.is_empty() {
            return Err(AppendError::EmptyLabels);
        }
        let (series_ref, _) = self.index.get_or_create(labels)?;
        match self.series.entry(series_ref).or_default().append(t, v)? {
            Appended::Stored {
                new_chunk,
                bytes_added,
            } => {
                self.stats.samples_appended += 1;
                self.stats.chunks += u64::from(new_chunk);
                self.stats.chunk_bytes += bytes_added as u64;
            }
            Appended::Duplicate => self.stats.duplicates += 1,
        }
        Ok(series_ref)
    }

    /// The head's size and counters.
    pub fn stats(&self) -> HeadStats {
        HeadStats {
            series: self.index.len(),
            ..self.stats
        }
    }

    /// The series matching every matcher with their samples in
    /// `[mint, maxt]` (both inclusive), sorted by labels; series without
    /// samples in the range are left out. Fails only if a chunk does not
    /// decode, which would be a bug in the encoder.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, ChunkError> {
        let mut out = Vec::new();
        if mint > maxt {
            return Ok(out);
        }
        for series_ref in &self.index.select(matchers) {
            let (Some(labels), Some(series)) =
                (self.index.labels(series_ref), self.series.get(&series_ref))
            else {
                continue;
            };
            let mut samples = Vec::new();
            series.samples_in(mint, maxt, &mut samples)?;
            if !samples.is_empty() {
                out.push((labels.clone(), samples));
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The chunks of a series, oldest first, the open one last; empty for
    /// an unknown series.
    pub fn chunk_metas(&self, series_ref: SeriesRef) -> Vec<ChunkMeta> {
        self.series
            .get(&series_ref)
            .map(|series| series.chunk_metas().collect())
            .unwrap_or_default()
    }

    /// The names of all labels present on some series, sorted.
    pub fn label_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.index.label_names()
    }

    /// The values label `name` takes on some series, sorted.
    pub fn label_values(&self, name: &str) -> impl Iterator<Item = &str> + '_ {
        self.index.label_values(name)
    }
}
