//! Detection: every durable event through the rules, alerts as events.
//!
//! ```text
//! writer (batch durable) ─► DetectHandle::observe ─► [bounded queue, drops counted] ─► thread sonde-detect
//!   Detector::evaluate (engine.rs): lineage (lineage.rs) + EventView (fields.rs) ─► sonde_rules::Engine
//!   alerts ─► Event::Alert ─► store (append) ─► live broadcast ─► webhook (webhook.rs, own thread)
//! SIGHUP / POST /api/v1/rules/reload ─► RulesControl::reload (reload.rs) ─► swapped in before the next batch
//! ```
//!
//! Files: `fields.rs` (events as rule fields, the `evt.type` table),
//! `lineage.rs` (exec_id → process image, `proc.tree_id`), `engine.rs`
//! (the pure core), `reload.rs` (sources, load, reload), `canary.rs`
//! (honeytokens as a generated rule), `actions.rs` (`action:` checks),
//! `webhook.rs`, `stats.rs` (counters on /metrics).

pub mod actions;
pub mod canary;
pub mod engine;
pub mod fields;
pub mod lineage;
pub mod reload;
#[doc(hidden)]
pub mod sample;
pub mod stats;
pub mod webhook;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use sonde_event::{Event, Timestamp};
use sonde_store::EventStore;
use tokio::sync::broadcast;

pub use engine::Detector;
pub use reload::{load, LoadedRules, ReloadReport, RuleSources, RulesControl, RulesError};

use crate::stats::Stats;
use webhook::Webhook;

/// Event batches queued for detection before new ones are dropped (counted).
pub const QUEUE: usize = 256;

/// The writer's side: hands each durable batch to the detection thread.
#[derive(Clone)]
pub struct DetectHandle {
    tx: Option<Sender<Vec<Arc<Event>>>>,
    stats: Arc<Stats>,
}

impl DetectHandle {
    /// A handle that evaluates nothing (detection off).
    pub fn disabled(stats: Arc<Stats>) -> DetectHandle {
        DetectHandle { tx: None, stats }
    }

    /// Queues a durable batch; counts its events as dropped when the queue is full.
    pub fn observe(&self, batch: &[Arc<Event>]) {
        let Some(tx) = &self.tx else { return };
        let batch: Vec<Arc<Event>> = batch
            .iter()
            .filter(|e| {
                !matches!(
                    e.as_ref(),
                    Event::Alert(_) | Event::Profile(_) | Event::Enforcement(_)
                )
            })
            .cloned()
            .collect();
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = tx.try_send(batch) {
            self.stats.detect.dropped_events.fetch_add(n, Relaxed);
        }
    }
}

/// Where alerts go.
pub struct AlertSinks {
    pub store: Arc<dyn EventStore>,
    pub live: broadcast::Sender<Arc<Event>>,
    pub webhook: Option<Webhook>,
}

/// Starts the detection thread (and the webhook's, if configured).
pub fn start(
    loaded: LoadedRules,
    control: Arc<RulesControl>,
    sinks: AlertSinks,
    stats: Arc<Stats>,
) -> std::io::Result<(DetectHandle, std::thread::JoinHandle<()>)> {
    let (tx, rx) = bounded(QUEUE);
    let detector = Detector::new(loaded, fields::Users::load());
    let s = stats.clone();
    let thread = std::thread::Builder::new()
        .name("sonde-detect".into())
        .spawn(move || run(detector, control, rx, sinks, s))?;
    Ok((
        DetectHandle {
            tx: Some(tx),
            stats,
        },
        thread,
    ))
}

fn run(
    mut detector: Detector,
    control: Arc<RulesControl>,
    rx: Receiver<Vec<Arc<Event>>>,
    sinks: AlertSinks,
    stats: Arc<Stats>,
) {
    let mut last_maintain = std::time::Instant::now();
    loop {
        let received = rx.recv_timeout(Duration::from_millis(100));
        // After the wait: a set reloaded while it lasted applies to the
        // batch that ended it.
        if let Some(new) = control.take_pending() {
            detector.replace(new);
        }
        match received {
            Ok(batch) => {
                let mut alerts = Vec::new();
                for event in &batch {
                    alerts.extend(detector.evaluate(event, &stats.detect));
                }
                publish(alerts, &sinks, &stats);
            }
            // The writer drops its handle when it ends, after its last batch.
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if last_maintain.elapsed() >= Duration::from_secs(1) {
            detector.maintain(Timestamp::now().0, &stats.detect);
            last_maintain = std::time::Instant::now();
        }
    }
}

/// Stores the alerts (one transaction), then publishes them live and to the webhook.
fn publish(alerts: Vec<Event>, sinks: &AlertSinks, stats: &Stats) {
    if alerts.is_empty() {
        return;
    }
    match sinks.store.append(&alerts) {
        Ok(report) => {
            stats.stored_events.fetch_add(report.events as u64, Relaxed);
            stats.stored_bytes.fetch_add(report.bytes, Relaxed);
        }
        Err(e) => {
            tracing::error!(error = %e, alerts = alerts.len(), "alert store write failed");
            stats
                .detect
                .alerts_store_failed
                .fetch_add(alerts.len() as u64, Relaxed);
        }
    }
    for alert in alerts {
        if let (Some(w), Event::Alert(a)) = (&sinks.webhook, &alert) {
            w.send(Arc::new(a.as_ref().clone()));
        }
        let _ = sinks.live.send(Arc::new(alert));
    }
}

#[cfg(test)]
mod tests;
