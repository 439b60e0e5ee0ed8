//! `GET /api/v1/profile`: CPU profiles, either taken now (`duration`) or read
//! from the continuous profiles in the store (`since`/`until`), for one
//! process, one container or every process, as JSON, folded stacks, a flame
//! graph SVG, gzipped pprof or the top functions.
//!
//! `GET /debug/pprof/profile?seconds=N` answers as Go's net/http/pprof does,
//! so `go tool pprof http://ADDR/debug/pprof/profile` works against sonde.

use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sonde_agent::profiling::{ProfileRequest, Target};
use sonde_agent::AgentHandle;
use sonde_event::{Event, EventKind, Profile, Timestamp};

use crate::{ApiError, EventsParams};

/// Samples per second of an on-demand profile unless asked otherwise.
const DEFAULT_HZ: u32 = 99;
/// Stored profiles read for one answer, at most.
const MAX_STORED: usize = 100_000;
/// Functions in a `top` answer.
const TOP: usize = 25;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileParams {
    pub pid: Option<u32>,
    /// A container id or id prefix.
    pub container: Option<String>,
    /// Take a new profile for this long (`10s`) instead of reading stored ones.
    pub duration: Option<String>,
    /// Samples per second per CPU of a new profile (1–999).
    pub hz: Option<u32>,
    /// Stored profiles: RFC 3339 time or a duration ago (`5m`).
    pub since: Option<String>,
    pub until: Option<String>,
    /// `json` (default), `folded`, `svg`, `pprof` or `top`.
    pub format: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Folded,
    Svg,
    Pprof,
    Top,
}

impl Format {
    fn parse(text: Option<&str>) -> Result<Self, ApiError> {
        Ok(match text.unwrap_or("json") {
            "json" => Format::Json,
            "folded" => Format::Folded,
            "svg" => Format::Svg,
            "pprof" => Format::Pprof,
            "top" => Format::Top,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "format: `{other}` is not one of json, folded, svg, pprof, top"
                )))
            }
        })
    }
}

pub async fn profile(
    State(agent): State<AgentHandle>,
    params: Result<Query<ProfileParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let format = Format::parse(params.format.as_deref())?;
    let target = target(&params)?;
    let (profiles, title) = match &params.duration {
        Some(duration) => {
            if params.since.is_some() || params.until.is_some() {
                return Err(ApiError::BadRequest(
                    "give `duration` (a new profile) or `since`/`until` (stored ones), not both"
                        .into(),
                ));
            }
            let request = ProfileRequest {
                target,
                duration: parse_duration("duration", duration)?,
                hz: params.hz.unwrap_or(DEFAULT_HZ),
            };
            let title = format!(
                "{} for {duration} at {} Hz",
                describe(&request.target),
                request.hz
            );
            (take(agent, request).await?, title)
        }
        None => {
            if params.hz.is_some() {
                return Err(ApiError::BadRequest(
                    "`hz` applies to a new profile: give `duration` too".into(),
                ));
            }
            let title = format!("{} (stored)", describe(&target));
            (stored(agent, &params, target).await?, title)
        }
    };
    render(&profiles, format, &title)
}

/// `/debug/pprof/profile?seconds=N`: every process, N seconds (default 30).
#[derive(Debug, Default, Deserialize)]
pub struct GoPprofParams {
    pub seconds: Option<u64>,
}

pub async fn go_pprof(
    State(agent): State<AgentHandle>,
    params: Result<Query<GoPprofParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let request = ProfileRequest {
        target: Target::All,
        duration: Duration::from_secs(params.seconds.unwrap_or(30)),
        hz: DEFAULT_HZ,
    };
    let profiles = take(agent, request).await?;
    render(&profiles, Format::Pprof, "")
}

fn target(params: &ProfileParams) -> Result<Target, ApiError> {
    match (params.pid, &params.container) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest(
            "give `pid` or `container`, not both".into(),
        )),
        (Some(pid), None) => Ok(Target::Pid(pid)),
        (None, Some(id)) if id.is_empty() => {
            Err(ApiError::BadRequest("container: empty id".into()))
        }
        (None, Some(id)) => Ok(Target::Container(id.clone())),
        (None, None) => Ok(Target::All),
    }
}

fn describe(target: &Target) -> String {
    match target {
        Target::All => "every process".into(),
        Target::Pid(pid) => format!("pid {pid}"),
        Target::Container(id) => format!("container {id}"),
    }
}

fn parse_duration(name: &str, text: &str) -> Result<Duration, ApiError> {
    humantime::parse_duration(text).map_err(|_| {
        ApiError::BadRequest(format!(
            "{name}: `{text}` is not a duration (500ms, 10s, 1m)"
        ))
    })
}

async fn take(agent: AgentHandle, request: ProfileRequest) -> Result<Vec<Profile>, ApiError> {
    tokio::task::spawn_blocking(move || agent.profile(&request))
        .await
        .map_err(|e| ApiError::Internal(format!("profile task failed: {e}")))?
        .map_err(|e| {
            if e.is_bad_request() {
                ApiError::BadRequest(e.to_string())
            } else {
                ApiError::Internal(e.to_string())
            }
        })
}

async fn stored(
    agent: AgentHandle,
    params: &ProfileParams,
    target: Target,
) -> Result<Vec<Profile>, ApiError> {
    let (pid, container) = match target {
        Target::All => (None, None),
        Target::Pid(pid) => (Some(pid), None),
        Target::Container(id) => (None, Some(id)),
    };
    // The same filter and window as `/api/v1/events?type=profile`.
    let events = EventsParams {
        since: params.since.clone(),
        until: params.until.clone(),
        kinds: Some(EventKind::Profile.as_str().into()),
        pid,
        container,
        last: Some(MAX_STORED),
        ..EventsParams::default()
    };
    let query = events.store_query(events.filter()?, Timestamp::now())?;
    let store = agent.store().clone();
    let result = tokio::task::spawn_blocking(move || store.query(&query))
        .await
        .map_err(|e| ApiError::Internal(format!("query task failed: {e}")))??;
    Ok(result
        .events
        .into_iter()
        .filter_map(|e| match e {
            Event::Profile(p) => Some(*p),
            _ => None,
        })
        .collect())
}

fn render(profiles: &[Profile], format: Format, title: &str) -> Result<Response, ApiError> {
    let with_type = |content_type: &'static str, body: Vec<u8>| {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    Ok(match format {
        Format::Json => Json(profiles).into_response(),
        Format::Top => Json(sonde_profile::top_self(profiles, TOP)).into_response(),
        Format::Folded => {
            let mut out = Vec::new();
            sonde_profile::write_folded(profiles, &mut out)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            with_type("text/plain; charset=utf-8", out)
        }
        Format::Svg => {
            let mut out = Vec::new();
            sonde_profile::write_svg(profiles, title, &mut out).map_err(|e| match e {
                sonde_profile::RenderError::Empty => {
                    ApiError::NotFound("no samples: nothing ran on the CPU for this target".into())
                }
                other => ApiError::Internal(other.to_string()),
            })?;
            with_type("image/svg+xml", out)
        }
        Format::Pprof => with_type(
            "application/octet-stream",
            sonde_profile::encode_pprof(profiles),
        ),
    })
}
