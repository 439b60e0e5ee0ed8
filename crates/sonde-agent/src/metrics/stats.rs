//! What the metrics path counted: events per derived metric, overflow,
//! samples the store refused (by reason), scrapes and their failures. Part
//! of the pipeline [`Stats`](crate::Stats), so `/metrics` and `sonde status`
//! show them, and the own-metrics flush writes them to the store.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sonde_tsdb::AppendError;

use crate::stats::{escape, write_family};

/// Why the store refused a sample.
pub const REJECT_REASONS: [&str; 5] = [
    "out_of_order",
    "duplicate_timestamp",
    "empty_labels",
    "index",
    "chunk",
];

/// One derived metric's counters.
#[derive(Debug, Default)]
pub struct DerivedCounts {
    /// Events counted into the metric (filter passed, value present).
    pub events: AtomicU64,
    /// Of those, counted into the overflow series (budget spent).
    pub overflow_events: AtomicU64,
    /// Events that passed the filter but had no usable value.
    pub skipped_no_value: AtomicU64,
    /// Cumulative reports counted whole because `max_tracked` was reached.
    pub untracked: AtomicU64,
}

#[derive(Default)]
pub struct MetricsStats {
    pub derived: Mutex<Vec<(String, Arc<DerivedCounts>)>>,
    pub flushes: AtomicU64,
    /// `Db::maintain` runs that failed (block cut, compaction, retention).
    pub maintain_failures: AtomicU64,
    pub samples_appended: AtomicU64,
    pub samples_rejected: [AtomicU64; REJECT_REASONS.len()],
    /// Scrapes per (job, instance).
    pub scrapes: Mutex<BTreeMap<(String, String), u64>>,
    /// Failed scrapes per (job, instance, reason).
    pub scrape_failures: Mutex<BTreeMap<(String, String, String), u64>>,
}

impl MetricsStats {
    pub fn count_rejected(&self, e: &AppendError) {
        let i = match e {
            AppendError::OutOfOrder { .. } => 0,
            AppendError::DuplicateTimestamp { .. } => 1,
            AppendError::EmptyLabels => 2,
            AppendError::Index(_) => 3,
            _ => 4,
        };
        self.samples_rejected[i].fetch_add(1, Relaxed);
    }

    pub fn count_scrape(&self, job: &str, instance: &str, failure: Option<&str>) {
        if let Ok(mut m) = self.scrapes.lock() {
            *m.entry((job.into(), instance.into())).or_default() += 1;
        }
        if let Some(reason) = failure {
            if let Ok(mut m) = self.scrape_failures.lock() {
                *m.entry((job.into(), instance.into(), reason.into()))
                    .or_default() += 1;
            }
        }
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let derived = self
            .derived
            .lock()
            .map(|d| {
                d.iter()
                    .map(|(name, c)| {
                        let s = DerivedSnapshot {
                            events: c.events.load(Relaxed),
                            overflow_events: c.overflow_events.load(Relaxed),
                            skipped_no_value: c.skipped_no_value.load(Relaxed),
                            untracked: c.untracked.load(Relaxed),
                        };
                        (name.clone(), s)
                    })
                    .collect()
            })
            .unwrap_or_default();
        MetricsSnapshot {
            derived,
            flushes: self.flushes.load(Relaxed),
            maintain_failures: self.maintain_failures.load(Relaxed),
            samples_appended: self.samples_appended.load(Relaxed),
            samples_rejected: REJECT_REASONS
                .iter()
                .zip(&self.samples_rejected)
                .map(|(r, n)| (r.to_string(), n.load(Relaxed)))
                .collect(),
            scrapes: self
                .scrapes
                .lock()
                .map(|m| {
                    m.iter()
                        .map(|((j, i), n)| (j.clone(), i.clone(), *n))
                        .collect()
                })
                .unwrap_or_default(),
            scrape_failures: self
                .scrape_failures
                .lock()
                .map(|m| {
                    m.iter()
                        .map(|((j, i, r), n)| (j.clone(), i.clone(), r.clone(), *n))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DerivedSnapshot {
    pub events: u64,
    pub overflow_events: u64,
    pub skipped_no_value: u64,
    pub untracked: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    pub derived: BTreeMap<String, DerivedSnapshot>,
    pub flushes: u64,
    pub maintain_failures: u64,
    pub samples_appended: u64,
    pub samples_rejected: BTreeMap<String, u64>,
    /// (job, instance, scrapes)
    pub scrapes: Vec<(String, String, u64)>,
    /// (job, instance, reason, failures)
    pub scrape_failures: Vec<(String, String, String, u64)>,
}

impl MetricsSnapshot {
    pub fn write_prometheus(&self, out: &mut String) {
        let per_metric = |f: fn(&DerivedSnapshot) -> u64| -> Vec<(String, u64)> {
            self.derived
                .iter()
                .map(|(m, s)| (format!("{{metric=\"{}\"}}", escape(m)), f(s)))
                .collect()
        };
        write_family(
            out,
            "sonde_metrics_derived_events_total",
            "counter",
            "Events counted into each derived metric.",
            &per_metric(|s| s.events),
        );
        write_family(
            out,
            "sonde_metrics_overflow_events_total",
            "counter",
            "Events counted into a derived metric's overflow series (sonde_overflow=\"true\") because its series budget was spent.",
            &per_metric(|s| s.overflow_events),
        );
        write_family(
            out,
            "sonde_metrics_skipped_events_total",
            "counter",
            "Events a derived metric's filter accepted but that had no usable value (field absent, or negative for a counter).",
            &per_metric(|s| s.skipped_no_value),
        );
        write_family(
            out,
            "sonde_metrics_untracked_reports_total",
            "counter",
            "Reports of a cumulative metric counted whole because its tracked entities were at their limit.",
            &per_metric(|s| s.untracked),
        );
        write_family(
            out,
            "sonde_metrics_flushes_total",
            "counter",
            "Flushes of derived and own metrics into the metrics store.",
            &[(String::new(), self.flushes)],
        );
        write_family(
            out,
            "sonde_metrics_maintain_failures_total",
            "counter",
            "Metrics store maintenance runs (block cut, compaction, retention) that failed.",
            &[(String::new(), self.maintain_failures)],
        );
        write_family(
            out,
            "sonde_metrics_samples_appended_total",
            "counter",
            "Samples appended to the metrics store (derived, own and scraped).",
            &[(String::new(), self.samples_appended)],
        );
        let rejected: Vec<(String, u64)> = self
            .samples_rejected
            .iter()
            .map(|(r, n)| (format!("{{reason=\"{r}\"}}"), *n))
            .collect();
        write_family(
            out,
            "sonde_metrics_samples_rejected_total",
            "counter",
            "Samples the metrics store refused, by reason.",
            &rejected,
        );
        let scrapes: Vec<(String, u64)> = self
            .scrapes
            .iter()
            .map(|(j, i, n)| {
                let labels = format!("{{job=\"{}\",instance=\"{}\"}}", escape(j), escape(i));
                (labels, *n)
            })
            .collect();
        write_family(
            out,
            "sonde_scrapes_total",
            "counter",
            "Scrapes of each target.",
            &scrapes,
        );
        let failures: Vec<(String, u64)> = self
            .scrape_failures
            .iter()
            .map(|(j, i, r, n)| {
                let labels = format!(
                    "{{job=\"{}\",instance=\"{}\",reason=\"{r}\"}}",
                    escape(j),
                    escape(i)
                );
                (labels, *n)
            })
            .collect();
        write_family(
            out,
            "sonde_scrape_failures_total",
            "counter",
            "Failed scrapes of each target, by reason (connect, status, body, parse, labels).",
            &failures,
        );
    }
}
