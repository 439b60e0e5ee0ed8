//! `GET /api/v1/events`: stored events, optionally followed by live ones,
//! as JSON lines (`application/x-ndjson`).

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::Response;
use serde::Deserialize;
use sonde_agent::AgentHandle;
use std::net::IpAddr;

use sonde_event::{Event, EventFilter, EventKind, Timestamp, Verdict};
use sonde_store::Query as StoreQuery;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::ApiError;

/// Query parameters, as `sonde events` sends them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsParams {
    /// RFC 3339 time or a duration ago (`5m`).
    pub since: Option<String>,
    pub until: Option<String>,
    /// Comma-separated event types (`process_exec,process_exit` or `exec,exit`).
    #[serde(rename = "type")]
    pub kinds: Option<String>,
    pub pid: Option<u32>,
    pub binary: Option<String>,
    pub comm: Option<String>,
    pub container: Option<String>,
    pub exec_id: Option<String>,
    /// Either end's address.
    pub ip: Option<String>,
    /// Client (connections) or source (drops) address.
    pub from_ip: Option<String>,
    /// Server (connections) or destination (drops) address.
    pub to_ip: Option<String>,
    pub port: Option<u16>,
    pub protocol: Option<String>,
    /// `forwarded` or `dropped`.
    pub verdict: Option<String>,
    pub drop_reason: Option<String>,
    /// The first N matches.
    pub limit: Option<usize>,
    /// The last N matches.
    pub last: Option<usize>,
    /// Keep the response open and stream live events after the stored ones.
    #[serde(default)]
    pub follow: bool,
}

/// Most events one non-follow request returns.
const MAX_EVENTS: usize = 100_000;

impl EventsParams {
    fn filter(&self) -> Result<EventFilter, ApiError> {
        let kinds = match &self.kinds {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .filter(|k| !k.is_empty())
                .map(|k| k.parse::<EventKind>().map_err(ApiError::BadRequest))
                .collect::<Result<_, _>>()?,
        };
        let ip = |name: &str, text: &Option<String>| {
            text.as_deref()
                .map(|t| {
                    t.parse::<IpAddr>().map_err(|_| {
                        ApiError::BadRequest(format!("{name}: `{t}` is not an IP address"))
                    })
                })
                .transpose()
        };
        Ok(EventFilter {
            kinds,
            pid: self.pid,
            binary: self.binary.clone(),
            comm: self.comm.clone(),
            container: self.container.clone(),
            exec_id: self.exec_id.clone(),
            ip: ip("ip", &self.ip)?,
            from_ip: ip("from_ip", &self.from_ip)?,
            to_ip: ip("to_ip", &self.to_ip)?,
            port: self.port,
            protocol: self.protocol.clone(),
            verdict: self
                .verdict
                .as_deref()
                .map(str::parse::<Verdict>)
                .transpose()
                .map_err(ApiError::BadRequest)?,
            drop_reason: self.drop_reason.clone(),
        })
    }

    fn store_query(&self, filter: EventFilter, now: Timestamp) -> Result<StoreQuery, ApiError> {
        let time = |t: &Option<String>| {
            t.as_deref()
                .map(|t| Timestamp::parse_relative(t, now).map_err(ApiError::BadRequest))
                .transpose()
        };
        if self.limit.is_some() && self.last.is_some() {
            return Err(ApiError::BadRequest(
                "give `limit` or `last`, not both".into(),
            ));
        }
        let n = self.last.or(self.limit).unwrap_or(MAX_EVENTS);
        if n > MAX_EVENTS {
            return Err(ApiError::BadRequest(format!(
                "at most {MAX_EVENTS} events per request"
            )));
        }
        Ok(StoreQuery {
            since: time(&self.since)?,
            until: time(&self.until)?,
            filter,
            limit: Some(n),
            tail: self.last.is_some(),
        })
    }

    /// A follow with no starting point shows only what happens from now on.
    fn wants_stored(&self) -> bool {
        !self.follow || self.since.is_some() || self.last.is_some() || self.limit.is_some()
    }
}

pub async fn events(
    State(agent): State<AgentHandle>,
    params: Result<Query<EventsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
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
            follow(live, filter, seen, tx, agent).await;
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
            Ok(event) if filter.matches(&event) && !seen.contains(&identity(&event)) => {
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
        Event::ProcessExec(_) | Event::ProcessExit(_) => (0, 0),
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
