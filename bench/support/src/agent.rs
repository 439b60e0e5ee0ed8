//! A running agent's HTTP API, as the benchmarks use it.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

pub struct AgentClient {
    agent: ureq::Agent,
    base: String,
}

impl AgentClient {
    /// `server` is `127.0.0.1:7411` or a URL.
    pub fn new(server: &str, timeout: Duration) -> AgentClient {
        let base = if server.contains("://") {
            server.to_string()
        } else {
            format!("http://{server}")
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .build()
            .new_agent();
        AgentClient {
            agent,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// `GET /api/v1/status`.
    pub fn status(&self) -> anyhow::Result<Value> {
        let url = format!("{}/api/v1/status", self.base);
        let mut response = self
            .agent
            .get(&url)
            .call()
            .with_context(|| format!("GET {url}"))?;
        let body = response.body_mut().read_to_string()?;
        serde_json::from_str(&body).with_context(|| format!("GET {url}: not JSON"))
    }

    /// The non-empty lines of `GET /api/v1/events` with `query`.
    pub fn event_lines(&self, query: &[(&str, String)]) -> anyhow::Result<Vec<String>> {
        let url = format!("{}/api/v1/events", self.base);
        let mut request = self.agent.get(&url);
        for (key, value) in query {
            request = request.query(*key, value);
        }
        let response = request.call().with_context(|| format!("GET {url}"))?;
        let mut lines = Vec::new();
        for line in BufReader::new(response.into_body().into_reader()).lines() {
            let line = line.context("reading events")?;
            if !line.trim().is_empty() {
                lines.push(line);
            }
        }
        Ok(lines)
    }
}
