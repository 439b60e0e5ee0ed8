//! `GET /api/v1/events`: stored events, optionally followed by live ones,
//! as JSON lines (`application/x-ndjson`). `GET /api/v1/requests` is the
//! same, for request events only.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::Response;
use sonde_agent::AgentHandle;
use sonde_event::{Event, EventFilter, EventKind, Timestamp};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::{ApiError, EventsParams};

pub async fn events(
    State(agent): State<AgentHandle>,
    params: Result<Query<EventsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    stream(agent, params).await
}

pub async fn requests(
    State(agent): State<AgentHandle>,
    params: Result<Query<EventsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(mut params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    if params.kinds.is_some() {
        return Err(ApiError::BadRequest(
            "`type` is not a parameter of /api/v1/requests; use /api/v1/events".into(),
        ));
    }
    params.kinds = Some(EventKind::Request.as_str().into());
    stream(agent, params).await
}

async fn stream(agent: AgentHandle, params: EventsParams) -> Result<Response, ApiError> {
    stream_with(agent, params, Arc::new(|_: &Event| true)).await
}

/// Events the store filter cannot express (e.g. an alert's rule), kept or not.
pub(crate) type Keep = Arc<dyn Fn(&Event) -> bool + Send + Sync>;

/// [`stream`], keeping only the events `keep` accepts (stored and live).
pub(crate) async fn stream_with(
    agent: AgentHandle,
    params: EventsParams,
    keep: Keep,
) -> Result<Response, ApiError> {
    let filter = params.filter()?;
    let query = params.store_query(filter.clone(), Timestamp::now())?;
    // Subscribe before reading the store, so nothing falls between the two.
    let live = params.follow.then(|| agent.subscribe());
    let stored = if params.wants_stored() {
        let store = agent.store().clone();
        tokio::task::spawn_blocking(move || store.query(&query))
            .await
            .map_err(|e| ApiError::BadRequest(format!("query task failed: {e}")))??
            .events
    } else {
        Vec::new()
    };
    let stored: Vec<Event> = stored.into_iter().filter(|e| keep(e)).collect();

    let (tx, rx) = mpsc::channel::<Result<String, std::io::Error>>(256);
    tokio::spawn(async move {
        // Events published while the store was read may be in both.
        let seen: HashSet<Identity> = stored.iter().map(identity).collect();
        for event in &stored {
            if tx.send(Ok(json_line(event))).await.is_err() {
                return;
            }
        }
        if let Some(live) = live {
            follow(live, filter, keep, seen, tx, agent).await;
        }
    });
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from_stream(ReceiverStream::new(rx)))
        .expect("static response parts are valid"))
}

async fn follow(
    mut live: broadcast::Receiver<Arc<Event>>,
    filter: EventFilter,
    keep: Keep,
    seen: HashSet<Identity>,
    tx: mpsc::Sender<Result<String, std::io::Error>>,
    agent: AgentHandle,
) {
    loop {
        let event = tokio::select! {
            received = live.recv() => received,
            () = tx.closed() => return,
        };
        match event {
            Ok(event)
                if filter.matches(&event) && keep(&event) && !seen.contains(&identity(&event)) =>
            {
                if tx.send(Ok(json_line(&event))).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(missed)) => agent.count_lagged(missed),
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// What tells two events apart when the same one may arrive twice: the
/// time to the nanosecond, the type, the process, and the ports.
type Identity = (u64, EventKind, u32, u16, u16);

fn identity(event: &Event) -> Identity {
    let ports = match event {
        Event::TcpConnection(c) => (c.local.port, c.remote.port),
        Event::PacketDrop(d) => (
            d.source.map_or(0, |e| e.port),
            d.destination.map_or(0, |e| e.port),
        ),
        Event::UdpFlow(u) => (u.local.port, u.remote.port),
        Event::Request(r) => (r.client.port, r.server.port),
        Event::ProcessExec(_)
        | Event::ProcessExit(_)
        | Event::Profile(_)
        | Event::File(_)
        | Event::Security(_)
        | Event::Alert(_) => (0, 0),
        Event::Enforcement(e) => (0, e.destination.map_or(0, |d| d.port)),
        Event::Listen(l) => (l.local.port, 0),
    };
    (
        event.time().0,
        event.kind(),
        event.pid().unwrap_or(0),
        ports.0,
        ports.1,
    )
}

fn json_line(event: &Event) -> String {
    let mut line = serde_json::to_string(event).expect("events always serialize");
    line.push('\n');
    line
}
