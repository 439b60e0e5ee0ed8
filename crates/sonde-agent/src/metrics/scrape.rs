//! Scraping Prometheus exporters: one thread per static target. Each scrape
//! is a GET with a hard timeout; its text is parsed whole (a parse error
//! fails the scrape, as in Prometheus); series get `job` and `instance`
//! (with `honor_labels: false`: a scraped label that clashes is renamed
//! `exported_<name>`). Every scrape writes `up`, `scrape_duration_seconds`
//! and `scrape_samples_scraped`. A series that vanishes from a target, and
//! every series of a target that goes down or is stopped, gets a staleness
//! marker.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sonde_tsdb::{Db, Labels, Metadata, MetricType, Sample, METRIC_NAME, STALE_NAN};

use super::config::ScrapeConfig;
use super::error::ConfigError;
use super::exposition;
use super::{now_ms, sink};
use crate::stats::Stats;

/// The series every scrape writes about itself.
const REPORT_SERIES: [&str; 3] = ["up", "scrape_duration_seconds", "scrape_samples_scraped"];

/// The most a target's answer may be.
const BODY_LIMIT: u64 = 64 << 20;

/// One target of one job, checked.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub job: String,
    pub instance: String,
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
    /// `job`, `instance` and the static config's labels.
    pub target_labels: Vec<(String, String)>,
}

impl TargetConfig {
    /// Every target of `job`, or what is wrong with it.
    pub fn from_job(job: &ScrapeConfig) -> Result<Vec<TargetConfig>, ConfigError> {
        let name = &job.job_name;
        let err = |field: &str, reason: String| ConfigError::scrape(name, field, reason);
        if name.is_empty() {
            return Err(err("job_name", "must not be empty".into()));
        }
        let duration = |field: &str, text: &str| {
            humantime::parse_duration(text)
                .map_err(|e| err(field, format!("`{text}`: {e} (examples: 15s, 1m)")))
                .and_then(|d| {
                    if d.is_zero() {
                        Err(err(field, "must be more than zero".into()))
                    } else {
                        Ok(d)
                    }
                })
        };
        let interval = duration("scrape_interval", &job.scrape_interval)?;
        let timeout = duration("scrape_timeout", &job.scrape_timeout)?;
        if timeout > interval {
            return Err(err(
                "scrape_timeout",
                format!(
                    "{} is longer than scrape_interval {}",
                    job.scrape_timeout, job.scrape_interval
                ),
            ));
        }
        if job.scheme != "http" {
            return Err(err(
                "scheme",
                format!("only http is supported, not {:?}", job.scheme),
            ));
        }
        if !job.metrics_path.starts_with('/') {
            return Err(err("metrics_path", "must start with /".into()));
        }
        let mut out = Vec::new();
        for (i, sc) in job.static_configs.iter().enumerate() {
            for label in sc.labels.keys() {
                if label == "job" || label == "instance" {
                    return Err(err(
                        &format!("static_configs[{i}].labels.{label}"),
                        "is set from job_name and the target".into(),
                    ));
                }
                if !sonde_tsdb::is_valid_label_name(label) || label.starts_with("__") {
                    return Err(err(
                        &format!("static_configs[{i}].labels.{label}"),
                        "invalid label name".into(),
                    ));
                }
            }
            for target in &sc.targets {
                let valid = target
                    .rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
                    && !target.contains(['/', ' ', '?', '#', '@']);
                if !valid {
                    return Err(err(
                        &format!("static_configs[{i}].targets"),
                        format!("`{target}` is not host:port"),
                    ));
                }
                let mut target_labels: Vec<(String, String)> = sc
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                target_labels.push(("job".into(), name.clone()));
                target_labels.push(("instance".into(), target.clone()));
                out.push(TargetConfig {
                    job: name.clone(),
                    instance: target.clone(),
                    url: format!("http://{target}{}", job.metrics_path),
                    interval,
                    timeout,
                    target_labels,
                });
            }
        }
        if out.is_empty() {
            return Err(err("static_configs", "no targets".into()));
        }
        Ok(out)
    }
}

/// One target's scrape loop state.
pub struct Scraper {
    target: TargetConfig,
    http: ureq::Agent,
    db: Arc<Db>,
    stats: Arc<Stats>,
    /// Series of the last successful scrape (those without explicit
    /// timestamps), to mark the vanished ones stale.
    previous: HashSet<Labels>,
}

/// Why a scrape failed.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("cannot fetch: {0}")]
    Connect(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("cannot read the answer: {0}")]
    Body(String),
    #[error("parse error: {0}")]
    Parse(#[from] exposition::ParseError),
    #[error("bad labels: {0}")]
    Labels(#[from] sonde_tsdb::LabelError),
}

impl ScrapeError {
    fn reason(&self) -> &'static str {
        match self {
            ScrapeError::Connect(_) => "connect",
            ScrapeError::Status(_) => "status",
            ScrapeError::Body(_) => "body",
            ScrapeError::Parse(_) => "parse",
            ScrapeError::Labels(_) => "labels",
        }
    }
}

impl Scraper {
    pub fn new(target: TargetConfig, db: Arc<Db>, stats: Arc<Stats>) -> Self {
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(target.timeout))
            .user_agent(concat!("sonde/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        for (name, help) in [
            (
                "up",
                "1 if the last scrape of the target succeeded, else 0.",
            ),
            ("scrape_duration_seconds", "How long the scrape took."),
            (
                "scrape_samples_scraped",
                "Samples the target exposed in the scrape.",
            ),
        ] {
            let metadata = Metadata {
                metric_type: MetricType::Gauge,
                help: help.into(),
                unit: String::new(),
            };
            db.metadata().record(name, metadata);
        }
        Scraper {
            target,
            http,
            db,
            stats,
            previous: HashSet::new(),
        }
    }

    /// Scrapes every interval until `stop`, then marks the target's series stale.
    pub fn run(mut self, stop: Arc<AtomicBool>) {
        // Spread targets over the interval, as Prometheus does by a hash.
        let offset_ms = self
            .target
            .url
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
            % (self.target.interval.as_millis().max(1) as u64);
        let mut next = Instant::now() + Duration::from_millis(offset_ms.min(1000));
        while !stop.load(Relaxed) {
            if Instant::now() < next {
                std::thread::sleep(Duration::from_millis(50).min(next - Instant::now()));
                continue;
            }
            next += self.target.interval;
            self.scrape_once(now_ms());
            if Instant::now() > next {
                next = Instant::now();
            }
        }
        // The target is gone: its series and its report series end here.
        let t = now_ms();
        self.mark_all_stale(t);
        let report: Vec<Sample> = REPORT_SERIES
            .iter()
            .filter_map(|name| {
                let labels =
                    self.with_target_labels(vec![(METRIC_NAME.to_owned(), (*name).to_owned())]);
                Some(Sample {
                    labels: labels.ok()?,
                    t,
                    v: STALE_NAN,
                })
            })
            .collect();
        sink::write(&self.db, &report, &self.stats.metrics);
    }

    /// One scrape at `t_ms`, written to the store; returns whether it worked.
    pub fn scrape_once(&mut self, t_ms: i64) -> bool {
        let started = Instant::now();
        let result = self.fetch().and_then(|text| self.samples(&text, t_ms));
        let duration = started.elapsed().as_secs_f64();
        let (up, scraped) = match result {
            Ok((samples, metadata, seen, scraped)) => {
                let mut batch = samples;
                let t = &self.target;
                for stale in self.previous.difference(&seen) {
                    batch.push(Sample {
                        labels: stale.clone(),
                        t: t_ms,
                        v: STALE_NAN,
                    });
                }
                self.previous = seen;
                sink::write(&self.db, &batch, &self.stats.metrics);
                sink::record_metadata(&self.db, metadata.iter().map(|(k, v)| (k.as_str(), v)));
                self.stats.metrics.count_scrape(&t.job, &t.instance, None);
                (1.0, scraped as f64)
            }
            Err(e) => {
                let t = &self.target;
                tracing::debug!(job = %t.job, instance = %t.instance, error = %e, "scrape failed");
                self.stats
                    .metrics
                    .count_scrape(&t.job, &t.instance, Some(e.reason()));
                self.mark_all_stale(t_ms);
                (0.0, 0.0)
            }
        };
        let report: Vec<Sample> = [
            ("up", up),
            ("scrape_duration_seconds", duration),
            ("scrape_samples_scraped", scraped),
        ]
        .into_iter()
        .filter_map(|(name, v)| {
            let labels = self.with_target_labels(vec![(METRIC_NAME.to_owned(), name.to_owned())]);
            Some(Sample {
                labels: labels.ok()?,
                t: t_ms,
                v,
            })
        })
        .collect();
        sink::write(&self.db, &report, &self.stats.metrics);
        up == 1.0
    }

    fn mark_all_stale(&mut self, t_ms: i64) {
        let stale: Vec<Sample> = self
            .previous
            .drain()
            .map(|labels| Sample {
                labels,
                t: t_ms,
                v: STALE_NAN,
            })
            .collect();
        sink::write(&self.db, &stale, &self.stats.metrics);
    }

    fn fetch(&self) -> Result<String, ScrapeError> {
        let response = self
            .http
            .get(&self.target.url)
            .header("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", self.target.timeout.as_secs_f64()),
            )
            .call()
            .map_err(|e| ScrapeError::Connect(e.to_string()))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(ScrapeError::Status(status));
        }
        response
            .into_body()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_string()
            .map_err(|e| ScrapeError::Body(e.to_string()))
    }

    /// The scrape's samples with target labels, its metadata, the series
    /// to watch for staleness, and the count of samples exposed.
    #[allow(clippy::type_complexity)]
    fn samples(
        &self,
        text: &str,
        t_ms: i64,
    ) -> Result<(Vec<Sample>, Vec<(String, Metadata)>, HashSet<Labels>, usize), ScrapeError> {
        let parsed = exposition::parse(text)?;
        let scraped = parsed.samples.len();
        let mut samples = Vec::with_capacity(scraped);
        let mut seen = HashSet::with_capacity(scraped);
        for s in parsed.samples {
            let mut pairs = s.labels;
            pairs.push((METRIC_NAME.to_owned(), s.name));
            let labels = self.with_target_labels(pairs)?;
            if s.timestamp_ms.is_none() {
                seen.insert(labels.clone());
            }
            samples.push(Sample {
                labels,
                t: s.timestamp_ms.unwrap_or(t_ms),
                v: s.value,
            });
        }
        Ok((
            samples,
            parsed.metadata.into_iter().collect(),
            seen,
            scraped,
        ))
    }

    /// Adds the target's labels; a scraped label of the same name is kept
    /// as `exported_<name>` (Prometheus's `honor_labels: false`).
    fn with_target_labels(
        &self,
        mut pairs: Vec<(String, String)>,
    ) -> Result<Labels, sonde_tsdb::LabelError> {
        for (name, value) in &self.target.target_labels {
            if let Some(i) = pairs.iter().position(|(n, _)| n == name) {
                let mut renamed = format!("exported_{name}");
                while pairs.iter().any(|(n, _)| *n == renamed) {
                    renamed = format!("exported_{renamed}");
                }
                pairs[i].0 = renamed;
            }
            pairs.push((name.clone(), value.clone()));
        }
        Labels::new(pairs)
    }
}

#[cfg(test)]
#[path = "scrape_tests.rs"]
mod tests;
