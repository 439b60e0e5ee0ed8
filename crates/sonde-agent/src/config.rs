use std::time::Duration;

use sonde_store::Retention;

use crate::detect::RuleSources;
use crate::enforce::PolicySources;
use crate::metrics::MetricsConfig;

/// How the agent's pipeline is sized. Defaults hold an exec storm of tens of
/// thousands of processes per second without loss.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Kernel ring buffer size in bytes (rounded up to a power of two).
    pub ring_bytes: u32,
    /// The request capture's ring buffer (it carries socket bytes).
    pub capture_ring_bytes: u32,
    /// Record batches (one per ring-buffer drain, at most 4096 records each)
    /// queued between the ring-buffer reader and the process table.
    pub record_queue: usize,
    /// Event batches queued between the process table and the store writer.
    pub event_queue: usize,
    /// Most events written in one store transaction.
    pub batch_max: usize,
    /// Longest an event waits for its batch to fill.
    pub batch_wait: Duration,
    /// A live TCP connection reports its totals at most this often.
    pub tcp_report_interval: Duration,
    /// UDP flows that carried packets are reported this often.
    pub udp_report_interval: Duration,
    /// A UDP flow idle this long is forgotten (a later packet starts a new one).
    pub udp_idle_timeout: Duration,
    /// Drop records each CPU may send per second; every drop is counted regardless.
    pub drop_records_per_sec: u64,
    pub retention: Retention,
    pub retention_every: Duration,
    /// Live events buffered per `--follow` client before it starts missing some.
    pub live_buffer: usize,
    /// Continuous profiling's rate on each CPU; 0 turns it off (on-demand
    /// profiles still work).
    pub profile_hz: u32,
    /// Continuous profiles are stored per process per window this long.
    pub profile_window: Duration,
    /// Copy the top of each sampled user stack and unwind it from `.eh_frame`
    /// where frame pointers fail (code built without them).
    pub profile_unwind_dwarf: bool,
    /// Metrics derived from events (added to the built-in set) and
    /// exporters to scrape, into the metrics store.
    pub metrics: MetricsConfig,
    /// Derived metrics and sonde's own are written to the metrics store
    /// this often.
    pub metrics_interval: Duration,
    /// File operations on these path prefixes (and below) are reported,
    /// filtered in the kernel (at most 1024 prefixes of at most 255 bytes);
    /// `PATH:write` reports modifications only. Empty: no file events, and
    /// the file syscalls are not hooked.
    pub watch_paths: Vec<String>,
    /// Detection rules: the built-in set, `--rules` files, `--canary` paths.
    /// A set that does not load refuses the start.
    pub rules: RuleSources,
    /// `--alert-webhook`: each alert is POSTed there as JSON.
    pub alert_webhook: Option<String>,
    /// Enforcement policies (`--enforce-policy`), installed at start and
    /// again on every rules reload. A set that is refused refuses the start.
    pub enforce: PolicySources,
}

/// The default `watch_paths`: every operation on secrets and persistence
/// points; modifications only (`:write`) where binaries, libraries,
/// configuration, logs and scratch files live, which every process reads.
/// (Prefixes have no wildcards: reads of `/home/*/.ssh` are not covered.)
pub const DEFAULT_WATCH_PATHS: [&str; 26] = [
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssh",
    "/etc/ld.so.preload",
    "/etc/cron.d",
    "/etc/systemd",
    "/root/.ssh",
    "/boot",
    "/var/spool/cron",
    "/etc:write",
    "/root:write",
    "/home:write",
    "/usr/bin:write",
    "/usr/sbin:write",
    "/usr/lib:write",
    "/usr/local:write",
    "/lib:write",
    "/lib64:write",
    "/bin:write",
    "/sbin:write",
    "/tmp:write",
    "/dev/shm:write",
    "/var/tmp:write",
    "/var/log:write",
];

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            ring_bytes: 32 << 20,
            capture_ring_bytes: 64 << 20,
            // 64 batches of at most 4096 records: ~260k records, tens of MB
            // at worst, several seconds of the fastest exec storm.
            record_queue: 64,
            event_queue: 64,
            batch_max: 8192,
            batch_wait: Duration::from_millis(100),
            tcp_report_interval: Duration::from_secs(30),
            drop_records_per_sec: 2000,
            udp_report_interval: Duration::from_secs(30),
            udp_idle_timeout: Duration::from_secs(120),
            retention: Retention {
                max_age: Some(Duration::from_secs(7 * 24 * 3600)),
                max_bytes: Some(1 << 30),
            },
            retention_every: Duration::from_secs(60),
            live_buffer: 1 << 14,
            // 19 Hz like other continuous profilers: off the beat of periodic
            // work at round rates, and cheap.
            profile_hz: 19,
            profile_window: Duration::from_secs(10),
            profile_unwind_dwarf: true,
            metrics: MetricsConfig::default(),
            metrics_interval: Duration::from_secs(15),
            watch_paths: DEFAULT_WATCH_PATHS.map(String::from).to_vec(),
            rules: RuleSources {
                builtin: true,
                ..RuleSources::default()
            },
            alert_webhook: None,
            enforce: PolicySources::default(),
        }
    }
}
