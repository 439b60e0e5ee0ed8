//! How metrics get into the metrics store ([`sonde_tsdb::Db`]), inside the
//! agent. Three sources, one store:
//!
//! 1. **Derived metrics** (`derive.rs`): counters and histograms declared in
//!    YAML (`config.rs`, the reference; `defaults.yaml`, the built-in set;
//!    `compile.rs` checks field paths against the event schema, `path.rs`,
//!    and compiles filters, `filter.rs`; `fields.rs` reads only the wanted
//!    fields of each event through its `Serialize` impl, without building
//!    JSON). The store writer counts every
//!    event once its batch is durable ([`MetricsHandle::observe`]), so each
//!    event is counted exactly once; series past a metric's budget fold
//!    into one `sonde_overflow="true"` series.
//! 2. **sonde's own counters** (`own.rs`): the families `/metrics` serves.
//! 3. **Scrapes** (`scrape.rs`, `exposition.rs`): Prometheus exporters.
//!
//! The thread `sonde-metrics` writes (1) and (2) every interval at the
//! flush's timestamp, like a scrape of cumulative counters; each scrape
//! target has a thread `sonde-scrape`. Every refused sample, overflow and
//! failed scrape is counted (`stats.rs`) and shown on `/metrics`.

mod compile;
mod config;
mod derive;
mod error;
pub mod exposition;
mod fields;
mod filter;
mod own;
mod path;
mod scrape;
mod sink;
pub(crate) mod stats;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sonde_event::Event;
use sonde_tsdb::Db;

pub use compile::{DEFAULTS_YAML, OVERFLOW_LABEL};
pub use config::{
    CumulativeSpec, DerivedType, MetricSpec, MetricsConfig, ScrapeConfig, StaticConfig, ValueSpec,
};
pub use derive::Deriver;
pub use error::ConfigError;
pub use scrape::{Scraper, TargetConfig};
pub use stats::{DerivedCounts, MetricsSnapshot, MetricsStats};

use crate::stats::Stats;

/// The deriver, shared between the store writer (which feeds it) and the
/// flush thread (which reads it).
#[derive(Clone)]
pub struct MetricsHandle {
    deriver: Arc<Mutex<Deriver>>,
}

impl MetricsHandle {
    /// Compiles `config` with the built-in set and registers each metric's
    /// counters in `stats`.
    pub fn new(config: &MetricsConfig, stats: &Stats) -> Result<Self, ConfigError> {
        let deriver = Deriver::new(compile::compile_all(config)?);
        if let Ok(mut d) = stats.metrics.derived.lock() {
            *d = deriver.counters();
        }
        Ok(MetricsHandle {
            deriver: Arc::new(Mutex::new(deriver)),
        })
    }

    /// Counts a batch of events (one lock per batch).
    pub fn observe(&self, events: &[Event]) {
        if let Ok(mut d) = self.deriver.lock() {
            d.observe_all(events);
        }
    }

    /// Writes the derived metrics and sonde's own at `t_ms`.
    pub fn flush(&self, db: &Db, stats: &Stats, t_ms: i64) {
        let derived = match self.deriver.lock() {
            Ok(mut d) => d.collect(t_ms),
            Err(_) => Vec::new(),
        };
        sink::write(db, &derived, &stats.metrics);
        // Counted before the own metrics are read, so they include this flush.
        stats.metrics.flushes.fetch_add(1, Relaxed);
        let (own, metadata) = own::samples(stats, t_ms);
        sink::write(db, &own, &stats.metrics);
        sink::record_metadata(db, metadata.iter().map(|(k, v)| (k.as_str(), v)));
    }

    /// Records every derived family's metadata.
    pub fn record_metadata(&self, db: &Db) {
        if let Ok(d) = self.deriver.lock() {
            let metadata = d.metadata();
            sink::record_metadata(db, metadata.iter().map(|(k, v)| (k.as_str(), v)));
        }
    }
}

/// The flush loop of `sonde-metrics`: every `interval` until `stop`, and
/// once more when stopping.
pub fn run_flusher(
    handle: MetricsHandle,
    db: Arc<Db>,
    stats: Arc<Stats>,
    interval: Duration,
    stop: Arc<AtomicBool>,
) {
    handle.record_metadata(&db);
    let mut next = Instant::now() + interval;
    let mut last_maintain = Instant::now();
    loop {
        let stopping = stop.load(Relaxed);
        if stopping || Instant::now() >= next {
            handle.flush(&db, &stats, now_ms());
            if stopping || last_maintain.elapsed() >= MAINTAIN_EVERY {
                maintain(&db, &stats);
                last_maintain = Instant::now();
            }
            next += interval;
            if Instant::now() > next {
                next = Instant::now() + interval;
            }
        }
        if stopping {
            return;
        }
        std::thread::sleep(
            Duration::from_millis(50).min(next.saturating_duration_since(Instant::now())),
        );
    }
}

/// How often the store cuts blocks, compacts and applies retention.
const MAINTAIN_EVERY: Duration = Duration::from_secs(60);

fn maintain(db: &Db, stats: &Stats) {
    match db.maintain(now_ms()) {
        Ok(report) => {
            if !report.blocks_cut.is_empty() || !report.retention_deleted.is_empty() {
                tracing::info!(
                    cut = ?report.blocks_cut,
                    compacted = ?report.compacted,
                    deleted = ?report.retention_deleted,
                    "metrics store maintained"
                );
            }
        }
        Err(e) => {
            stats.metrics.maintain_failures.fetch_add(1, Relaxed);
            tracing::error!(error = %e, "metrics store maintenance failed");
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
