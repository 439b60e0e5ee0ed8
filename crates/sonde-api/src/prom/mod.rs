//! Prometheus's HTTP API over sonde's metrics store, so that Grafana,
//! `promtool` and anything else that speaks it can read sonde, and
//! Prometheus's remote write can feed it.
//!
//! - `GET|POST /api/v1/query`, `/api/v1/query_range` — PromQL ([`query`])
//! - `GET|POST /api/v1/series`, `/api/v1/labels`,
//!   `GET /api/v1/label/{name}/values` — the index ([`series`], [`labels`])
//! - `GET /api/v1/metadata` — type, help, unit ([`metadata`])
//! - `GET /api/v1/status/buildinfo` ([`buildinfo`])
//! - `POST /api/v1/write` — the remote-write receiver ([`remote_write`])
//!
//! Parameters are read as Prometheus reads them ([`params`]), `match[]`
//! selectors parsed by [`selector`], and every answer goes through the
//! envelope of [`envelope`], the one place errors become HTTP statuses.
//! Queries and store reads run on tokio's blocking pool.

mod buildinfo;
pub mod envelope;
mod labels;
mod metadata;
pub mod params;
pub mod query;
pub mod remote_write;
mod selector;
mod series;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use sonde_promql::Engine;
use sonde_tsdb::{Db, Labels};

pub use envelope::PromError;
pub use remote_write::WriteStats;

/// What every handler shares.
#[derive(Clone)]
pub struct PromState {
    pub db: Arc<Db>,
    pub engine: Arc<Engine>,
    pub writes: Arc<WriteStats>,
}

/// The Prometheus API over `db`, queried with `engine`.
pub fn router(db: Arc<Db>, engine: Arc<Engine>) -> Router {
    router_with_stats(db, engine, Arc::default())
}

/// [`router`], counting remote writes into `writes`.
pub fn router_with_stats(db: Arc<Db>, engine: Arc<Engine>, writes: Arc<WriteStats>) -> Router {
    Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route("/api/v1/series", get(series::series).post(series::series))
        .route("/api/v1/labels", get(labels::names).post(labels::names))
        .route("/api/v1/label/{name}/values", get(labels::values))
        .route("/api/v1/metadata", get(metadata::metadata))
        .route("/api/v1/status/buildinfo", get(buildinfo::buildinfo))
        .route(
            "/api/v1/write",
            post(remote_write::write).layer(DefaultBodyLimit::max(remote_write::MAX_BODY_BYTES)),
        )
        .with_state(PromState { db, engine, writes })
}

/// Runs store work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, PromError> + Send + 'static,
) -> Result<T, PromError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| PromError::Internal(format!("task failed: {e}")))?
}

/// A label set as a JSON object, in label order.
fn json_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, name);
        out.push(':');
        json_str(out, value);
    }
    out.push('}');
}

/// A JSON string literal.
fn json_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}
