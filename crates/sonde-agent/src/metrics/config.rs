//! The metrics configuration file (`sonde agent --metrics-config FILE`), as
//! YAML. These structs are the reference: every field is documented here,
//! and `docs/metrics.example.yaml` is a checked-in example that a test loads.
//!
//! Unknown fields are errors, so a typo never silently turns a metric off.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::error::ConfigError;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Metrics derived from events, added to the built-in set.
    #[serde(default)]
    pub metrics: Vec<MetricSpec>,
    /// Prometheus exporters to scrape into the metrics store.
    #[serde(default)]
    pub scrape_configs: Vec<ScrapeConfig>,
}

/// One metric derived from events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    /// Metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`). A histogram's series are
    /// `<name>_bucket`, `<name>_sum` and `<name>_count`.
    pub name: String,
    /// HELP text, served by `/api/v1/metadata`.
    #[serde(default)]
    pub help: String,
    /// `counter` or `histogram`.
    #[serde(rename = "type")]
    pub metric_type: DerivedType,
    /// The event type counted, as the event schema spells it
    /// (`process_exec`, `process_exit`, `tcp_connection`, `udp_flow`,
    /// `packet_drop`, `request`, `profile`) or its short name (`exec`, …).
    pub event: String,
    /// Field path → condition; an event is counted only when every condition
    /// holds. Paths are dotted, relative to the event's JSON object (as
    /// `/api/v1/events` emits it, without the type tag): `process.binary`,
    /// `remote.port`. A condition is a scalar (the field's value equals it;
    /// `null` matches an absent field), `{regex: "..."}` (anchored, on the
    /// field's text; an absent field is the empty text) or `{not: <condition>}`.
    #[serde(default)]
    pub filter: BTreeMap<String, serde_yaml_ng::Value>,
    /// Label name → field path. An absent field leaves the label off.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// A counter's increment per event: a number (default 1) or a numeric
    /// field path (`bytes_sent`). A histogram's observed value: a numeric
    /// field path (required). Events whose field is absent are skipped and
    /// counted.
    pub value: Option<ValueSpec>,
    /// Multiplies the value (`0.000000001` turns nanoseconds into seconds).
    pub scale: Option<f64>,
    /// Histogram upper bounds, increasing; `+Inf` is added. Prometheus `le`
    /// semantics: cumulative buckets.
    pub buckets: Option<Vec<f64>>,
    /// The value field is a running total that an entity reports again and
    /// again (a UDP flow's bytes so far): count only its increase since the
    /// entity's previous report.
    pub cumulative: Option<CumulativeSpec>,
    /// Series kept before the rest fold into one overflow series labelled
    /// `sonde_overflow="true"`.
    #[serde(default = "default_max_series")]
    pub max_series: usize,
}

fn default_max_series() -> usize {
    1000
}

/// What a derived metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DerivedType {
    Counter,
    Histogram,
}

/// A constant or a field path.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ValueSpec {
    Number(f64),
    Field(String),
}

/// How to tell one reporting entity from another.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CumulativeSpec {
    /// Field paths that together identify the entity (for a UDP flow:
    /// `netns`, `local.ip`, `local.port`, `remote.ip`, `remote.port`,
    /// `first_seen`).
    pub key: Vec<String>,
    /// Entities remembered at most; past it, an entity's report counts whole.
    #[serde(default = "default_max_tracked")]
    pub max_tracked: usize,
    /// An entity not reported for this long is forgotten (e.g. `10m`).
    #[serde(default = "default_forget_after")]
    pub forget_after: String,
}

fn default_max_tracked() -> usize {
    100_000
}

fn default_forget_after() -> String {
    "10m".into()
}

/// One scrape job, as in Prometheus's `scrape_configs` (the subset sonde
/// supports: static targets over plain HTTP, `honor_labels: false`,
/// timestamps honoured).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    /// The `job` label of every series scraped.
    pub job_name: String,
    /// How often each target is scraped (default `15s`).
    #[serde(default = "default_scrape_interval")]
    pub scrape_interval: String,
    /// A scrape that takes longer fails (default `10s`, at most the interval).
    #[serde(default = "default_scrape_timeout")]
    pub scrape_timeout: String,
    /// Path of the exposition on each target (default `/metrics`).
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    /// Only `http`.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    pub static_configs: Vec<StaticConfig>,
}

fn default_scrape_interval() -> String {
    "15s".into()
}
fn default_scrape_timeout() -> String {
    "10s".into()
}
fn default_metrics_path() -> String {
    "/metrics".into()
}
fn default_scheme() -> String {
    "http".into()
}

/// Targets and the labels added to their series.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` each.
    pub targets: Vec<String>,
    /// Labels added to every series of these targets.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl MetricsConfig {
    /// Reads and validates a file: any error names the metric or job and
    /// the field at fault.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            error,
        })?;
        let config = Self::parse(&text).map_err(|e| match e {
            ConfigError::Yaml { error, .. } => ConfigError::Yaml {
                origin: path.display().to_string(),
                error,
            },
            other => other,
        })?;
        Ok(config)
    }

    /// Parses and validates YAML text (user metrics are checked together
    /// with the built-in set, so a name clash is an error).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: MetricsConfig =
            serde_yaml_ng::from_str(text).map_err(|error| ConfigError::Yaml {
                origin: "metrics config".into(),
                error,
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Compiles everything once to find every error; cheap.
    pub fn validate(&self) -> Result<(), ConfigError> {
        super::compile::compile_all(self)?;
        for job in &self.scrape_configs {
            super::scrape::TargetConfig::from_job(job)?;
        }
        let mut jobs: Vec<&str> = self
            .scrape_configs
            .iter()
            .map(|j| j.job_name.as_str())
            .collect();
        jobs.sort_unstable();
        if let Some(w) = jobs.windows(2).find(|w| w[0] == w[1]) {
            return Err(ConfigError::DuplicateJob(w[0].to_owned()));
        }
        Ok(())
    }
}
