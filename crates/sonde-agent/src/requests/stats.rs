//! What the request path counted: the capture's kernel counters, the
//! streams and parsers in user space, and what they lost.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::{Deserialize, Serialize};
use sonde_bpf::abi::CAP_COUNTER_MAX;

use super::red::RequestMetrics;
use crate::labelled_histogram::LATENCY_BUCKETS;
use crate::stats::{escape, write_family};

/// `abi::CAP_*` counters, as metric labels.
pub const CAPTURE_COUNTERS: [&str; CAP_COUNTER_MAX as usize] = [
    "calls",
    "bytes_copied",
    "bytes_not_copied",
    "muted_calls",
    "tls_without_socket",
    "calls_untracked",
    "mmsg_messages_unread",
];

#[derive(Default)]
pub struct RequestStats {
    pub capture: [AtomicU64; CAP_COUNTER_MAX as usize],
    pub data_records: AtomicU64,
    /// Bytes the parsers were given.
    pub bytes_parsed: AtomicU64,
    /// Stream bytes never seen because records were lost (gaps in offsets).
    pub bytes_lost: AtomicU64,
    /// Bytes not copied on purpose (past the per-call limit, bodies skipped).
    pub bytes_not_copied: AtomicU64,
    pub requests: AtomicU64,
    /// Requests seen from both ends and joined into one.
    pub requests_joined: AtomicU64,
    pub parse_errors: AtomicU64,
    pub resyncs: AtomicU64,
    pub orphan_responses: AtomicU64,
    pub pending_overflow: AtomicU64,
    /// Streams whose protocol was not recognised (their capture is muted).
    pub streams_given_up: AtomicU64,
    /// Streams evicted because the stream table was full.
    pub streams_evicted: AtomicU64,
    pub streams_active: AtomicU64,
    /// OpenSSL libraries the uprobes are attached to.
    pub tls_libraries: AtomicU64,
    pub tls_attach_failures: AtomicU64,
    pub by_endpoint: RequestMetrics,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RequestSnapshot {
    pub capture: std::collections::BTreeMap<String, u64>,
    pub data_records: u64,
    pub bytes_parsed: u64,
    pub bytes_lost: u64,
    pub bytes_not_copied: u64,
    pub requests: u64,
    pub requests_joined: u64,
    pub parse_errors: u64,
    pub resyncs: u64,
    pub orphan_responses: u64,
    pub pending_overflow: u64,
    pub streams_given_up: u64,
    pub streams_evicted: u64,
    pub streams_active: u64,
    pub tls_libraries: u64,
    pub tls_attach_failures: u64,
    pub endpoint_series_overflow: u64,
    /// Rendered RED series (not in JSON: /metrics has them).
    #[serde(skip)]
    pub red: Vec<([String; 4], crate::labelled_histogram::Histogram)>,
}

impl RequestStats {
    pub fn snapshot(&self) -> RequestSnapshot {
        let (red, endpoint_series_overflow) = self.by_endpoint.snapshot();
        RequestSnapshot {
            capture: CAPTURE_COUNTERS
                .iter()
                .zip(&self.capture)
                .map(|(k, v)| (k.to_string(), v.load(Relaxed)))
                .collect(),
            data_records: self.data_records.load(Relaxed),
            bytes_parsed: self.bytes_parsed.load(Relaxed),
            bytes_lost: self.bytes_lost.load(Relaxed),
            bytes_not_copied: self.bytes_not_copied.load(Relaxed),
            requests: self.requests.load(Relaxed),
            requests_joined: self.requests_joined.load(Relaxed),
            parse_errors: self.parse_errors.load(Relaxed),
            resyncs: self.resyncs.load(Relaxed),
            orphan_responses: self.orphan_responses.load(Relaxed),
            pending_overflow: self.pending_overflow.load(Relaxed),
            streams_given_up: self.streams_given_up.load(Relaxed),
            streams_evicted: self.streams_evicted.load(Relaxed),
            streams_active: self.streams_active.load(Relaxed),
            tls_libraries: self.tls_libraries.load(Relaxed),
            tls_attach_failures: self.tls_attach_failures.load(Relaxed),
            endpoint_series_overflow,
            red,
        }
    }
}

impl RequestSnapshot {
    /// Appends the request families in Prometheus text format.
    pub fn write_prometheus(&self, out: &mut String) {
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
            write_family(out, name, kind, help, samples);
        };
        let capture: Vec<(String, u64)> = self
            .capture
            .iter()
            .map(|(k, v)| (format!("{{counter=\"{k}\"}}"), *v))
            .collect();
        family(
            "sonde_capture_kernel_total",
            "counter",
            "Request capture programs' own counters: calls and bytes copied, and what they did not copy.",
            &capture,
        );
        for (name, help, v) in [
            ("sonde_capture_records_total", "Data records the request path received.", self.data_records),
            ("sonde_capture_bytes_parsed_total", "Stream bytes given to the protocol parsers.", self.bytes_parsed),
            ("sonde_capture_bytes_lost_total", "Stream bytes never seen because their records were lost.", self.bytes_lost),
            ("sonde_capture_bytes_not_copied_total", "Stream bytes not copied on purpose (per-call limit, skipped bodies, sendfile).", self.bytes_not_copied),
            ("sonde_requests_total", "Request records produced.", self.requests),
            ("sonde_requests_joined_total", "Requests seen from both ends and joined into one record.", self.requests_joined),
            ("sonde_request_parse_errors_total", "Messages that failed to parse.", self.parse_errors),
            ("sonde_request_resyncs_total", "Times a parser discarded bytes to find a message start after a gap.", self.resyncs),
            ("sonde_request_orphan_responses_total", "Responses without a request (attached mid-connection).", self.orphan_responses),
            ("sonde_request_pending_overflow_total", "Requests dropped because too many were unanswered on one connection.", self.pending_overflow),
            ("sonde_request_streams_given_up_total", "Streams whose protocol was not recognised; their capture is muted.", self.streams_given_up),
            ("sonde_request_streams_evicted_total", "Streams evicted because the stream table was full.", self.streams_evicted),
            ("sonde_request_endpoint_series_overflow_total", "Requests counted in the _other series because the endpoint series budget was spent.", self.endpoint_series_overflow),
            ("sonde_tls_uprobe_attach_failures_total", "OpenSSL libraries the uprobes could not attach to.", self.tls_attach_failures),
        ] {
            family(name, "counter", help, &[(String::new(), v)]);
        }
        family(
            "sonde_request_streams",
            "gauge",
            "Streams being parsed.",
            &[(String::new(), self.streams_active)],
        );
        family(
            "sonde_tls_libraries",
            "gauge",
            "OpenSSL libraries the uprobes are attached to.",
            &[(String::new(), self.tls_libraries)],
        );
        self.write_red(out);
    }

    fn write_red(&self, out: &mut String) {
        let name = "sonde_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Request latency (request start to response end) by protocol, service, endpoint and status (budgeted; past it, label values are _other).\n# TYPE {name} histogram"
        );
        let (mut errors, mut totals) = (String::new(), String::new());
        for ([protocol, service, endpoint, status], h) in &self.red {
            let labels = format!(
                "protocol=\"{}\",service=\"{}\",endpoint=\"{}\",status=\"{}\"",
                escape(protocol),
                escape(service),
                escape(endpoint),
                escape(status)
            );
            let mut cumulative = 0;
            for (le, n) in LATENCY_BUCKETS.iter().zip(&h.buckets) {
                cumulative += n;
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            cumulative += h.buckets[LATENCY_BUCKETS.len()];
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum_seconds);
            let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
            let _ = writeln!(
                errors,
                "sonde_request_errors_total{{{labels}}} {}",
                h.errors
            );
            let _ = writeln!(
                totals,
                "sonde_request_endpoint_requests_total{{{labels}}} {}",
                h.count
            );
        }
        let _ = writeln!(out, "# HELP sonde_request_errors_total Failed requests (HTTP 5xx, DNS failures but NXDOMAIN, no response) by protocol, service, endpoint and status.\n# TYPE sonde_request_errors_total counter");
        out.push_str(&errors);
        let _ = writeln!(out, "# HELP sonde_request_endpoint_requests_total Requests by protocol, service, endpoint and status, answered or not.\n# TYPE sonde_request_endpoint_requests_total counter");
        out.push_str(&totals);
    }
}
