//! `sonde query 'PROMQL'`: an instant or range query against the agent's
//! Prometheus API (`/api/v1/query`, `/api/v1/query_range`), shown as a
//! table or as the API's JSON.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};

use crate::client::Client;
use crate::render;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QueryOutput {
    Table,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The PromQL expression.
    query: String,
    /// Evaluate at this time: RFC 3339, Unix seconds, or a duration ago (5m); default now.
    #[arg(long, conflicts_with = "range")]
    time: Option<String>,
    /// A range query: evaluate at every --step from --start to --end.
    #[arg(long)]
    range: bool,
    /// Range start: RFC 3339, Unix seconds, or a duration ago (default 1h).
    #[arg(long, requires = "range")]
    start: Option<String>,
    /// Range end (default now).
    #[arg(long, requires = "range")]
    end: Option<String>,
    /// Range step: 15s, 1m, or seconds (default 1m).
    #[arg(long, requires = "range")]
    step: Option<String>,
    /// Query timeout, as Prometheus's `timeout` parameter (30s).
    #[arg(long)]
    timeout: Option<String>,
    #[arg(short, long, value_enum, default_value = "table")]
    output: QueryOutput,
    /// Address of the agent's API.
    #[arg(long, env = "SONDE_SERVER", default_value = super::DEFAULT_SERVER)]
    server: String,
}

/// A time as the API takes it: RFC 3339 and Unix seconds pass through; a
/// duration (`5m`) means that long before `now`.
fn api_time(text: &str, now: SystemTime) -> anyhow::Result<String> {
    if text == "now" {
        return Ok(unix_seconds(now));
    }
    if text.parse::<f64>().is_ok() || text.contains('T') {
        return Ok(text.to_string());
    }
    let ago = humantime::parse_duration(text).with_context(|| {
        format!("invalid time {text:?}: expected RFC 3339, Unix seconds or a duration ago (5m)")
    })?;
    Ok(unix_seconds(now.checked_sub(ago).unwrap_or(UNIX_EPOCH)))
}

fn unix_seconds(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    format!("{}.{:03}", d.as_secs(), d.subsec_millis())
}

impl Args {
    fn request(&self) -> anyhow::Result<(&'static str, Vec<(&'static str, String)>)> {
        let now = SystemTime::now();
        let mut params = vec![("query", self.query.clone())];
        if let Some(timeout) = &self.timeout {
            params.push(("timeout", timeout.clone()));
        }
        if !self.range {
            if let Some(time) = &self.time {
                params.push(("time", api_time(time, now)?));
            }
            return Ok(("/api/v1/query", params));
        }
        params.push((
            "start",
            api_time(self.start.as_deref().unwrap_or("1h"), now)?,
        ));
        params.push(("end", api_time(self.end.as_deref().unwrap_or("now"), now)?));
        params.push(("step", self.step.clone().unwrap_or_else(|| "1m".into())));
        Ok(("/api/v1/query_range", params))
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (path, params) = args.request()?;
    let answer = Client::new(&args.server).prom(path, &params)?;
    for warning in answer["warnings"].as_array().into_iter().flatten() {
        eprintln!("sonde: warning: {}", warning.as_str().unwrap_or_default());
    }
    if answer["status"] != "success" {
        bail!(
            "{}: {}",
            answer["errorType"].as_str().unwrap_or("error"),
            answer["error"]
                .as_str()
                .unwrap_or("the agent gave no reason")
        );
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.output {
        QueryOutput::Json => render::query::json(&mut out, &answer["data"])?,
        QueryOutput::Table => render::query::table(&mut out, &answer["data"])?,
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        assert_eq!(api_time("now", now).unwrap(), "1700000000.500");
        assert_eq!(api_time("5m", now).unwrap(), "1699999700.500");
        assert_eq!(api_time("1700000000", now).unwrap(), "1700000000");
        assert_eq!(
            api_time("2023-11-14T22:13:20Z", now).unwrap(),
            "2023-11-14T22:13:20Z"
        );
        assert!(api_time("yesterday", now).is_err());
    }
}
