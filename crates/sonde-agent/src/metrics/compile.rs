//! A metric spec checked and turned into what the deriver runs: resolved
//! event type, field paths checked against the schema, compiled filters.

use std::time::Duration;

use sonde_event::EventKind;
use sonde_tsdb::{is_valid_label_name, is_valid_metric_name};

use super::config::{DerivedType, MetricSpec, MetricsConfig, ValueSpec};
use super::error::ConfigError;
use super::filter::Condition;
use super::path::FieldPath;

/// The label that marks a metric's overflow series.
pub const OVERFLOW_LABEL: &str = "sonde_overflow";

/// The largest series budget a metric may ask for.
pub const MAX_SERIES_LIMIT: usize = 100_000;
/// The most entities a cumulative metric may remember.
pub const MAX_TRACKED_LIMIT: usize = 1_000_000;

/// The built-in derived metrics, always on.
pub const DEFAULTS_YAML: &str = include_str!("defaults.yaml");

#[derive(Debug, Clone)]
pub struct CompiledMetric {
    pub name: String,
    pub help: String,
    pub event: EventKind,
    pub filters: Vec<(FieldPath, Condition)>,
    /// (label name, field), sorted by label name.
    pub labels: Vec<(String, FieldPath)>,
    pub value: Value,
    pub scale: f64,
    /// Histogram upper bounds, without `+Inf`; `None` for a counter.
    pub buckets: Option<Vec<f64>>,
    pub cumulative: Option<Cumulative>,
    pub max_series: usize,
}

#[derive(Debug, Clone)]
pub enum Value {
    Constant(f64),
    Field(FieldPath),
}

#[derive(Debug, Clone)]
pub struct Cumulative {
    pub key: Vec<FieldPath>,
    pub max_tracked: usize,
    pub forget_after: Duration,
}

/// The built-in metrics, then the file's; every error found is the first
/// one in that order.
pub fn compile_all(config: &MetricsConfig) -> Result<Vec<CompiledMetric>, ConfigError> {
    let defaults: MetricsConfig =
        serde_yaml_ng::from_str(DEFAULTS_YAML).map_err(|error| ConfigError::Yaml {
            origin: "built-in metrics".into(),
            error,
        })?;
    let reserved = reserved_names();
    let mut out: Vec<CompiledMetric> = Vec::new();
    for spec in defaults.metrics.iter().chain(&config.metrics) {
        let metric = compile(spec)?;
        if out.iter().any(|m| m.name == metric.name) {
            return Err(ConfigError::DuplicateMetric(metric.name));
        }
        let series = match metric.buckets {
            None => vec![metric.name.clone()],
            Some(_) => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", metric.name))
                .collect(),
        };
        if let Some(clash) = series.iter().find(|s| reserved.contains(s.as_str())) {
            return Err(ConfigError::metric(
                &metric.name,
                "name",
                format!("`{clash}` is one of sonde's own metrics or a scrape's"),
            ));
        }
        out.push(metric);
    }
    Ok(out)
}

/// Names sonde writes itself: its own families (and their series) and
/// the scrape report series.
fn reserved_names() -> std::collections::HashSet<String> {
    let text = crate::stats::Stats::default().snapshot().to_prometheus();
    let mut names: std::collections::HashSet<String> =
        ["up", "scrape_duration_seconds", "scrape_samples_scraped"]
            .into_iter()
            .map(str::to_owned)
            .collect();
    if let Ok(parsed) = super::exposition::parse(&text) {
        for (family, m) in parsed.metadata {
            if matches!(
                m.metric_type,
                sonde_tsdb::MetricType::Histogram | sonde_tsdb::MetricType::Summary
            ) {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{family}{suffix}"));
                }
            }
            names.insert(family);
        }
        names.extend(parsed.samples.into_iter().map(|s| s.name));
    }
    names
}

pub fn compile(spec: &MetricSpec) -> Result<CompiledMetric, ConfigError> {
    let name = &spec.name;
    let err = |field: &str, reason: String| ConfigError::metric(name, field, reason);
    if !is_valid_metric_name(name) {
        return Err(err(
            "name",
            "invalid metric name: must match [a-zA-Z_:][a-zA-Z0-9_:]*".into(),
        ));
    }
    let event: EventKind = spec.event.parse().map_err(|e: String| err("event", e))?;
    let path = |field: &str, text: &str| {
        FieldPath::parse(event, text).map_err(|reason| err(field, reason))
    };
    let mut filters = Vec::new();
    for (field, condition) in &spec.filter {
        let p = path(&format!("filter.{field}"), field)?;
        let c = Condition::parse(condition).map_err(|r| err(&format!("filter.{field}"), r))?;
        filters.push((p, c));
    }
    let mut labels = Vec::new();
    for (label, field) in &spec.labels {
        let at = format!("labels.{label}");
        if !is_valid_label_name(label) || label.starts_with("__") {
            return Err(err(
                &at,
                "invalid label name: must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __"
                    .into(),
            ));
        }
        if label == OVERFLOW_LABEL || (spec.metric_type == DerivedType::Histogram && label == "le")
        {
            return Err(err(&at, format!("the label name `{label}` is reserved")));
        }
        labels.push((label.clone(), path(&at, field)?));
    }
    let value = match (&spec.value, spec.metric_type) {
        (None, DerivedType::Counter) => Value::Constant(1.0),
        (None, DerivedType::Histogram) => {
            return Err(err(
                "value",
                "a histogram needs a numeric field path".into(),
            ))
        }
        (Some(ValueSpec::Number(n)), DerivedType::Counter) if n.is_finite() && *n >= 0.0 => {
            Value::Constant(*n)
        }
        (Some(ValueSpec::Number(n)), DerivedType::Counter) => {
            return Err(err(
                "value",
                format!("a counter's increment must be a finite number ≥ 0, not {n}"),
            ))
        }
        (Some(ValueSpec::Number(_)), DerivedType::Histogram) => {
            return Err(err(
                "value",
                "a histogram needs a numeric field path".into(),
            ))
        }
        (Some(ValueSpec::Field(f)), _) => {
            let p = path("value", f)?;
            if !p.numeric {
                return Err(err("value", format!("`{f}` is not a numeric field")));
            }
            Value::Field(p)
        }
    };
    let scale = spec.scale.unwrap_or(1.0);
    if !scale.is_finite() || scale <= 0.0 {
        return Err(err(
            "scale",
            format!("must be a finite number > 0, not {scale}"),
        ));
    }
    let buckets = match (spec.metric_type, &spec.buckets) {
        (DerivedType::Counter, Some(_)) => {
            return Err(err("buckets", "only a histogram has buckets".into()))
        }
        (DerivedType::Counter, None) => None,
        (DerivedType::Histogram, None) => {
            return Err(err("buckets", "a histogram needs buckets".into()))
        }
        (DerivedType::Histogram, Some(b)) => {
            let bounds: Vec<f64> = b.iter().copied().filter(|b| *b != f64::INFINITY).collect();
            if bounds.is_empty() {
                return Err(err("buckets", "give at least one finite bound".into()));
            }
            if bounds.iter().any(|b| !b.is_finite()) {
                return Err(err("buckets", "bounds must be finite numbers".into()));
            }
            if bounds.windows(2).any(|w| w[0] >= w[1]) {
                return Err(err("buckets", "bounds must be strictly increasing".into()));
            }
            Some(bounds)
        }
    };
    let cumulative = match &spec.cumulative {
        None => None,
        Some(c) => {
            if !matches!(value, Value::Field(_)) {
                return Err(err("cumulative", "needs `value` to be a field path".into()));
            }
            if c.max_tracked == 0 || c.max_tracked > MAX_TRACKED_LIMIT {
                return Err(err(
                    "cumulative.max_tracked",
                    format!("must be between 1 and {MAX_TRACKED_LIMIT}"),
                ));
            }
            if c.key.is_empty() {
                return Err(err("cumulative.key", "name at least one field".into()));
            }
            let key = c
                .key
                .iter()
                .map(|k| path("cumulative.key", k))
                .collect::<Result<_, _>>()?;
            let forget_after = humantime::parse_duration(&c.forget_after)
                .map_err(|e| err("cumulative.forget_after", e.to_string()))?;
            Some(Cumulative {
                key,
                max_tracked: c.max_tracked,
                forget_after,
            })
        }
    };
    if spec.max_series == 0 || spec.max_series > MAX_SERIES_LIMIT {
        return Err(err(
            "max_series",
            format!("must be between 1 and {MAX_SERIES_LIMIT}"),
        ));
    }
    Ok(CompiledMetric {
        name: name.clone(),
        help: spec.help.clone(),
        event,
        filters,
        labels,
        value,
        scale,
        buckets,
        cumulative,
        max_series: spec.max_series,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(yaml: &str) -> String {
        MetricsConfig::parse(yaml).unwrap_err().to_string()
    }

    fn one(extra: &str) -> String {
        format!("metrics:\n  - name: my_total\n    type: counter\n    event: exec\n{extra}")
    }

    #[test]
    fn the_built_in_set_compiles() {
        let all = compile_all(&MetricsConfig::default()).unwrap();
        assert!(all.len() >= 10, "{}", all.len());
        assert!(all.iter().all(|m| m.max_series <= 2000));
    }

    #[test]
    fn the_example_config_loads() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/metrics.example.yaml"
        );
        let config = MetricsConfig::load(std::path::Path::new(path)).unwrap();
        assert!(!config.metrics.is_empty());
        assert!(!config.scrape_configs.is_empty());
    }

    #[test]
    fn each_bad_config_says_what_and_where() {
        let cases = [
            (one("    colour: red\n"), "unknown field `colour`"),
            ("metrics: []\nscrapes: []\n".to_owned(), "unknown field `scrapes`"),
            (one("").replace("exec", "fork"), "metric `my_total`: `event`: unknown event type `fork`"),
            (one("    labels: {bin: process.nope}\n"), "metric `my_total`: `labels.bin`: `process_exec.process` has no field `nope`"),
            (one("    labels: {bin: process}\n"), "metric `my_total`: `labels.bin`: `process` is not a scalar field"),
            (one("    labels: {9bin: process.binary}\n"), "metric `my_total`: `labels.9bin`: invalid label name"),
            (one("    labels: {__x: process.binary}\n"), "metric `my_total`: `labels.__x`: invalid label name"),
            (one("    labels: {sonde_overflow: process.binary}\n"), "`labels.sonde_overflow`: the label name `sonde_overflow` is reserved"),
            (one("    filter: {process.binary: {regex: '(['}}\n"), "metric `my_total`: `filter.process.binary`: bad regex"),
            (one("    filter: {process.bin: x}\n"), "metric `my_total`: `filter.process.bin`: `process_exec.process` has no field `bin`"),
            (one("    filter: {process.binary: {glob: x}}\n"), "`filter.process.binary`: unknown condition glob"),
            (one("    value: process.binary\n"), "metric `my_total`: `value`: `process.binary` is not a numeric field"),
            (one("    value: -1\n"), "`value`: a counter's increment must be a finite number ≥ 0"),
            (one("    buckets: [1]\n"), "metric `my_total`: `buckets`: only a histogram has buckets"),
            (one("    max_series: 1000000\n"), "metric `my_total`: `max_series`: must be between 1 and 100000"),
            (one("    max_series: 0\n"), "`max_series`: must be between 1 and 100000"),
            (one("").replace("my_total", "my-total"), "metric `my-total`: `name`: invalid metric name"),
            (one("").replace("counter", "gauge"), "unknown variant `gauge`"),
            (format!("{}{}", one(""), one("").trim_start_matches("metrics:\n")), "metric `my_total` is declared twice"),
            (one("").replace("my_total", "sonde_process_execs_total"), "metric `sonde_process_execs_total` is declared twice"),
            (one("").replace("my_total", "sonde_events_total"), "metric `sonde_events_total`: `name`: `sonde_events_total` is one of sonde's own metrics"),
            (one("").replace("my_total", "up"), "metric `up`: `name`: `up` is one of sonde's own metrics or a scrape's"),
            ("metrics:\n  - name: sonde_request_duration_seconds\n    type: histogram\n    event: request\n    value: latency_ns\n    buckets: [1]\n".to_owned(), "`sonde_request_duration_seconds_bucket` is one of sonde's own metrics"),
            ("metrics:\n  - name: h\n    type: histogram\n    event: request\n    value: latency_ns\n".to_owned(), "metric `h`: `buckets`: a histogram needs buckets"),
            ("metrics:\n  - name: h\n    type: histogram\n    event: request\n    value: latency_ns\n    buckets: [2, 1]\n".to_owned(), "`buckets`: bounds must be strictly increasing"),
            ("metrics:\n  - name: h\n    type: histogram\n    event: request\n    buckets: [1]\n".to_owned(), "metric `h`: `value`: a histogram needs a numeric field path"),
            ("metrics:\n  - name: h\n    type: histogram\n    event: request\n    value: latency_ns\n    buckets: [1]\n    labels: {le: method}\n".to_owned(), "`labels.le`: the label name `le` is reserved"),
            (one("    value: bytes_sent\n").replace("exec", "udp_flow") + "    cumulative: {key: [local.nope]}\n", "`cumulative.key`: `udp_flow.local` has no field `nope`"),
            (one("    value: bytes_sent\n").replace("exec", "udp_flow") + "    cumulative: {key: [netns], forget_after: soon}\n", "`cumulative.forget_after`"),
        ];
        for (yaml, want) in cases {
            let got = error_of(&yaml);
            assert!(
                got.contains(want),
                "for\n{yaml}\nwant `{want}`, got `{got}`"
            );
        }
    }

    #[test]
    fn a_good_metric_compiles() {
        let c = MetricsConfig::parse(&one(
            "    filter: {process.comm: {not: sh}}\n    labels: {bin: process.binary, uid: process.uid}\n    max_series: 5\n",
        ))
        .unwrap();
        let m = compile(&c.metrics[0]).unwrap();
        assert_eq!(m.event, EventKind::ProcessExec);
        assert_eq!(m.labels.len(), 2);
        assert_eq!(m.max_series, 5);
        assert!(matches!(m.value, Value::Constant(v) if v == 1.0));
    }
}
