//! The CLI's side of the agent's HTTP API.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

pub struct Client {
    base: String,
    http: ureq::Agent,
}

impl Client {
    pub fn new(server: &str) -> Self {
        let base = if server.contains("://") {
            server.to_string()
        } else {
            format!("http://{server}")
        };
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(3)))
            .build()
            .new_agent();
        Client {
            base: base.trim_end_matches('/').to_string(),
            http,
        }
    }

    fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<ureq::http::Response<ureq::Body>> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        for (key, value) in query {
            request = request.query(*key, value);
        }
        let response = request.call().map_err(|e| self.unreachable(e))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.into_body().read_to_string().unwrap_or_default();
            bail!(
                "the agent answered {status}: {}",
                error_message(body).trim()
            );
        }
        Ok(response)
    }

    /// A POST without a body: `Ok(body)` when the agent accepted it, else
    /// `Err` with the agent's error message (its JSON `error`, or the body).
    pub fn post(&self, path: &str) -> anyhow::Result<Result<String, String>> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .send_empty()
            .map_err(|e| self.unreachable(e))?;
        let ok = response.status().is_success();
        let body = response.into_body().read_to_string()?;
        Ok(if ok {
            Ok(body)
        } else {
            Err(error_message(body))
        })
    }

    fn unreachable(&self, e: ureq::Error) -> anyhow::Error {
        anyhow!(
            "cannot reach the sonde agent at {} ({e}); start it with `sudo sonde agent` or pass --server",
            self.base
        )
    }

    /// A Prometheus API answer: its JSON envelope, whether it says
    /// success or error (`errorType`, `error`), so the caller can show both.
    pub fn prom(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<serde_json::Value> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        for (key, value) in query {
            request = request.query(*key, value);
        }
        let response = request.call().map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let body = response.into_body().read_to_string()?;
        match serde_json::from_str::<serde_json::Value>(&body) {
            Ok(answer) if answer.get("status").is_some() => Ok(answer),
            _ => bail!("the agent answered {status}: {}", body.trim()),
        }
    }

    /// The whole answer, as bytes.
    pub fn bytes(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Vec<u8>> {
        let mut body = self.get(path, query)?.into_body();
        body.with_config()
            .limit(1 << 30)
            .read_to_vec()
            .context("reading the agent's answer")
    }

    pub fn json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        self.json_with(path, &[])
    }

    pub fn json_with(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<serde_json::Value> {
        let body = self.get(path, query)?.into_body().read_to_string()?;
        serde_json::from_str(&body).context("the agent's answer is not JSON")
    }

    /// The lines of a (possibly endless) JSON-lines answer, once the agent
    /// has accepted the request.
    pub fn lines(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<impl Iterator<Item = anyhow::Result<String>>> {
        let body = self.get(path, query)?.into_body();
        Ok(BufReader::new(body.into_reader())
            .lines()
            .map(|line| line.context("reading the agent's answer"))
            .filter(|line| line.as_ref().map_or(true, |l| !l.is_empty())))
    }
}

/// The agent's error answer: its JSON `error` field, or the body as it is.
fn error_message(body: String) -> String {
    serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(str::to_string))
        .unwrap_or(body)
}
