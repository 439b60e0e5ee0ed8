//! The agent's HTTP API: `/api/v1/status` and the `tcp_connection` events
//! of one port from `/api/v1/events`.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::Value;

use bench_support::agent::AgentClient;
use bench_support::time::rfc3339;

/// Most events the API returns for one request.
const PAGE: usize = 100_000;
/// Events are fetched in windows of this many ns (split further if full).
const WINDOW_NS: u64 = 1_000_000_000;

pub struct Api {
    client: AgentClient,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Process {
    pub pid: u32,
}

/// One `tcp_connection` event, the fields the benchmark checks.
#[derive(Debug, Clone, Deserialize)]
pub struct TcpRecord {
    pub time: String,
    pub direction: String,
    pub local: Endpoint,
    pub remote: Endpoint,
    pub process: Option<Process>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub segments_sent: u64,
    pub segments_received: u64,
    pub retransmits: u64,
    pub end: String,
    /// TCP state before the close (final) or now (interim).
    pub state: String,
}

impl TcpRecord {
    /// A final report (at close), not an interim one.
    pub fn is_final(&self) -> bool {
        self.end != "open"
    }
}

#[derive(Deserialize)]
struct Line {
    tcp_connection: Option<TcpRecord>,
}

impl Api {
    pub fn new(server: &str) -> Api {
        Api {
            client: AgentClient::new(server, Duration::from_secs(120)),
        }
    }

    pub fn status(&self) -> anyhow::Result<Value> {
        self.client.status()
    }

    /// Calls `each` for every `tcp_connection` event (final or interim) with
    /// `port` at either end and a time in `[since_ns, until_ns)`, paging by
    /// time windows. Returns the number of requests made.
    pub fn tcp_events(
        &self,
        port: u16,
        since_ns: u64,
        until_ns: u64,
        each: &mut dyn FnMut(TcpRecord),
    ) -> anyhow::Result<u64> {
        let mut requests = 0;
        let mut from = since_ns;
        while from < until_ns {
            let to = until_ns.min(from.saturating_add(WINDOW_NS));
            self.window(port, from, to, each, &mut requests)?;
            from = to;
        }
        Ok(requests)
    }

    fn window(
        &self,
        port: u16,
        since: u64,
        until: u64,
        each: &mut dyn FnMut(TcpRecord),
        requests: &mut u64,
    ) -> anyhow::Result<()> {
        let records = self.request(port, since, until)?;
        *requests += 1;
        if records.len() >= PAGE {
            if until - since <= 1 {
                bail!(
                    "more than {PAGE} events in one nanosecond at {}",
                    rfc3339(since)
                );
            }
            let mid = since + (until - since) / 2;
            self.window(port, since, mid, each, requests)?;
            return self.window(port, mid, until, each, requests);
        }
        records.into_iter().for_each(each);
        Ok(())
    }

    fn request(&self, port: u16, since: u64, until: u64) -> anyhow::Result<Vec<TcpRecord>> {
        let query = [
            ("type", "tcp_connection".to_string()),
            ("port", port.to_string()),
            ("since", rfc3339(since)),
            ("until", rfc3339(until)),
            ("limit", PAGE.to_string()),
        ];
        let mut out = Vec::new();
        for line in self.client.event_lines(&query)? {
            let parsed: Line = serde_json::from_str(&line)
                .with_context(|| format!("unexpected event line: {line}"))?;
            let record = parsed
                .tcp_connection
                .with_context(|| format!("not a tcp_connection event: {line}"))?;
            out.push(record);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_an_event_line() {
        let line = r#"{"tcp_connection":{"time":"2026-01-01T00:00:00.000000001Z","direction":"connect","local":{"ip":"127.0.0.1","port":40000},"remote":{"ip":"127.0.0.1","port":5000},"process":{"exec_id":"x","pid":7,"comm":"c","binary":"/b","container":null},"start_time":null,"duration_ns":null,"bytes_sent":1,"bytes_received":0,"segments_sent":4,"segments_received":3,"srtt_us":9,"retransmits":0,"resets_sent":0,"resets_received":0,"end":"closed","state":"LAST_ACK","netns":1}}"#;
        let parsed: super::Line = serde_json::from_str(line).unwrap();
        let r = parsed.tcp_connection.unwrap();
        assert!(r.is_final());
        assert_eq!(
            (r.local.port, r.remote.port, r.bytes_sent),
            (40000, 5000, 1)
        );
        assert_eq!(r.process.unwrap().pid, 7);
    }
}
