//! Stage 3: writes events to the store in batches, then publishes them to
//! live subscribers. An event is published only once it is durable (or its
//! write has failed and been counted), so `--follow` never shows an event
//! that a crash could take back.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use sonde_event::{Event, Timestamp};
use sonde_store::{EventStore, Retention};
use tokio::sync::broadcast;

use crate::detect::DetectHandle;
use crate::metrics::MetricsHandle;
use crate::stats::Stats;

pub struct WriterConfig {
    pub batch_max: usize,
    pub batch_wait: Duration,
    pub retention: Retention,
    pub retention_every: Duration,
}

pub fn run(
    config: WriterConfig,
    store: Arc<dyn EventStore>,
    events: Receiver<Vec<Event>>,
    live: broadcast::Sender<Arc<Event>>,
    metrics: MetricsHandle,
    detect: DetectHandle,
    stats: Arc<Stats>,
) {
    let mut last_retention = Instant::now();
    let mut batch = Vec::with_capacity(config.batch_max);
    loop {
        let open = fill_batch(&events, &mut batch, &config);
        if !batch.is_empty() {
            write(store.as_ref(), &batch, &stats);
            // Every event once, after its batch is durable (or counted as failed).
            metrics.observe(&batch);
            let durable: Vec<Arc<Event>> = batch.drain(..).map(Arc::new).collect();
            // Every event once, to the rules (they run on their own thread).
            detect.observe(&durable);
            for event in durable {
                // No subscribers is not an error.
                let _ = live.send(event);
            }
        }
        if last_retention.elapsed() >= config.retention_every {
            apply_retention(store.as_ref(), &config.retention, &stats);
            last_retention = Instant::now();
        }
        if !open {
            return;
        }
    }
}

/// Waits for a first batch, then gathers more for up to `batch_wait` or
/// until `batch_max` events. Returns false once the queue is closed and
/// drained.
fn fill_batch(
    events: &Receiver<Vec<Event>>,
    batch: &mut Vec<Event>,
    config: &WriterConfig,
) -> bool {
    match events.recv_timeout(config.batch_wait) {
        Ok(more) => batch.extend(more),
        Err(RecvTimeoutError::Timeout) => return true,
        Err(RecvTimeoutError::Disconnected) => return false,
    }
    let deadline = Instant::now() + config.batch_wait;
    while batch.len() < config.batch_max {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(more) => batch.extend(more),
            Err(RecvTimeoutError::Timeout) => break,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
    true
}

fn write(store: &dyn EventStore, batch: &[Event], stats: &Stats) {
    match store.append(batch) {
        Ok(report) => {
            stats.stored_events.fetch_add(report.events as u64, Relaxed);
            stats.stored_bytes.fetch_add(report.bytes, Relaxed);
        }
        Err(e) => {
            tracing::error!(error = %e, events = batch.len(), "event store write failed");
            stats
                .store_failed_events
                .fetch_add(batch.len() as u64, Relaxed);
        }
    }
}

pub fn apply_retention(store: &dyn EventStore, retention: &Retention, stats: &Stats) {
    match store.apply_retention(retention, Timestamp::now()) {
        Ok(report) => {
            stats
                .retention_deleted_events
                .fetch_add(report.deleted_events, Relaxed);
        }
        Err(e) => tracing::error!(error = %e, "retention failed"),
    }
}
