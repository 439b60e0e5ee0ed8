//! sonde's HTTP API, bound to loopback by default:
//!
//! - `GET /api/v1/events` — stored and live events as JSON lines
//! - `GET /api/v1/requests` — the same, for request events only
//! - `GET /api/v1/alerts` — stored and live alerts as JSON lines
//! - `POST /api/v1/rules/reload` — reload the detection rules and the
//!   enforcement policy file
//! - `GET /api/v1/enforce/policies` — the enforcement policies running now
//! - `GET /api/v1/map` — the service map over a time range
//! - `GET /api/v1/status` — collectors, pipeline counters, store size
//! - `GET /metrics` — the same counters in Prometheus text format
//! - `/api/v1/query`, `/api/v1/query_range`, `/api/v1/series`,
//!   `/api/v1/labels`, `/api/v1/label/{name}/values`, `/api/v1/metadata`,
//!   `/api/v1/status/buildinfo`, `POST /api/v1/write` — Prometheus's API
//!   over the metrics store (`prom/`)

mod alerts;
mod enforce;
mod error;
mod events;
mod map;
mod params;
mod profile;
pub mod prom;

pub use error::ApiError;
pub use params::EventsParams;

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Json, Router};
use sonde_agent::AgentHandle;

pub fn router(agent: AgentHandle) -> Router {
    let writes = Arc::new(prom::WriteStats::default());
    let engine = Arc::new(sonde_promql::Engine::new(
        sonde_promql::EngineOptions::default(),
    ));
    let prom = prom::router_with_stats(agent.metrics().clone(), engine, writes.clone());
    Router::new()
        .route("/api/v1/events", get(events::events))
        .route("/api/v1/requests", get(events::requests))
        .route("/api/v1/alerts", get(alerts::alerts))
        .route("/api/v1/rules/reload", axum::routing::post(alerts::reload))
        .route("/api/v1/enforce/policies", get(enforce::policies))
        .route("/api/v1/map", get(map::map))
        .route("/api/v1/profile", get(profile::profile))
        .route("/debug/pprof/profile", get(profile::go_pprof))
        .route("/api/v1/status", get(status))
        .route("/metrics", get(metrics))
        .layer(Extension(writes))
        .with_state(agent)
        .merge(prom)
}

/// Serves the API until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    agent: AgentHandle,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(agent))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn status(State(agent): State<AgentHandle>) -> impl IntoResponse {
    let status = tokio::task::spawn_blocking(move || agent.status()).await;
    match status {
        Ok(status) => Json(status).into_response(),
        Err(e) => ApiError::BadRequest(format!("status task failed: {e}")).into_response(),
    }
}

async fn metrics(
    State(agent): State<AgentHandle>,
    Extension(writes): Extension<Arc<prom::WriteStats>>,
) -> impl IntoResponse {
    let status = tokio::task::spawn_blocking(move || agent.status()).await;
    let text = match status {
        Ok(status) => {
            let mut text = status.pipeline.to_prometheus();
            if let Some(store) = status.store {
                text.push_str(&store_metrics(&store));
            }
            text.push_str(&writes.to_prometheus());
            text
        }
        Err(e) => format!("# status task failed: {e}\n"),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

fn store_metrics(store: &sonde_store::StoreStats) -> String {
    let mut out = String::from(
        "# HELP sonde_store_events Events held in the event store.\n# TYPE sonde_store_events gauge\n",
    );
    for kind in &store.per_kind {
        out.push_str(&format!(
            "sonde_store_events{{type=\"{}\"}} {}\n",
            kind.kind, kind.events
        ));
    }
    out.push_str("# HELP sonde_store_bytes Encoded bytes held in the event store.\n# TYPE sonde_store_bytes gauge\n");
    for kind in &store.per_kind {
        out.push_str(&format!(
            "sonde_store_bytes{{type=\"{}\"}} {}\n",
            kind.kind, kind.bytes
        ));
    }
    out.push_str(&format!(
        "# HELP sonde_store_file_bytes Size of the event store file.\n# TYPE sonde_store_file_bytes gauge\nsonde_store_file_bytes {}\n",
        store.file_bytes
    ));
    out
}
