//! Appending: series are resolved (and created) in the head, the batch is
//! logged to the WAL in one write, then its samples go into the head, all
//! under one head lock so the WAL's order is the head's order.
//!
//! Samples before the head's minimum valid time are turned away before
//! logging. Other rejections (out of order, duplicate timestamp) are
//! decided by the head after logging; replay decides them again the same
//! way. If the WAL write fails, the batch's samples are rejected with
//! [`AppendError::Wal`] and the head is left without them or the series
//! the batch created.

use crate::db::{BatchOutcome, Db, Sample};
use crate::head::AppendError;
use crate::index::SeriesRef;
use crate::labels::Labels;
use crate::wal::record::RefSample;

impl Db {
    /// Appends one sample.
    pub fn append(&self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        if self.disk.is_none() {
            self.head.write().expect("head lock").append(labels, t, v)?;
            return Ok(());
        }
        match self
            .append_items(std::iter::once((labels, t, v)))
            .rejected
            .pop()
        {
            Some((_, err)) => Err(err),
            None => Ok(()),
        }
    }

    /// Appends samples in order under one lock.
    pub fn append_batch(&self, samples: &[Sample]) -> BatchOutcome {
        if self.disk.is_none() {
            let mut head = self.head.write().expect("head lock");
            let mut outcome = BatchOutcome::default();
            for (i, sample) in samples.iter().enumerate() {
                match head.append(&sample.labels, sample.t, sample.v) {
                    Ok(_) => outcome.appended += 1,
                    Err(err) => outcome.rejected.push((i, err)),
                }
            }
            return outcome;
        }
        self.append_items(samples.iter().map(|s| (&s.labels, s.t, s.v)))
    }

    /// The durable append path.
    fn append_items<'a>(
        &self,
        items: impl Iterator<Item = (&'a Labels, i64, f64)>,
    ) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        let mut head = self.head.write().expect("head lock");
        let min_valid_t = head.min_valid_time();
        let mut new_series: Vec<(SeriesRef, &Labels)> = Vec::new();
        let mut pending: Vec<usize> = Vec::new();
        let mut logged: Vec<RefSample> = Vec::new();
        for (i, (labels, t, v)) in items.enumerate() {
            if let Some(min_valid_t) = min_valid_t.filter(|&m| t < m) {
                let err = AppendError::OutOfBounds { t, min_valid_t };
                head.count_rejection(&err);
                outcome.rejected.push((i, err));
                continue;
            }
            match head.get_or_create(labels) {
                Ok((series_ref, created)) => {
                    if created {
                        new_series.push((series_ref, labels));
                    }
                    pending.push(i);
                    logged.push(RefSample { series_ref, t, v });
                }
                Err(err) => outcome.rejected.push((i, err)),
            }
        }
        let Some(disk) = &self.disk else {
            return outcome;
        };
        let written = disk
            .wal
            .lock()
            .expect("wal lock")
            .log_batch(&new_series, &logged);
        if let Err(io) = written {
            disk.counters
                .wal_write_errors
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // The series records were not logged: undo the creations, so
            // that a later batch logs them again.
            for (series_ref, _) in &new_series {
                head.remove_if_empty(*series_ref);
            }
            let err = AppendError::Wal(io.to_string());
            for i in pending {
                head.count_rejection(&err);
                outcome.rejected.push((i, err.clone()));
            }
        } else {
            for (i, s) in pending.into_iter().zip(&logged) {
                match head.append_ref(s.series_ref, s.t, s.v) {
                    Ok(()) => outcome.appended += 1,
                    Err(err) => outcome.rejected.push((i, err)),
                }
            }
        }
        drop(head);
        outcome.rejected.sort_unstable_by_key(|(i, _)| *i);
        outcome
    }
}
