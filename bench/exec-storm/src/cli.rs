use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Exec storm: N short processes per second, optionally measured against a
/// running sonde agent.
#[derive(Parser)]
#[command(name = "exec-storm", args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub storm: StormArgs,
}

#[derive(Subcommand)]
pub enum Command {
    /// Prints storms side by side from their `--json` results.
    Compare(CompareArgs),
}

#[derive(Args)]
pub struct StormArgs {
    /// Target execs per second over all workers; 0 = as fast as possible.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Seconds the storm lasts.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Spawning threads (default: the number of CPUs).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Executable to spawn. Default: a static no-libc `storm-true` built with
    /// `cc` into a fresh temp dir (or /bin/true when `cc` is missing).
    #[arg(long)]
    pub exe: Option<PathBuf>,
    /// The agent's API (`127.0.0.1:9090` or `http://...`): measure the agent.
    #[arg(long, requires = "agent_pid")]
    pub server: Option<String>,
    /// The agent's pid, for its CPU time.
    #[arg(long, requires = "server")]
    pub agent_pid: Option<u32>,
    /// Also measure the agent's eBPF programs in the kernel (`bpftool`;
    /// counts only while kernel.bpf_stats_enabled is 1).
    #[arg(long, requires = "agent_pid")]
    pub bpf_stats: bool,
    /// Longest wait, in seconds, for the agent to store the storm's events.
    #[arg(long, default_value_t = 15.0)]
    pub settle: f64,
    /// Name of this run in the output.
    #[arg(long, default_value = "storm")]
    pub label: String,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct CompareArgs {
    /// `--json` result of the storm without the agent.
    #[arg(long)]
    pub without: PathBuf,
    /// `--json` results of storms with the agent.
    #[arg(long = "with", required = true)]
    pub with: Vec<PathBuf>,
    /// The exec rate the loss goal asks for.
    #[arg(long, default_value_t = 20_000)]
    pub goal_rate: u64,
}
