//! Why a metrics configuration was refused. Every variant names the metric
//! or scrape job and the field at fault.

/// A metrics configuration the agent refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read metrics config {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{origin}: {error}")]
    Yaml {
        origin: String,
        error: serde_yaml_ng::Error,
    },
    #[error("metric `{metric}`: `{field}`: {reason}")]
    Metric {
        metric: String,
        field: String,
        reason: String,
    },
    #[error("metric `{0}` is declared twice (the built-in set has it, or the file does)")]
    DuplicateMetric(String),
    #[error("scrape job `{job}`: `{field}`: {reason}")]
    Scrape {
        job: String,
        field: String,
        reason: String,
    },
    #[error("scrape job `{0}` is declared twice")]
    DuplicateJob(String),
}

impl ConfigError {
    pub(crate) fn metric(metric: &str, field: &str, reason: impl Into<String>) -> Self {
        ConfigError::Metric {
            metric: metric.to_owned(),
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn scrape(job: &str, field: &str, reason: impl Into<String>) -> Self {
        ConfigError::Scrape {
            job: job.to_owned(),
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}
