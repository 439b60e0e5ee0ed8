//! The agent pipeline: kernel ring buffer → process table → event store →
//! live subscribers, with every loss counted. See ARCHITECTURE.md.

mod agent;
mod clock;
mod config;
pub mod detect;
pub mod enforce;
mod kallsyms;
mod kernel_counters;
mod labelled_counter;
mod labelled_histogram;
pub mod metrics;
mod network_events;
mod process_table;
mod processor;
mod procfs;
pub mod profiling;
mod record_batch;
mod requests;
mod ring_reader;
mod security_events;
mod stats;
mod tls_libraries;
mod udp_flows;
mod writer;

pub use agent::{Agent, AgentHandle, AgentStatus, CollectorStatus};
pub use config::{AgentConfig, DEFAULT_WATCH_PATHS};
pub use stats::{Stats, StatsSnapshot};

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Bpf(#[from] sonde_bpf::BpfError),
    #[error("cannot read the kernel's boot id: {0}")]
    BootId(#[from] std::io::Error),
    #[error("cannot read the kernel's drop reasons from its BTF: {0}")]
    DropReasons(libbpf_rs::Error),
    #[error(transparent)]
    Metrics(#[from] metrics::ConfigError),
    #[error("detection rules refused:\n{0}")]
    Rules(#[from] detect::RulesError),
    #[error(transparent)]
    Enforce(#[from] enforce::PolicyError),
    #[error("cannot start the profiler's symbolizer: {0}")]
    Symbolizer(#[from] sonde_symbolize::SymbolizeError),
}
