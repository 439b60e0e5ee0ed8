//! The deriver: counts events into the configured metrics, in memory, with
//! a series budget per metric; [`Deriver::collect`] turns the running
//! totals into samples at a flush timestamp, like a scrape of cumulative
//! counters.
//!
//! Memory is bounded: at most `max_series + 1` series per metric, at most
//! `max_tracked` entities per cumulative metric.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sonde_event::{Event, EventKind};
use sonde_tsdb::{Labels, Metadata, MetricType, Sample, METRIC_NAME};

use super::compile::{CompiledMetric, Value, OVERFLOW_LABEL};
use super::fields::{text_of, PathSet, Scalar};
use super::stats::DerivedCounts;

/// Every derived metric and its running totals.
pub struct Deriver {
    metrics: Vec<MetricState>,
    /// Metric indices per event kind (`EventKind::ALL` order).
    by_kind: Vec<Vec<usize>>,
    /// The fields read per event kind.
    paths: Vec<PathSet>,
    /// The last event's fields, by slot.
    fields: Vec<Option<Scalar>>,
}

struct MetricState {
    spec: CompiledMetric,
    /// Slots (in its kind's [`PathSet`]) of the filters' fields, the
    /// labels' fields, the value field and the cumulative key's fields.
    filter_slots: Vec<usize>,
    label_slots: Vec<usize>,
    value_slot: Option<usize>,
    key_slots: Vec<usize>,
    /// Reused for each event's label values.
    key: Vec<String>,
    series: HashMap<Box<[String]>, Series>,
    overflow: Option<Series>,
    /// Cumulative metrics: each entity's last total and when it was seen (ms).
    tracked: HashMap<Box<[String]>, (f64, i64)>,
    counts: Arc<DerivedCounts>,
}

/// One label set's totals. A counter has one value; a histogram has one
/// count per bucket (`+Inf` last, not cumulative), then the sum and count.
struct Series {
    labels: Vec<Labels>,
    values: Vec<f64>,
}

impl Deriver {
    pub fn new(specs: Vec<CompiledMetric>) -> Self {
        let mut by_kind = vec![Vec::new(); EventKind::ALL.len()];
        let mut paths: Vec<PathSet> = EventKind::ALL.iter().map(|_| PathSet::default()).collect();
        let metrics: Vec<MetricState> = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                let k = kind_index(spec.event);
                by_kind[k].push(i);
                let set = &mut paths[k];
                MetricState {
                    filter_slots: spec.filters.iter().map(|(p, _)| set.insert(p)).collect(),
                    label_slots: spec.labels.iter().map(|(_, p)| set.insert(p)).collect(),
                    value_slot: match &spec.value {
                        Value::Field(p) => Some(set.insert(p)),
                        Value::Constant(_) => None,
                    },
                    key_slots: match &spec.cumulative {
                        Some(c) => c.key.iter().map(|p| set.insert(p)).collect(),
                        None => Vec::new(),
                    },
                    key: Vec::new(),
                    spec,
                    series: HashMap::new(),
                    overflow: None,
                    tracked: HashMap::new(),
                    counts: Arc::default(),
                }
            })
            .collect();
        Deriver {
            metrics,
            by_kind,
            paths,
            fields: Vec::new(),
        }
    }

    /// Each metric's name and counters, for the pipeline stats.
    pub fn counters(&self) -> Vec<(String, Arc<DerivedCounts>)> {
        self.metrics
            .iter()
            .map(|m| (m.spec.name.clone(), m.counts.clone()))
            .collect()
    }

    /// Each metric family's metadata.
    pub fn metadata(&self) -> Vec<(String, Metadata)> {
        self.metrics
            .iter()
            .map(|m| {
                let metric_type = if m.spec.buckets.is_some() {
                    MetricType::Histogram
                } else {
                    MetricType::Counter
                };
                let metadata = Metadata {
                    metric_type,
                    help: m.spec.help.clone(),
                    unit: String::new(),
                };
                (m.spec.name.clone(), metadata)
            })
            .collect()
    }

    /// Counts a batch of events.
    pub fn observe_all(&mut self, events: &[Event]) {
        for event in events {
            self.observe(event);
        }
    }

    /// Counts one event into every metric of its type. The fields those
    /// metrics use are read once, and only if some metric wants the type.
    pub fn observe(&mut self, event: &Event) {
        let k = kind_index(event.kind());
        if self.by_kind[k].is_empty() {
            return;
        }
        self.paths[k].extract(event, &mut self.fields);
        let time_ms = (event.time().0 / 1_000_000) as i64;
        for &i in &self.by_kind[k] {
            self.metrics[i].observe(&self.fields, time_ms);
        }
    }

    /// Every series' current totals as samples at `t_ms`; also forgets
    /// cumulative entities not reported for their `forget_after`.
    pub fn collect(&mut self, t_ms: i64) -> Vec<Sample> {
        let mut out = Vec::new();
        for m in &mut self.metrics {
            if let Some(c) = &m.spec.cumulative {
                let horizon = t_ms.saturating_sub(c.forget_after.as_millis() as i64);
                m.tracked.retain(|_, (_, seen)| *seen >= horizon);
            }
            for series in m.series.values().chain(m.overflow.as_ref()) {
                series.samples(m.spec.buckets.is_some(), t_ms, &mut out);
            }
        }
        out
    }
}

impl MetricState {
    fn observe(&mut self, fields: &[Option<Scalar>], time_ms: i64) {
        let field = |slot: usize| fields.get(slot).and_then(Option::as_ref);
        if !self
            .spec
            .filters
            .iter()
            .zip(&self.filter_slots)
            .all(|((_, cond), slot)| cond.matches(field(*slot)))
        {
            return;
        }
        let value = match (&self.spec.value, self.value_slot) {
            (Value::Constant(v), _) => *v,
            (Value::Field(_), slot) => match slot.and_then(field).and_then(Scalar::number) {
                Some(v) if v.is_finite() => v,
                _ => {
                    self.counts.skipped_no_value.fetch_add(1, Relaxed);
                    return;
                }
            },
        };
        let value = match &self.spec.cumulative {
            None => value,
            Some(c) => {
                let key: Box<[String]> = self
                    .key_slots
                    .iter()
                    .map(|s| text_of(field(*s)).into_owned())
                    .collect();
                let room = self.tracked.len() < c.max_tracked;
                match self.tracked.get_mut(&key) {
                    Some((last, seen)) => {
                        // A total that went down is a new entity's.
                        let delta = if value >= *last { value - *last } else { value };
                        *last = value;
                        *seen = time_ms;
                        delta
                    }
                    None if room => {
                        self.tracked.insert(key, (value, time_ms));
                        value
                    }
                    None => {
                        self.counts.untracked.fetch_add(1, Relaxed);
                        value
                    }
                }
            }
        };
        let value = value * self.spec.scale;
        if value < 0.0 && self.spec.buckets.is_none() {
            self.counts.skipped_no_value.fetch_add(1, Relaxed);
            return;
        }
        self.counts.events.fetch_add(1, Relaxed);
        self.key.clear();
        self.key.extend(
            self.label_slots
                .iter()
                .map(|s| text_of(field(*s)).into_owned()),
        );
        let key = self.key.as_slice();
        let series = if let Some(s) = self.series.get_mut(key) {
            s
        } else if self.series.len() < self.spec.max_series {
            let pairs: Vec<(&str, &str)> = self
                .spec
                .labels
                .iter()
                .zip(key.iter())
                .map(|((name, _), v)| (name.as_str(), v.as_str()))
                .collect();
            let series = Series::new(&self.spec, &pairs);
            self.series.entry(key.into()).or_insert(series)
        } else {
            self.counts.overflow_events.fetch_add(1, Relaxed);
            let spec = &self.spec;
            self.overflow
                .get_or_insert_with(|| Series::new(spec, &[(OVERFLOW_LABEL, "true")]))
        };
        series.add(self.spec.buckets.as_deref(), value);
    }
}

impl Series {
    fn new(spec: &CompiledMetric, pairs: &[(&str, &str)]) -> Series {
        let with = |name: &str, extra: Option<(&str, &str)>| {
            Labels::new(
                pairs
                    .iter()
                    .copied()
                    .chain([(METRIC_NAME, name)])
                    .chain(extra),
            )
            .unwrap_or_default()
        };
        match &spec.buckets {
            None => Series {
                labels: vec![with(&spec.name, None)],
                values: vec![0.0],
            },
            Some(bounds) => {
                let bucket = format!("{}_bucket", spec.name);
                let mut labels: Vec<Labels> = bounds
                    .iter()
                    .map(|b| with(&bucket, Some(("le", &format_le(*b)))))
                    .collect();
                labels.push(with(&bucket, Some(("le", "+Inf"))));
                labels.push(with(&format!("{}_sum", spec.name), None));
                labels.push(with(&format!("{}_count", spec.name), None));
                Series {
                    values: vec![0.0; labels.len()],
                    labels,
                }
            }
        }
    }

    fn add(&mut self, buckets: Option<&[f64]>, value: f64) {
        match buckets {
            None => self.values[0] += value,
            Some(bounds) => {
                // `le`: the first bound the value does not exceed.
                let i = bounds.partition_point(|b| *b < value);
                self.values[i] += 1.0;
                let n = self.values.len();
                self.values[n - 2] += value;
                self.values[n - 1] += 1.0;
            }
        }
    }

    fn samples(&self, histogram: bool, t: i64, out: &mut Vec<Sample>) {
        let mut running = 0.0;
        let buckets = if histogram { self.values.len() - 2 } else { 0 };
        for (i, (labels, v)) in self.labels.iter().zip(&self.values).enumerate() {
            let v = if i < buckets {
                running += v;
                running
            } else {
                *v
            };
            out.push(Sample {
                labels: labels.clone(),
                t,
                v,
            });
        }
    }
}

/// A bound as Prometheus's client libraries print `le`: `0.5`, `1`, `2.5`.
pub fn format_le(bound: f64) -> String {
    format!("{bound}")
}

fn kind_index(kind: EventKind) -> usize {
    EventKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

#[cfg(test)]
#[path = "derive_tests.rs"]
mod tests;
