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
//! [`SAMPLES_PER_CHUNK`] samples and, in a head made with
//! [`Head::with_chunk_range`] (as the durable [`Db`](crate::Db) does), when
//! a sample crosses a block-range boundary, as Prometheus does, so each
//! chunk belongs to exactly one future block.
//!
//! For persisting and truncation ([`Head::chunks_in`],
//! [`Head::truncate_before`]) the head has a minimum valid time: once a
//! range is being written to a block, samples before its end are rejected
//! as [`AppendError::OutOfBounds`] (Prometheus's `ErrOutOfBounds`).
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

use crate::block::ChunkData;
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
    /// The timestamp is before the head's minimum valid time: that range
    /// is already persisted in a block.
    #[error("out of bounds: t={t} is before the head's minimum valid time {min_valid_t}")]
    OutOfBounds {
        /// The rejected sample's timestamp.
        t: i64,
        /// The head's minimum valid time.
        min_valid_t: i64,
    },
    /// The write-ahead log could not be written, so the sample was not
    /// taken (the error's text).
    #[error("write-ahead log: {0}")]
    Wal(String),
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
    /// Samples rejected as out of order, or as before the head's minimum
    /// valid time.
    pub out_of_order: u64,
    /// Repeats of a series' last sample, accepted without storing anything.
    pub duplicates: u64,
    /// Samples rejected for a different value at the last timestamp.
    pub duplicate_conflicts: u64,
    /// Samples rejected for any other reason (empty label set, series
    /// references exhausted, chunk encoding, write-ahead log failure).
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
    /// Chunks are cut at multiples of this (ms), if set.
    chunk_range: Option<i64>,
    /// Samples before this are rejected, if set.
    min_valid_t: Option<i64>,
    /// The newest timestamp ever stored.
    max_t: Option<i64>,
}

impl Head {
    /// An empty head.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty head that also cuts chunks at multiples of `range_ms`.
    pub fn with_chunk_range(range_ms: i64) -> Self {
        Self {
            chunk_range: Some(range_ms),
            ..Self::default()
        }
    }

    /// Appends the sample `(t, v)` to the series `labels`, creating the
    /// series if new; returns the series' reference. A repeat of the
    /// series' last sample is accepted and stores nothing.
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        let (series_ref, _) = self.get_or_create(labels)?;
        self.append_ref(series_ref, t, v)?;
        Ok(series_ref)
    }

    /// The reference of the series `labels`, creating it (without
    /// samples) if new; `true` when created. A failure is counted.
    pub fn get_or_create(&mut self, labels: &Labels) -> Result<(SeriesRef, bool), AppendError> {
        let result = if labels.is_empty() {
            Err(AppendError::EmptyLabels)
        } else {
            self.index.get_or_create(labels).map_err(AppendError::from)
        };
        match &result {
            Ok((series_ref, true)) => {
                self.series.insert(*series_ref, MemSeries::default());
            }
            Ok(_) => {}
            Err(err) => self.count_rejection(err),
        }
        result
    }

    /// Recreates the series `labels` under its old reference, as
    /// write-ahead log replay needs; returns the reference it got.
    pub fn restore_series(
        &mut self,
        labels: &Labels,
        series_ref: SeriesRef,
    ) -> Result<SeriesRef, AppendError> {
        if labels.is_empty() {
            return Err(AppendError::EmptyLabels);
        }
        let series_ref = self.index.create_with_ref(labels, series_ref)?;
        self.series.entry(series_ref).or_default();
        Ok(series_ref)
    }

    /// Removes the series `series_ref` if it holds no samples (undoing a
    /// creation whose logging failed); returns whether it was removed.
    pub fn remove_if_empty(&mut self, series_ref: SeriesRef) -> bool {
        if !self
            .series
            .get(&series_ref)
            .is_some_and(MemSeries::is_empty)
        {
            return false;
        }
        self.series.remove(&series_ref);
        self.index.delete(series_ref);
        true
    }

    /// Whether the series `series_ref` is in the head.
    pub fn contains(&self, series_ref: SeriesRef) -> bool {
        self.index.labels(series_ref).is_some()
    }

    /// Counts a sample turned away (by the head or by the caller).
    pub fn count_rejection(&mut self, err: &AppendError) {
        let counter = match err {
            AppendError::OutOfOrder { .. } | AppendError::OutOfBounds { .. } => {
                &mut self.stats.out_of_order
            }
            AppendError::DuplicateTimestamp { .. } => &mut self.stats.duplicate_conflicts,
            AppendError::EmptyLabels
            | AppendError::Wal(_)
            | AppendError::Index(_)
            | AppendError::Chunk(_) => &mut self.stats.other_rejected,
        };
        *counter += 1;
    }

    /// Appends `(t, v)` to the existing series `series_ref` (see
    /// [`Head::append`]). A rejection is counted.
    pub fn append_ref(&mut self, series_ref: SeriesRef, t: i64, v: f64) -> Result<(), AppendError> {
        let result = self.try_append_ref(series_ref, t, v);
        if let Err(err) = &result {
            self.count_rejection(err);
        }
        result
    }

    fn try_append_ref(&mut self, series_ref: SeriesRef, t: i64, v: f64) -> Result<(), AppendError> {
        if let Some(min_valid_t) = self.min_valid_t.filter(|&m| t < m) {
            return Err(AppendError::OutOfBounds { t, min_valid_t });
        }
        let chunk_range = self.chunk_range;
        let Some(series) = self.series.get_mut(&series_ref) else {
            // Not a series of this head: as if it had no labels.
            return Err(AppendError::EmptyLabels);
        };
        match series.append(t, v, chunk_range)? {
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
        self.max_t = Some(self.max_t.map_or(t, |m| m.max(t)));
        Ok(())
    }

    /// The oldest timestamp held, `None` when empty.
    pub fn min_time(&self) -> Option<i64> {
        self.series.values().filter_map(MemSeries::min_time).min()
    }

    /// The newest timestamp stored since the head was made, `None` before
    /// any sample.
    pub fn max_time(&self) -> Option<i64> {
        self.max_t
    }

    /// The minimum valid time, if set.
    pub fn min_valid_time(&self) -> Option<i64> {
        self.min_valid_t
    }

    /// Rejects samples before `t` from now on (never moves backwards).
    pub fn set_min_valid_time(&mut self, t: i64) {
        self.min_valid_t = Some(self.min_valid_t.map_or(t, |m| m.max(t)));
    }

    /// Copies of every series' chunks with samples in `[mint, maxt)`,
    /// sorted by labels; series with none are left out.
    pub fn chunks_in(
        &self,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<(Labels, Vec<ChunkData>)>, ChunkError> {
        let mut out = Vec::new();
        for (series_ref, series) in &self.series {
            let Some(labels) = self.index.labels(*series_ref) else {
                continue;
            };
            let chunks = series.chunks_in(mint, maxt)?;
            if !chunks.is_empty() {
                out.push((labels.clone(), chunks));
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Drops every chunk wholly before `t` and every series left without
    /// chunks (or that never had one); returns the series removed.
    pub fn truncate_before(&mut self, t: i64) -> usize {
        let mut removed = Vec::new();
        for (series_ref, series) in &mut self.series {
            let (chunks, bytes) = series.truncate_before(t);
            self.stats.chunks -= chunks;
            self.stats.chunk_bytes -= bytes;
            if series.is_empty() {
                removed.push(*series_ref);
            }
        }
        for series_ref in &removed {
            self.series.remove(series_ref);
            self.index.delete(*series_ref);
        }
        removed.len()
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

    /// The head's series index.
    pub fn index(&self) -> &SeriesIndex {
        &self.index
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
