//! The pipeline's own counters: what each stage received, produced and lost.
//! One struct shared by every stage; rendered as Prometheus text on
//! `/metrics` and as JSON in `sonde status`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;
use std::sync::Mutex;

use crate::detect::stats::{DetectSnapshot, DetectStats};
use crate::labelled_counter::LabelledCounter;
use crate::metrics::stats::{MetricsSnapshot, MetricsStats};
use crate::profiling::stats::{ProfilerSnapshot, ProfilerStats};
use crate::requests::stats::{RequestSnapshot, RequestStats, CAPTURE_COUNTERS};
use crate::security_events::{SecuritySnapshot, SecurityStats};

use sonde_bpf::abi::{EVENT_TYPE_MAX, NET_COUNTER_MAX};
use sonde_bpf::decode::DecodeError;

/// Kernel record types by ABI number, as metric labels.
pub const RECORD_TYPES: [&str; EVENT_TYPE_MAX as usize] = [
    "none", "exec", "exit", "fork", "tcp", "drop", "data", "sample", "file", "security", "enforce",
    "listen",
];

/// `abi::NET_*` counters, as metric names.
pub const NET_COUNTERS: [&str; NET_COUNTER_MAX as usize] = [
    "tcp_connections_untracked",
    "drop_records_suppressed",
    "drop_reasons_untracked",
    "resets_sent_untracked",
    "udp_flows_untracked",
];

const DECODE_REASONS: [&str; 5] = ["short", "version", "size", "unknown_type", "overrun"];

/// Series of `sonde_tcp_connections_by_workload_total` kept before overflow.
pub const WORKLOAD_SERIES_BUDGET: usize = 1000;

#[derive(Default)]
pub struct Stats {
    /// Ended TCP connections by (client workload, server workload, server port).
    pub tcp_by_workload: LabelledCounter<3, WORKLOAD_SERIES_BUDGET>,
    /// Records read from the ring buffer, per type.
    pub records: [AtomicU64; EVENT_TYPE_MAX as usize],
    /// Records the kernel could not reserve ring-buffer space for, per type
    /// (the last reading of the kernel's per-CPU counters).
    pub kernel_lost: [AtomicU64; EVENT_TYPE_MAX as usize],
    pub decode_errors: [AtomicU64; DECODE_REASONS.len()],
    /// Records dropped because the queue between the ring-buffer reader and
    /// the process table was full.
    pub queue_dropped: AtomicU64,
    pub exec_events: AtomicU64,
    pub exit_events: AtomicU64,
    pub tcp_events: AtomicU64,
    pub drop_events: AtomicU64,
    pub udp_events: AtomicU64,
    /// Listening sockets opened and closed.
    pub listen_events: AtomicU64,
    /// The network programs' own counters (`NET_COUNTERS`).
    pub net: [AtomicU64; NET_COUNTER_MAX as usize],
    /// Every drop the kernel made, by reason name (records or not).
    pub drops_by_reason: Mutex<BTreeMap<String, u64>>,
    /// Runs of each program the kernel skipped (another BPF program was
    /// running on the CPU); each may be a lost record.
    pub kernel_skipped_runs: Mutex<BTreeMap<String, u64>>,
    /// Closed TCP connections by `direction/end` (bounded: 3 × 5 labels).
    pub tcp_closed: Mutex<BTreeMap<String, u64>>,
    pub tcp_bytes_sent: AtomicU64,
    pub tcp_bytes_received: AtomicU64,
    pub tcp_retransmits: AtomicU64,
    pub tcp_resets_sent: AtomicU64,
    pub tcp_resets_received: AtomicU64,
    /// Exec records whose argv was cut at the capture bound.
    pub argv_truncated: AtomicU64,
    /// Exits of processes the table did not know (rebuilt from the record alone).
    pub exits_unknown_process: AtomicU64,
    /// Events dropped because the queue to the store writer was full.
    pub store_queue_dropped: AtomicU64,
    pub stored_events: AtomicU64,
    pub stored_bytes: AtomicU64,
    /// Events that could not be written (store errors).
    pub store_failed_events: AtomicU64,
    pub retention_deleted_events: AtomicU64,
    /// Live events a slow `--follow` client missed.
    pub subscriber_lagged: AtomicU64,
    pub process_table_size: AtomicU64,
    /// The request path: capture, streams, parsers, RED metrics.
    pub requests: RequestStats,
    pub profiler: ProfilerStats,
    /// The detection stage: rules, alerts, reloads, webhook.
    pub detect: DetectStats,
    /// File and security events.
    pub security: SecurityStats,
    /// The metrics store's feeds: derived metrics, flushes, scrapes.
    pub metrics: MetricsStats,
}

impl Stats {
    pub fn count_decode_error(&self, e: &DecodeError) {
        let i = DECODE_REASONS
            .iter()
            .position(|r| *r == e.reason())
            .unwrap_or(0);
        self.decode_errors[i].fetch_add(1, Relaxed);
    }

    /// Counts a connection's final report into the flow metrics.
    pub fn count_closed_connection(&self, c: &sonde_event::TcpConnection) {
        let key = format!("{}/{}", c.direction.as_str(), c.end.as_str());
        if let Ok(mut map) = self.tcp_closed.lock() {
            *map.entry(key).or_default() += 1;
        }
        self.tcp_bytes_sent.fetch_add(c.bytes_sent, Relaxed);
        self.tcp_bytes_received.fetch_add(c.bytes_received, Relaxed);
        self.tcp_retransmits
            .fetch_add(u64::from(c.retransmits), Relaxed);
        self.tcp_resets_sent
            .fetch_add(u64::from(c.resets_sent), Relaxed);
        self.tcp_resets_received
            .fetch_add(u64::from(c.resets_received), Relaxed);
        let (client, server) = c.client_server();
        let (client_workload, server_workload) = match c.direction {
            sonde_event::Direction::Accept => {
                (client.ip.to_string(), workload_label(c.process.as_ref()))
            }
            _ => (workload_label(c.process.as_ref()), server.ip.to_string()),
        };
        self.tcp_by_workload.add(
            [client_workload, server_workload, server.port.to_string()],
            1,
        );
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let (tcp_by_workload, metric_series_overflow) = self.tcp_by_workload.snapshot();
        let per_type = |a: &[AtomicU64; EVENT_TYPE_MAX as usize]| {
            RECORD_TYPES[1..]
                .iter()
                .zip(&a[1..])
                .map(|(t, n)| (t.to_string(), n.load(Relaxed)))
                .collect()
        };
        StatsSnapshot {
            records: per_type(&self.records),
            kernel_lost: per_type(&self.kernel_lost),
            decode_errors: DECODE_REASONS
                .iter()
                .zip(&self.decode_errors)
                .map(|(r, n)| (r.to_string(), n.load(Relaxed)))
                .collect(),
            queue_dropped: self.queue_dropped.load(Relaxed),
            exec_events: self.exec_events.load(Relaxed),
            exit_events: self.exit_events.load(Relaxed),
            tcp_events: self.tcp_events.load(Relaxed),
            drop_events: self.drop_events.load(Relaxed),
            udp_events: self.udp_events.load(Relaxed),
            listen_events: self.listen_events.load(Relaxed),
            net: NET_COUNTERS
                .iter()
                .zip(&self.net)
                .map(|(r, n)| (r.to_string(), n.load(Relaxed)))
                .collect(),
            drops_by_reason: self
                .drops_by_reason
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
            kernel_skipped_runs: self
                .kernel_skipped_runs
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
            tcp_closed: self
                .tcp_closed
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
            tcp_by_workload,
            metric_series_overflow,
            tcp_bytes_sent: self.tcp_bytes_sent.load(Relaxed),
            tcp_bytes_received: self.tcp_bytes_received.load(Relaxed),
            tcp_retransmits: self.tcp_retransmits.load(Relaxed),
            tcp_resets_sent: self.tcp_resets_sent.load(Relaxed),
            tcp_resets_received: self.tcp_resets_received.load(Relaxed),
            argv_truncated: self.argv_truncated.load(Relaxed),
            exits_unknown_process: self.exits_unknown_process.load(Relaxed),
            store_queue_dropped: self.store_queue_dropped.load(Relaxed),
            stored_events: self.stored_events.load(Relaxed),
            stored_bytes: self.stored_bytes.load(Relaxed),
            store_failed_events: self.store_failed_events.load(Relaxed),
            retention_deleted_events: self.retention_deleted_events.load(Relaxed),
            subscriber_lagged: self.subscriber_lagged.load(Relaxed),
            process_table_size: self.process_table_size.load(Relaxed),
            requests: self.requests.snapshot(),
            profiler: self.profiler.snapshot(),
            detect: self.detect.snapshot(),
            security: self.security.snapshot(),
            metrics: self.metrics.snapshot(),
        }
    }
}

/// One metric family in Prometheus text format: HELP, TYPE, then each
/// sample (`labels` is `{k="v",…}` or empty).
pub(crate) fn write_family(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: &[(String, u64)],
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// Prometheus label value escaping.
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A workload as a metric label: its container, else its binary's file name.
pub(crate) fn workload_label(w: Option<&sonde_event::Workload>) -> String {
    match w {
        Some(w) => match &w.container {
            Some(c) => c.id.chars().take(12).collect(),
            None => w
                .binary
                .rsplit('/')
                .next()
                .filter(|b| !b.is_empty())
                .unwrap_or(&w.comm)
                .to_string(),
        },
        None => "unknown".into(),
    }
}

/// A consistent-enough copy of [`Stats`] for `sonde status`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StatsSnapshot {
    pub records: BTreeMap<String, u64>,
    pub kernel_lost: BTreeMap<String, u64>,
    pub decode_errors: BTreeMap<String, u64>,
    pub queue_dropped: u64,
    pub exec_events: u64,
    pub exit_events: u64,
    pub tcp_events: u64,
    pub drop_events: u64,
    pub udp_events: u64,
    #[serde(default)]
    pub listen_events: u64,
    pub net: BTreeMap<String, u64>,
    pub drops_by_reason: BTreeMap<String, u64>,
    pub kernel_skipped_runs: BTreeMap<String, u64>,
    pub tcp_closed: BTreeMap<String, u64>,
    /// ([client, server, port], connections)
    pub tcp_by_workload: Vec<([String; 3], u64)>,
    /// Increments folded into overflow series because of the series budget.
    pub metric_series_overflow: u64,
    pub tcp_bytes_sent: u64,
    pub tcp_bytes_received: u64,
    pub tcp_retransmits: u64,
    pub tcp_resets_sent: u64,
    pub tcp_resets_received: u64,
    pub argv_truncated: u64,
    pub exits_unknown_process: u64,
    pub store_queue_dropped: u64,
    pub stored_events: u64,
    pub stored_bytes: u64,
    pub store_failed_events: u64,
    pub retention_deleted_events: u64,
    pub subscriber_lagged: u64,
    pub process_table_size: u64,
    pub requests: RequestSnapshot,
    pub profiler: ProfilerSnapshot,
    pub detect: DetectSnapshot,
    #[serde(default)]
    pub security: SecuritySnapshot,
    #[serde(default)]
    pub metrics: MetricsSnapshot,
}

impl StatsSnapshot {
    /// Everything lost anywhere between the kernel and the store. Drop
    /// records over the rate limit are not lost: every drop is still counted
    /// by reason.
    pub fn total_lost(&self) -> u64 {
        self.kernel_lost.values().sum::<u64>()
            + self.decode_errors.values().sum::<u64>()
            + self.queue_dropped
            + self.store_queue_dropped
            + self.store_failed_events
            + self.net.get(NET_COUNTERS[0]).copied().unwrap_or(0)
            + self.net.get(NET_COUNTERS[2]).copied().unwrap_or(0)
            + self.net.get(NET_COUNTERS[4]).copied().unwrap_or(0)
            + self.kernel_skipped_runs.values().sum::<u64>()
            + [CAPTURE_COUNTERS[4], CAPTURE_COUNTERS[5]]
                .iter()
                .map(|c| self.requests.capture.get(*c).copied().unwrap_or(0))
                .sum::<u64>()
            + self.profiler.lost()
            + self.detect.dropped_events
            + self.security.lost()
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
            write_family(&mut out, name, kind, help, samples);
        };
        let labelled = |label: &str, v: &BTreeMap<String, u64>| -> Vec<(String, u64)> {
            v.iter()
                .map(|(l, n)| (format!("{{{label}=\"{l}\"}}"), *n))
                .collect()
        };
        let one = |n: u64| vec![(String::new(), n)];
        family(
            "sonde_ringbuf_records_total",
            "counter",
            "Records read from the kernel ring buffer.",
            &labelled("type", &self.records),
        );
        family(
            "sonde_kernel_lost_records_total",
            "counter",
            "Records the kernel dropped because the ring buffer was full.",
            &labelled("type", &self.kernel_lost),
        );
        family(
            "sonde_decode_errors_total",
            "counter",
            "Ring-buffer records that failed to decode.",
            &labelled("reason", &self.decode_errors),
        );
        family(
            "sonde_queue_dropped_records_total",
            "counter",
            "Records dropped because the processing queue was full.",
            &one(self.queue_dropped),
        );
        family(
            "sonde_events_total",
            "counter",
            "Events produced by the pipeline.",
            &[
                ("{type=\"process_exec\"}".into(), self.exec_events),
                ("{type=\"process_exit\"}".into(), self.exit_events),
                ("{type=\"tcp_connection\"}".into(), self.tcp_events),
                ("{type=\"packet_drop\"}".into(), self.drop_events),
                ("{type=\"udp_flow\"}".into(), self.udp_events),
                ("{type=\"listen\"}".into(), self.listen_events),
                ("{type=\"request\"}".into(), self.requests.requests),
            ],
        );
        family(
            "sonde_network_kernel_total",
            "counter",
            "Network programs' own counters: what they could not track or chose not to send.",
            &labelled("counter", &self.net),
        );
        family(
            "sonde_kernel_skipped_runs_total",
            "counter",
            "Runs of sonde's programs the kernel skipped because another BPF program was running on the CPU; each may be a lost record.",
            &labelled("program", &self.kernel_skipped_runs),
        );
        family(
            "sonde_packet_drops_total",
            "counter",
            "Packets the kernel dropped, by the kernel's drop reason (every drop, recorded or not).",
            &labelled("reason", &self.drops_by_reason),
        );
        let closed: Vec<(String, u64)> = self
            .tcp_closed
            .iter()
            .map(|(key, n)| {
                let (direction, end) = key.split_once('/').unwrap_or((key, ""));
                (format!("{{direction=\"{direction}\",end=\"{end}\"}}"), *n)
            })
            .collect();
        family(
            "sonde_tcp_connections_closed_total",
            "counter",
            "TCP connections that ended, by direction and how they ended.",
            &closed,
        );
        let by_workload: Vec<(String, u64)> = self
            .tcp_by_workload
            .iter()
            .map(|([client, server, port], n)| {
                (
                    format!(
                        "{{client=\"{}\",server=\"{}\",port=\"{port}\"}}",
                        escape(client),
                        escape(server)
                    ),
                    *n,
                )
            })
            .collect();
        family(
            "sonde_tcp_connections_by_workload_total",
            "counter",
            "Ended TCP connections by client workload, server workload and port (budgeted; past it, label values are _other).",
            &by_workload,
        );
        family(
            "sonde_metric_series_overflow_total",
            "counter",
            "Increments that went to an _other series because a metric's series budget was spent.",
            &one(self.metric_series_overflow),
        );
        family(
            "sonde_tcp_bytes_total",
            "counter",
            "Data bytes of ended TCP connections.",
            &[
                ("{direction=\"sent\"}".into(), self.tcp_bytes_sent),
                ("{direction=\"received\"}".into(), self.tcp_bytes_received),
            ],
        );
        family(
            "sonde_tcp_retransmits_total",
            "counter",
            "Retransmitted segments of ended TCP connections.",
            &one(self.tcp_retransmits),
        );
        family(
            "sonde_tcp_resets_total",
            "counter",
            "Resets of tracked TCP connections.",
            &[
                ("{direction=\"sent\"}".into(), self.tcp_resets_sent),
                ("{direction=\"received\"}".into(), self.tcp_resets_received),
            ],
        );
        family(
            "sonde_exec_argv_truncated_total",
            "counter",
            "Exec events whose argv was cut at the capture bound.",
            &one(self.argv_truncated),
        );
        family(
            "sonde_exit_unknown_process_total",
            "counter",
            "Exits of processes the process table did not know.",
            &one(self.exits_unknown_process),
        );
        family(
            "sonde_store_queue_dropped_events_total",
            "counter",
            "Events dropped because the store writer's queue was full.",
            &one(self.store_queue_dropped),
        );
        family(
            "sonde_store_written_events_total",
            "counter",
            "Events durably written to the event store.",
            &one(self.stored_events),
        );
        family(
            "sonde_store_written_bytes_total",
            "counter",
            "Encoded bytes written to the event store.",
            &one(self.stored_bytes),
        );
        family(
            "sonde_store_failed_events_total",
            "counter",
            "Events the event store failed to write.",
            &one(self.store_failed_events),
        );
        family(
            "sonde_retention_deleted_events_total",
            "counter",
            "Events deleted by retention.",
            &one(self.retention_deleted_events),
        );
        family(
            "sonde_subscriber_lagged_events_total",
            "counter",
            "Live events a slow follower missed.",
            &one(self.subscriber_lagged),
        );
        family(
            "sonde_process_table_entries",
            "gauge",
            "Processes in the process table.",
            &one(self.process_table_size),
        );
        self.requests.write_prometheus(&mut out);
        self.profiler.write_prometheus(&mut out);
        self.detect.write_prometheus(&mut out);
        self.security.write_prometheus(&mut out);
        self.metrics.write_prometheus(&mut out);
        out
    }
}
