//! The agent's HTTP API: `/api/v1/status` and `/api/v1/events`.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

use bench_support::agent::AgentClient;
use bench_support::time::rfc3339;

/// Most events the API returns for one request.
const PAGE: u64 = 100_000;
/// Events are counted in windows of this many ns (split further if full).
const WINDOW_NS: u64 = 1_000_000_000;

pub struct Api {
    client: AgentClient,
}

/// The exec events of one binary in a time range.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExecCount {
    /// Distinct exec events of the binary.
    pub recorded: u64,
    /// Events seen twice (same time and pid).
    pub duplicates: u64,
    /// Lines the API returned that were not exec events of the binary.
    pub foreign: u64,
    pub requests: u64,
}

impl Api {
    pub fn new(server: &str) -> Api {
        Api {
            client: AgentClient::new(server, Duration::from_secs(60)),
        }
    }

    pub fn status(&self) -> anyhow::Result<Value> {
        self.client.status()
    }

    /// Counts exactly the exec events whose `process.binary` is `binary`,
    /// with times in `[since_ns, until_ns)`, paging by time.
    pub fn count_execs(
        &self,
        binary: &str,
        since_ns: u64,
        until_ns: u64,
    ) -> anyhow::Result<ExecCount> {
        let mut count = ExecCount::default();
        let mut seen = HashSet::new();
        let mut from = since_ns;
        while from < until_ns {
            let to = until_ns.min(from.saturating_add(WINDOW_NS));
            self.count_window(binary, from, to, &mut seen, &mut count)?;
            from = to;
        }
        Ok(count)
    }

    fn count_window(
        &self,
        binary: &str,
        since: u64,
        until: u64,
        seen: &mut HashSet<(String, u64)>,
        count: &mut ExecCount,
    ) -> anyhow::Result<()> {
        let lines = self.events(binary, since, until)?;
        count.requests += 1;
        if lines.len() as u64 >= PAGE {
            if until - since <= 1 {
                bail!(
                    "more than {PAGE} exec events in one nanosecond at {}",
                    rfc3339(since)
                );
            }
            let mid = since + (until - since) / 2;
            self.count_window(binary, since, mid, seen, count)?;
            return self.count_window(binary, mid, until, seen, count);
        }
        for line in lines {
            match line {
                None => count.foreign += 1,
                Some(key) => {
                    if seen.insert(key) {
                        count.recorded += 1;
                    } else {
                        count.duplicates += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// One request: per event line, its (time, pid) if it is an exec of
    /// `binary`, else `None`.
    fn events(
        &self,
        binary: &str,
        since: u64,
        until: u64,
    ) -> anyhow::Result<Vec<Option<(String, u64)>>> {
        let query = [
            ("type", "process_exec".to_string()),
            ("binary", binary.to_string()),
            ("since", rfc3339(since)),
            ("until", rfc3339(until)),
            ("limit", PAGE.to_string()),
        ];
        let mut out = Vec::new();
        for line in self.client.event_lines(&query)? {
            let event: Value = serde_json::from_str(&line).context("an event line is not JSON")?;
            let exec = &event["process_exec"];
            let process = &exec["process"];
            out.push((process["binary"].as_str() == Some(binary)).then(|| {
                let time = exec["time"].as_str().unwrap_or_default().to_string();
                (time, process["pid"].as_u64().unwrap_or_default())
            }));
        }
        Ok(out)
    }
}

impl Api {
    /// Exec events of `binary` in `[since_ns, until_ns)`, from one request
    /// (so at most one page).
    pub fn count_execs_once(
        &self,
        binary: &str,
        since_ns: u64,
        until_ns: u64,
    ) -> anyhow::Result<u64> {
        let lines = self.events(binary, since_ns, until_ns)?;
        Ok(lines.iter().filter(|l| l.is_some()).count() as u64)
    }
}
