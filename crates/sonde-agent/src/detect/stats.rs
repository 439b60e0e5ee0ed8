//! What the detection stage counted: events evaluated and dropped, alerts by
//! rule and priority, rule loads and reload failures, webhook deliveries, and
//! the sequence rules' state.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::labelled_counter::LabelledCounter;
use crate::stats::{escape, write_family};

/// Distinct (rule, priority) series kept before overflow.
pub const ALERT_SERIES_BUDGET: usize = 500;

#[derive(Default)]
pub struct DetectStats {
    /// Events run through the rules (each durable event once).
    pub evaluated_events: AtomicU64,
    /// Rule evaluations after the `evt.type` pre-filter.
    pub rule_evaluations: AtomicU64,
    /// Events the stage could not take because its queue was full.
    pub dropped_events: AtomicU64,
    /// Alerts by (rule, priority).
    pub alerts: LabelledCounter<2, ALERT_SERIES_BUDGET>,
    /// Alerts that could not be written to the store.
    pub alerts_store_failed: AtomicU64,
    /// Rules in the running set (enabled ones).
    pub rules_loaded: AtomicU64,
    /// Successful reloads.
    pub reloads: AtomicU64,
    /// Reloads refused because the new set had errors (the old one stayed).
    pub reload_errors: AtomicU64,
    pub webhook_sent: AtomicU64,
    pub webhook_failed: AtomicU64,
    /// Alerts not sent because the webhook queue was full.
    pub webhook_dropped: AtomicU64,
    /// Per sequence rule: (fired, expired, evicted, keys tracked).
    pub sequences: Mutex<BTreeMap<String, [u64; 4]>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DetectSnapshot {
    pub evaluated_events: u64,
    pub rule_evaluations: u64,
    pub dropped_events: u64,
    pub alerts_total: u64,
    pub alerts_store_failed: u64,
    pub rules_loaded: u64,
    pub reloads: u64,
    pub reload_errors: u64,
    pub webhook_sent: u64,
    pub webhook_failed: u64,
    pub webhook_dropped: u64,
    /// (rule, priority, alerts).
    pub alerts: Vec<(String, String, u64)>,
    /// Per sequence rule: (fired, expired, evicted, keys tracked).
    pub sequences: BTreeMap<String, [u64; 4]>,
}

impl DetectStats {
    pub fn snapshot(&self) -> DetectSnapshot {
        DetectSnapshot {
            evaluated_events: self.evaluated_events.load(Relaxed),
            rule_evaluations: self.rule_evaluations.load(Relaxed),
            dropped_events: self.dropped_events.load(Relaxed),
            alerts_total: self.alerts.snapshot().0.iter().map(|(_, n)| n).sum(),
            alerts_store_failed: self.alerts_store_failed.load(Relaxed),
            rules_loaded: self.rules_loaded.load(Relaxed),
            reloads: self.reloads.load(Relaxed),
            reload_errors: self.reload_errors.load(Relaxed),
            webhook_sent: self.webhook_sent.load(Relaxed),
            webhook_failed: self.webhook_failed.load(Relaxed),
            webhook_dropped: self.webhook_dropped.load(Relaxed),
            alerts: self
                .alerts
                .snapshot()
                .0
                .into_iter()
                .map(|([rule, priority], n)| (rule, priority, n))
                .collect(),
            sequences: self.sequences.lock().map(|m| m.clone()).unwrap_or_default(),
        }
    }
}

impl DetectSnapshot {
    /// The `sonde_rules_*`, `sonde_alerts_*` families.
    pub fn write_prometheus(&self, out: &mut String) {
        let one = |n: &u64| vec![(String::new(), *n)];
        let alerts: Vec<(String, u64)> = self
            .alerts
            .iter()
            .map(|(rule, priority, n)| {
                (
                    format!("{{rule=\"{}\",priority=\"{}\"}}", escape(rule), priority),
                    *n,
                )
            })
            .collect();
        write_family(
            out,
            "sonde_alerts_total",
            "counter",
            "Alerts raised, by rule and priority.",
            &alerts,
        );
        let families: [(&str, &str, &str, &u64); 10] = [
            (
                "sonde_rules_evaluated_events_total",
                "counter",
                "Events run through the detection rules.",
                &self.evaluated_events,
            ),
            (
                "sonde_rules_evaluations_total",
                "counter",
                "Rule evaluations after the event-type pre-filter.",
                &self.rule_evaluations,
            ),
            (
                "sonde_rules_dropped_events_total",
                "counter",
                "Events the detection stage dropped because its queue was full.",
                &self.dropped_events,
            ),
            (
                "sonde_rules_loaded",
                "gauge",
                "Enabled rules in the running set.",
                &self.rules_loaded,
            ),
            (
                "sonde_rules_reloads_total",
                "counter",
                "Successful rule reloads.",
                &self.reloads,
            ),
            (
                "sonde_rules_reload_errors_total",
                "counter",
                "Rule reloads refused (the running set stayed).",
                &self.reload_errors,
            ),
            (
                "sonde_alerts_store_failed_total",
                "counter",
                "Alerts that could not be written to the store.",
                &self.alerts_store_failed,
            ),
            (
                "sonde_alert_webhook_sent_total",
                "counter",
                "Alerts delivered to the webhook.",
                &self.webhook_sent,
            ),
            (
                "sonde_alert_webhook_failed_total",
                "counter",
                "Alert deliveries to the webhook that failed.",
                &self.webhook_failed,
            ),
            (
                "sonde_alert_webhook_dropped_total",
                "counter",
                "Alerts not sent because the webhook queue was full.",
                &self.webhook_dropped,
            ),
        ];
        for (name, kind, help, v) in families {
            write_family(out, name, kind, help, &one(v));
        }
        let seq = &self.sequences;
        for (i, (name, help)) in [
            (
                "sonde_rules_sequence_fired_total",
                "Sequence rules that completed, by rule.",
            ),
            (
                "sonde_rules_sequence_expired_total",
                "Sequence keys that expired before completing, by rule.",
            ),
            (
                "sonde_rules_sequence_evicted_total",
                "Sequence keys evicted by the key budget, by rule.",
            ),
            (
                "sonde_rules_sequence_keys",
                "Sequence keys tracked, by rule.",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let samples: Vec<(String, u64)> = seq
                .iter()
                .map(|(rule, v)| (format!("{{rule=\"{}\"}}", escape(rule)), v[i]))
                .collect();
            let kind = if i == 3 { "gauge" } else { "counter" };
            write_family(out, name, kind, help, &samples);
        }
    }
}
