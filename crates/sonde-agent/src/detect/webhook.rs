//! `--alert-webhook URL`: each alert POSTed as JSON (the `Alert` object, as
//! in the event schema), from its own thread behind a bounded queue, so a
//! slow or dead receiver never slows detection. Deliveries, failures (errors
//! and non-2xx answers, not retried) and alerts dropped on a full queue are
//! counted.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Sender, TrySendError};
use sonde_event::Alert;

use crate::stats::Stats;

/// Alerts waiting for delivery before new ones are dropped.
pub const QUEUE: usize = 1024;
/// Per delivery.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The sending side; dropping it (all clones) ends the thread.
#[derive(Clone)]
pub struct Webhook {
    tx: Sender<Arc<Alert>>,
    stats: Arc<Stats>,
}

impl Webhook {
    /// Starts the delivery thread.
    pub fn start(url: String, stats: Arc<Stats>) -> std::io::Result<(Webhook, JoinHandle<()>)> {
        let (tx, rx) = bounded::<Arc<Alert>>(QUEUE);
        let s = stats.clone();
        let thread = std::thread::Builder::new()
            .name("sonde-webhook".into())
            .spawn(move || {
                let http = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(TIMEOUT))
                    .user_agent(concat!("sonde/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .new_agent();
                for alert in rx {
                    let ok = serde_json::to_vec(alert.as_ref())
                        .ok()
                        .and_then(|body| {
                            http.post(&url)
                                .header("content-type", "application/json")
                                .send(&body[..])
                                .ok()
                        })
                        .is_some_and(|r| r.status().is_success());
                    if ok {
                        s.detect.webhook_sent.fetch_add(1, Relaxed);
                    } else {
                        tracing::warn!(url = %url, rule = %alert.rule, "alert webhook delivery failed");
                        s.detect.webhook_failed.fetch_add(1, Relaxed);
                    }
                }
            })?;
        Ok((Webhook { tx, stats }, thread))
    }

    /// Queues an alert; counts it as dropped when the queue is full.
    pub fn send(&self, alert: Arc<Alert>) {
        match self.tx.try_send(alert) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.detect.webhook_dropped.fetch_add(1, Relaxed);
            }
        }
    }
}
