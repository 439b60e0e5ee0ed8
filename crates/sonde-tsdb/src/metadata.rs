//! Metric metadata (type, help, unit) as Prometheus's
//! `/api/v1/metadata` serves it: kept in memory, fed by whatever writes
//! samples (scrapes, remote-write, sonde's own metrics).

use std::collections::BTreeMap;
use std::sync::RwLock;

/// A metric family's type, as the exposition formats name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Unknown,
}

impl MetricType {
    /// The name the exposition formats and Prometheus's API use.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    /// Parses an exposition-format type name; anything else is `Unknown`.
    pub fn parse(name: &str) -> Self {
        match name {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "gaugehistogram" => MetricType::GaugeHistogram,
            "summary" => MetricType::Summary,
            "info" => MetricType::Info,
            "stateset" => MetricType::StateSet,
            _ => MetricType::Unknown,
        }
    }
}

/// One metric family's metadata.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Metadata {
    pub metric_type: MetricType,
    pub help: String,
    pub unit: String,
}

/// Metadata per metric family name; each distinct metadata seen for a
/// name is kept once, as Prometheus lists one entry per distinct value.
#[derive(Debug, Default)]
pub struct MetadataStore {
    by_metric: RwLock<BTreeMap<String, Vec<Metadata>>>,
}

impl MetadataStore {
    /// Records `metadata` for `metric` unless already known.
    pub fn record(&self, metric: &str, metadata: Metadata) {
        let mut map = self.by_metric.write().expect("metadata lock");
        let entries = map.entry(metric.to_owned()).or_default();
        if !entries.contains(&metadata) {
            entries.push(metadata);
        }
    }

    /// Every metric's metadata, by name; only `metric` when given.
    pub fn get(&self, metric: Option<&str>) -> BTreeMap<String, Vec<Metadata>> {
        let map = self.by_metric.read().expect("metadata lock");
        match metric {
            Some(name) => map
                .get_key_value(name)
                .map(|(k, v)| (k.clone(), v.clone()))
                .into_iter()
                .collect(),
            None => map.clone(),
        }
    }
}
