//! `GET /api/v1/alerts`: stored alerts, optionally followed by live ones, as
//! JSON lines; `POST /api/v1/rules/reload`: reload the detection rules.
//!
//! Alerts are events of kind `alert`, so this is `/api/v1/events?type=alert`
//! with two filters of its own: `priority` (that priority or more severe)
//! and `rule` (the rule's exact name). Those two apply after the store's
//! `limit`/`last`, so a limited answer may hold fewer alerts.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sonde_agent::AgentHandle;
use sonde_event::{AlertPriority, Event, EventKind};

use crate::events::stream_with;
use crate::{ApiError, EventsParams};

/// Query parameters, as `sonde alerts` sends them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsParams {
    /// RFC 3339 time or a duration ago (`5m`).
    pub since: Option<String>,
    pub until: Option<String>,
    /// This priority or more severe (`WARNING` keeps WARNING … EMERGENCY).
    pub priority: Option<String>,
    /// The rule's exact name.
    pub rule: Option<String>,
    pub limit: Option<usize>,
    pub last: Option<usize>,
    #[serde(default)]
    pub follow: bool,
}

pub async fn alerts(
    State(agent): State<AgentHandle>,
    params: Result<Query<AlertsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let priority = p
        .priority
        .as_deref()
        .map(str::parse::<AlertPriority>)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let rule = p.rule.clone();
    let events = EventsParams {
        since: p.since,
        until: p.until,
        kinds: Some(EventKind::Alert.as_str().into()),
        limit: p.limit,
        last: p.last,
        follow: p.follow,
        ..EventsParams::default()
    };
    let keep = Arc::new(move |e: &Event| match e {
        Event::Alert(a) => {
            priority.is_none_or(|p| a.priority <= p) && rule.as_deref().is_none_or(|r| a.rule == r)
        }
        _ => false,
    });
    stream_with(agent, events, keep).await
}

/// `POST /api/v1/rules/reload`: 200 with the new set's counts, or 400 with
/// every load error (`file:line:col: message`); on error the running rules stay.
pub async fn reload(State(agent): State<AgentHandle>) -> Result<Response, ApiError> {
    let result = tokio::task::spawn_blocking(move || agent.reload_rules())
        .await
        .map_err(|e| ApiError::Internal(format!("reload task failed: {e}")))?;
    match result {
        Ok(report) => Ok(Json(report).into_response()),
        Err(e) => Err(ApiError::BadRequest(format!(
            "rules not reloaded (the running rules stay):\n{e}"
        ))),
    }
}
