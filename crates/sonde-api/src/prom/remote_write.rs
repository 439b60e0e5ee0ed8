//! `POST /api/v1/write`: Prometheus remote write 1.0 — a snappy-compressed
//! (block format) protobuf `prometheus.WriteRequest`.
//!
//! The whole body is decoded and every label set validated before anything
//! is stored ([`decode`], pure), so a bad request stores nothing and
//! answers 400. Samples the store turns away (out of order, a different
//! value at a known timestamp) do not stop the others: the rest are
//! appended and the answer is 400 with the count, which tells the sender
//! not to retry. Every sample is counted in [`WriteStats`].

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sonde_tsdb::{Labels, Metadata, MetricType, Sample as DbSample};

use super::envelope::PromError;
use super::{blocking, PromState};

/// Largest body accepted, compressed.
pub const MAX_BODY_BYTES: usize = 32 << 20;
/// Largest body accepted once decompressed.
pub const MAX_DECODED_BYTES: usize = 128 << 20;

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// `prometheus.TimeSeries` (exemplars and native histograms are skipped).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.MetricMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricMetadata {
    /// `MetricType`: 0 unknown, 1 counter, 2 gauge, 3 histogram,
    /// 4 gaugehistogram, 5 summary, 6 info, 7 stateset.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    #[prost(string, tag = "4")]
    pub help: String,
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// Why a remote-write body was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("snappy decode error: {0}")]
    Snappy(String),
    #[error("decompressed body of {0} bytes is over the limit of {MAX_DECODED_BYTES}")]
    TooLarge(usize),
    #[error("protobuf decode error: {0}")]
    Protobuf(String),
    #[error("invalid labels in series {index}: {reason}")]
    Labels { index: usize, reason: String },
}

/// A decoded, validated request, ready to append.
#[derive(Debug, Default)]
pub struct Decoded {
    pub samples: Vec<DbSample>,
    pub metadata: Vec<(String, Metadata)>,
}

/// Decodes and validates a whole remote-write body; no I/O.
pub fn decode(body: &[u8]) -> Result<Decoded, DecodeError> {
    let len = snap::raw::decompress_len(body).map_err(|e| DecodeError::Snappy(e.to_string()))?;
    if len > MAX_DECODED_BYTES {
        return Err(DecodeError::TooLarge(len));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| DecodeError::Snappy(e.to_string()))?;
    let request = <WriteRequest as prost::Message>::decode(raw.as_slice())
        .map_err(|e| DecodeError::Protobuf(e.to_string()))?;
    let mut decoded = Decoded::default();
    for (index, series) in request.timeseries.into_iter().enumerate() {
        let labels =
            Labels::new(series.labels.into_iter().map(|l| (l.name, l.value))).map_err(|e| {
                DecodeError::Labels {
                    index,
                    reason: e.to_string(),
                }
            })?;
        if labels.is_empty() {
            return Err(DecodeError::Labels {
                index,
                reason: "empty label set".into(),
            });
        }
        decoded
            .samples
            .extend(series.samples.into_iter().map(|s| DbSample {
                labels: labels.clone(),
                t: s.timestamp,
                v: s.value,
            }));
    }
    decoded.metadata = request
        .metadata
        .into_iter()
        .filter(|m| !m.metric_family_name.is_empty())
        .map(|m| {
            let metadata = Metadata {
                metric_type: metric_type(m.r#type),
                help: m.help,
                unit: m.unit,
            };
            (m.metric_family_name, metadata)
        })
        .collect();
    Ok(decoded)
}

fn metric_type(code: i32) -> MetricType {
    match code {
        1 => MetricType::Counter,
        2 => MetricType::Gauge,
        3 => MetricType::Histogram,
        4 => MetricType::GaugeHistogram,
        5 => MetricType::Summary,
        6 => MetricType::Info,
        7 => MetricType::StateSet,
        _ => MetricType::Unknown,
    }
}

/// What the receiver has taken and turned away since start.
#[derive(Debug, Default)]
pub struct WriteStats {
    /// Samples appended.
    pub samples_appended: AtomicU64,
    /// Samples the store turned away (out of order, duplicate timestamp).
    pub samples_rejected: AtomicU64,
    /// Requests refused whole (bad snappy, protobuf or labels).
    pub requests_invalid: AtomicU64,
    /// Metadata entries received.
    pub metadata_received: AtomicU64,
}

impl WriteStats {
    /// The counters in Prometheus's text format.
    pub fn to_prometheus(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "# HELP sonde_remote_write_samples_total Samples received on /api/v1/write, by outcome.\n\
             # TYPE sonde_remote_write_samples_total counter\n\
             sonde_remote_write_samples_total{{outcome=\"appended\"}} {}\n\
             sonde_remote_write_samples_total{{outcome=\"rejected\"}} {}\n\
             # HELP sonde_remote_write_invalid_requests_total Remote-write requests refused whole (bad snappy, protobuf or labels).\n\
             # TYPE sonde_remote_write_invalid_requests_total counter\n\
             sonde_remote_write_invalid_requests_total {}\n\
             # HELP sonde_remote_write_metadata_total Metadata entries received on /api/v1/write.\n\
             # TYPE sonde_remote_write_metadata_total counter\n\
             sonde_remote_write_metadata_total {}\n",
            get(&self.samples_appended),
            get(&self.samples_rejected),
            get(&self.requests_invalid),
            get(&self.metadata_received),
        )
    }
}

pub async fn write(
    State(state): State<PromState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PromError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.contains("io.prometheus.write.v2.Request") {
        return Err(PromError::UnsupportedMediaType(
            "remote write 2.0 (io.prometheus.write.v2.Request) is not supported; send prometheus.WriteRequest".into(),
        ));
    }
    let stats = state.writes.clone();
    let decoded = match decode(&body) {
        Ok(decoded) => decoded,
        Err(e) => {
            stats.requests_invalid.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(error = %e, "remote write refused");
            return Err(PromError::BadData(e.to_string()));
        }
    };
    let total = decoded.samples.len();
    let outcome = blocking(move || {
        for (metric, metadata) in decoded.metadata {
            state.db.metadata().record(&metric, metadata);
            state
                .writes
                .metadata_received
                .fetch_add(1, Ordering::Relaxed);
        }
        Ok(state.db.append_batch(&decoded.samples))
    })
    .await?;
    stats
        .samples_appended
        .fetch_add(outcome.appended as u64, Ordering::Relaxed);
    stats
        .samples_rejected
        .fetch_add(outcome.rejected.len() as u64, Ordering::Relaxed);
    if let Some((_, first)) = outcome.rejected.first() {
        tracing::debug!(rejected = outcome.rejected.len(), total, error = %first, "remote write samples rejected");
        return Err(PromError::BadData(format!(
            "{} of {total} samples rejected, the first: {first}",
            outcome.rejected.len()
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    fn body(request: &WriteRequest) -> Vec<u8> {
        snap::raw::Encoder::new()
            .compress_vec(&request.encode_to_vec())
            .unwrap()
    }

    fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: labels
                .iter()
                .map(|(n, v)| Label {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            samples: samples
                .iter()
                .map(|&(timestamp, value)| Sample { value, timestamp })
                .collect(),
        }
    }

    #[test]
    fn decodes_samples_and_metadata() {
        let request = WriteRequest {
            timeseries: vec![series(
                &[("__name__", "a"), ("x", "1")],
                &[(1, 2.0), (2, 3.0)],
            )],
            metadata: vec![MetricMetadata {
                r#type: 2,
                metric_family_name: "a".into(),
                help: "h".into(),
                unit: "seconds".into(),
            }],
        };
        let decoded = decode(&body(&request)).unwrap();
        assert_eq!(decoded.samples.len(), 2);
        assert_eq!(decoded.samples[1].t, 2);
        assert_eq!(decoded.samples[1].labels.get("x"), Some("1"));
        assert_eq!(decoded.metadata[0].1.metric_type, MetricType::Gauge);
        assert_eq!(decoded.metadata[0].1.unit, "seconds");
    }

    #[test]
    fn refuses_bad_input_without_panicking() {
        assert!(matches!(decode(b""), Err(DecodeError::Snappy(_))));
        assert!(matches!(
            decode(&[0xff, 0xff, 0xff, 0xff, 0x0f]),
            Err(DecodeError::TooLarge(_))
        ));
        let garbage = snap::raw::Encoder::new()
            .compress_vec(&[0x0a, 0xff, 0x01])
            .unwrap();
        assert!(matches!(decode(&garbage), Err(DecodeError::Protobuf(_))));
        let bad_name = WriteRequest {
            timeseries: vec![series(&[("a-b", "1")], &[(1, 1.0)])],
            metadata: vec![],
        };
        assert!(matches!(
            decode(&body(&bad_name)),
            Err(DecodeError::Labels { index: 0, .. })
        ));
        // Every prefix of a valid body fails cleanly or decodes.
        let good = body(&WriteRequest {
            timeseries: vec![series(&[("__name__", "a")], &[(1, 1.0)])],
            metadata: vec![],
        });
        for cut in 0..good.len() {
            let _ = decode(&good[..cut]);
        }
    }
}
