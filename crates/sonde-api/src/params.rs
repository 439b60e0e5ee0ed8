//! The query parameters of `/api/v1/events` and `/api/v1/requests`, and the
//! filter and store query they make.

use std::net::IpAddr;

use serde::Deserialize;
use sonde_event::{EventFilter, EventKind, StatusMatch, Timestamp, Verdict};
use sonde_store::Query as StoreQuery;

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
    /// Requests whose response status is this: `5xx`, `404`, `NXDOMAIN`.
    pub status: Option<String>,
    /// Requests whose target starts with this, or matches it as a glob (`*`).
    pub path: Option<String>,
    /// Requests that took at least this long (`250ms`).
    pub min_latency: Option<String>,
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
    pub(crate) fn filter(&self) -> Result<EventFilter, ApiError> {
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
            status: self
                .status
                .as_deref()
                .map(str::parse::<StatusMatch>)
                .transpose()
                .map_err(|e| ApiError::BadRequest(e.to_string()))?,
            path: self.path.clone(),
            min_latency_ns: self.min_latency.as_deref().map(latency_ns).transpose()?,
        })
    }

    pub(crate) fn store_query(
        &self,
        filter: EventFilter,
        now: Timestamp,
    ) -> Result<StoreQuery, ApiError> {
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
    pub(crate) fn wants_stored(&self) -> bool {
        !self.follow || self.since.is_some() || self.last.is_some() || self.limit.is_some()
    }
}

fn latency_ns(text: &str) -> Result<u64, ApiError> {
    humantime::parse_duration(text)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "min_latency: `{text}` is not a duration (250ms, 1s, 1m)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(status: Option<&str>, path: Option<&str>, min_latency: Option<&str>) -> EventsParams {
        EventsParams {
            status: status.map(Into::into),
            path: path.map(Into::into),
            min_latency: min_latency.map(Into::into),
            ..EventsParams::default()
        }
    }

    fn error(result: Result<EventFilter, ApiError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn request_filters_parse() {
        let f = params(Some("5xx"), Some("/api"), Some("250ms"))
            .filter()
            .unwrap();
        assert_eq!(f.status, Some(StatusMatch::HttpClass(5)));
        assert_eq!(f.path.as_deref(), Some("/api"));
        assert_eq!(f.min_latency_ns, Some(250_000_000));
        let f = params(Some("NXDOMAIN"), None, Some("1s")).filter().unwrap();
        assert_eq!(f.status, Some(StatusMatch::DnsRcode(3)));
        assert_eq!(f.min_latency_ns, Some(1_000_000_000));
    }

    #[test]
    fn bad_request_filters_say_what_is_wrong() {
        assert!(error(params(Some("6xx"), None, None).filter())
            .starts_with("unknown status `6xx`; expected"));
        assert_eq!(
            error(params(None, None, Some("abc")).filter()),
            "min_latency: `abc` is not a duration (250ms, 1s, 1m)"
        );
    }
}
