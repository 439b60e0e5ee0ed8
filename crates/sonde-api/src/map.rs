//! `GET /api/v1/map`: the service map over a time range.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use sonde_agent::AgentHandle;
use sonde_event::{EventFilter, EventKind, ServiceMap, Timestamp};
use sonde_store::Query as StoreQuery;

use crate::ApiError;

/// Most events one map is built from; a larger range says it was truncated.
const MAP_EVENTS_MAX: usize = 1_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapParams {
    /// RFC 3339 time or a duration ago; default one hour ago.
    pub since: Option<String>,
    pub until: Option<String>,
}

#[derive(Serialize)]
pub struct MapResponse {
    pub since: Timestamp,
    pub until: Option<Timestamp>,
    /// True when the range held more events than one map is built from.
    pub truncated: bool,
    #[serde(flatten)]
    pub map: ServiceMap,
}

pub async fn map(
    State(agent): State<AgentHandle>,
    params: Result<Query<MapParams>, QueryRejection>,
) -> Result<Json<MapResponse>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let now = Timestamp::now();
    let time = |t: &str| Timestamp::parse_relative(t, now).map_err(ApiError::BadRequest);
    let since = time(params.since.as_deref().unwrap_or("1h"))?;
    let until = params.until.as_deref().map(time).transpose()?;
    let query = StoreQuery {
        since: Some(since),
        until,
        filter: EventFilter {
            kinds: vec![EventKind::TcpConnection, EventKind::PacketDrop],
            ..EventFilter::default()
        },
        limit: Some(MAP_EVENTS_MAX),
        tail: true,
    };
    let store = agent.store().clone();
    let events = tokio::task::spawn_blocking(move || store.query(&query))
        .await
        .map_err(|e| ApiError::BadRequest(format!("query task failed: {e}")))??
        .events;
    let truncated = events.len() == MAP_EVENTS_MAX;
    Ok(Json(MapResponse {
        since,
        until,
        truncated,
        map: ServiceMap::build(&events),
    }))
}
