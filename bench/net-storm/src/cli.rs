use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// TCP on loopback (a connection storm, one bulk transfer, a byte oracle),
/// optionally measured against a running sonde agent.
#[derive(Parser)]
#[command(name = "net-storm")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Short connections as fast as possible: connect, send 1 byte, the
    /// server reads it and closes, the client closes.
    Conns(ConnsArgs),
    /// One connection sending as fast as possible.
    Bulk(BulkArgs),
    /// Connections with known byte counts: sonde's records against `ss -tin`.
    Oracle(OracleArgs),
    /// Prints the runs side by side from their `--json` results.
    Report(ReportArgs),
}

/// The agent to measure.
#[derive(Args)]
pub struct AgentArgs {
    /// The agent's API (`127.0.0.1:9090` or `http://...`).
    #[arg(long, requires = "agent_pid")]
    pub server: Option<String>,
    /// The agent's pid, for its CPU time.
    #[arg(long, requires = "server")]
    pub agent_pid: Option<u32>,
    /// Longest wait, in seconds, for the agent to store the run's events.
    #[arg(long, default_value_t = 20.0)]
    pub settle: f64,
}

#[derive(Args)]
pub struct Output {
    /// Name of this run in the output.
    #[arg(long, default_value = "run")]
    pub label: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ConnsArgs {
    /// Seconds the storm lasts.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Connecting threads (default: 2 per CPU).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Accepting threads (default: 1 per CPU).
    #[arg(long)]
    pub acceptors: Option<usize>,
    #[command(flatten)]
    pub agent: AgentArgs,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Args)]
pub struct BulkArgs {
    /// Seconds the transfer lasts.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Bytes per write() and read().
    #[arg(long, default_value_t = 1 << 20)]
    pub buffer: usize,
    #[command(flatten)]
    pub agent: AgentArgs,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Args)]
pub struct OracleArgs {
    /// Connections; the i-th (from 1) sends i*7919 bytes to the server and
    /// receives i*104729.
    #[arg(long, default_value_t = 20)]
    pub connections: u64,
    /// Milliseconds between the first and the second side's close.
    #[arg(long, default_value_t = 300)]
    pub close_gap_ms: u64,
    #[command(flatten)]
    pub agent: AgentArgs,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Args)]
pub struct ReportArgs {
    #[arg(long)]
    pub conns_without: PathBuf,
    #[arg(long)]
    pub conns_with: PathBuf,
    #[arg(long)]
    pub bulk_without: PathBuf,
    #[arg(long)]
    pub bulk_with: PathBuf,
    #[arg(long)]
    pub oracle: Option<PathBuf>,
    /// The connection rate the loss goal asks for.
    #[arg(long, default_value_t = 100_000)]
    pub goal_rate: u64,
}
