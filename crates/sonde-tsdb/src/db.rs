//! [`Db`]: the store as the rest of sonde sees it — shareable between
//! threads, appended to in batches, read by matchers and time range.
//!
//! For now it holds only the in-memory head; the write-ahead log,
//! persisted blocks and retention come behind this same interface.

use std::sync::RwLock;

use crate::head::{AppendError, Head, HeadStats, SeriesSamples};
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::metadata::MetadataStore;
use crate::ChunkError;

/// One sample to append.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    pub v: f64,
}

/// What [`Db::append_batch`] did: samples that were not taken are listed
/// by their index in the batch; every other sample was appended.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub appended: usize,
    pub rejected: Vec<(usize, AppendError)>,
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Chunk(#[from] ChunkError),
}

/// The store: thread-safe, `&self` everywhere.
#[derive(Debug, Default)]
pub struct Db {
    head: RwLock<Head>,
    metadata: MetadataStore,
}

impl Db {
    /// A store held only in memory.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Appends one sample.
    pub fn append(&self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        self.head.write().expect("head lock").append(labels, t, v)?;
        Ok(())
    }

    /// Appends samples in order under one lock.
    pub fn append_batch(&self, samples: &[Sample]) -> BatchOutcome {
        let mut head = self.head.write().expect("head lock");
        let mut outcome = BatchOutcome::default();
        for (i, sample) in samples.iter().enumerate() {
            match head.append(&sample.labels, sample.t, sample.v) {
                Ok(_) => outcome.appended += 1,
                Err(err) => outcome.rejected.push((i, err)),
            }
        }
        outcome
    }

    /// Series matching every matcher, with their samples in `[mint, maxt]`,
    /// sorted by labels.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, DbError> {
        Ok(self
            .head
            .read()
            .expect("head lock")
            .select(matchers, mint, maxt)?)
    }

    /// Label sets of the series matching every matcher with a sample in
    /// `[mint, maxt]`, sorted.
    pub fn series(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, DbError> {
        Ok(self
            .select(matchers, mint, maxt)?
            .into_iter()
            .map(|(labels, _)| labels)
            .collect())
    }

    /// Label names on the series [`Db::series`] would return (all series
    /// when `matchers` is empty), sorted and unique.
    pub fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, DbError> {
        let mut names: Vec<String> = self
            .series(matchers, mint, maxt)?
            .iter()
            .flat_map(|labels| labels.iter().map(|(name, _)| name.to_owned()))
            .collect();
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }

    /// Values of label `name` on the series [`Db::series`] would return,
    /// sorted and unique.
    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, DbError> {
        let mut values: Vec<String> = self
            .series(matchers, mint, maxt)?
            .iter()
            .filter_map(|labels| labels.get(name).map(str::to_owned))
            .collect();
        values.sort_unstable();
        values.dedup();
        Ok(values)
    }

    /// Metric metadata, as written by scrapes, remote-write and sonde itself.
    pub fn metadata(&self) -> &MetadataStore {
        &self.metadata
    }

    /// The head's size and counters.
    pub fn head_stats(&self) -> HeadStats {
        self.head.read().expect("head lock").stats()
    }
}
