//! sonde's own counters into the metrics store: the exposition `/metrics`
//! serves ([`StatsSnapshot::to_prometheus`](crate::StatsSnapshot::to_prometheus)),
//! read back with the exposition parser, so the store holds exactly the
//! families `/metrics` shows, with their HELP and TYPE.

use sonde_tsdb::{Labels, Metadata, Sample, METRIC_NAME};

use super::exposition;
use crate::stats::Stats;

/// The own metrics as samples at `t_ms`, and their metadata.
pub fn samples(stats: &Stats, t_ms: i64) -> (Vec<Sample>, Vec<(String, Metadata)>) {
    let text = stats.snapshot().to_prometheus();
    let parsed = match exposition::parse(&text) {
        Ok(p) => p,
        Err(e) => {
            // sonde's own exposition: a bug, not an input error.
            tracing::error!(error = %e, "sonde's own /metrics text does not parse");
            return (Vec::new(), Vec::new());
        }
    };
    let samples = parsed
        .samples
        .into_iter()
        .filter_map(|s| {
            let pairs = s
                .labels
                .into_iter()
                .chain([(METRIC_NAME.to_owned(), s.name)]);
            Some(Sample {
                labels: Labels::new(pairs).ok()?,
                t: t_ms,
                v: s.value,
            })
        })
        .collect();
    (samples, parsed.metadata.into_iter().collect())
}
