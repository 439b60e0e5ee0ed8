//! The `sonde` command: parses the command line and hands each subcommand to
//! its module under `cmd/`.

mod client;
mod cmd;
mod render;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// eBPF observability for Linux hosts: process lifecycle events, on
/// tracepoints only, kept in an embedded store.
#[derive(Parser)]
#[command(name = "sonde", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the collectors, the event store and the HTTP API.
    Agent(cmd::agent::Args),
    /// Show alerts raised by the detection rules (stored and live); reload the rules.
    Alerts(cmd::alerts::Args),
    /// Rebuild HTTP and DNS requests from a capture file, offline (no root, no agent).
    Analyze(cmd::analyze::Args),
    /// Probe the running kernel and show which collector runs on which hooks.
    Doctor(cmd::doctor::Args),
    /// Show stored and live events from a running agent.
    Events(cmd::events::Args),
    /// Show TCP connections and packet drops (events of those types).
    Flows(cmd::events::Args),
    /// Show who talks to whom: the service map over a time range.
    Map(cmd::map::Args),
    /// Show the enforcement policies the kernel runs now (kill, deny-connect).
    Policies(cmd::policies::Args),
    /// Profile CPU use: flame graphs, pprof, folded stacks or the hottest functions.
    Profile(cmd::profile::Args),
    /// Run a PromQL query against the agent's metrics: an instant query, or --range.
    Query(cmd::query::Args),
    /// Show HTTP and DNS requests: who asked whom for what, the answer and how long it took.
    Requests(cmd::requests::Args),
    /// Show a running agent's collectors, counters and losses.
    Status(cmd::status::Args),
    /// Print the JSON Schema of the events.
    Schema,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cmd::usage_error(e),
    };
    if !matches!(cli.command, Command::Agent(_)) {
        // Short-lived commands end quietly when their reader goes (`| head`).
        // SAFETY: called before any thread starts; SIG_DFL is always valid.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let result = match cli.command {
        Command::Agent(args) => cmd::agent::run(args),
        Command::Alerts(args) => cmd::alerts::run(args),
        Command::Analyze(args) => cmd::analyze::run(args),
        Command::Doctor(args) => cmd::doctor::run(args),
        Command::Events(args) => cmd::events::run(args),
        Command::Flows(args) => cmd::events::run_flows(args),
        Command::Map(args) => cmd::map::run(args),
        Command::Policies(args) => cmd::policies::run(args),
        Command::Profile(args) => cmd::profile::run(args),
        Command::Query(args) => cmd::query::run(args),
        Command::Requests(args) => cmd::requests::run(args),
        Command::Status(args) => cmd::status::run(args),
        Command::Schema => cmd::schema::run(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sonde: error: {}", cmd::one_line(&e));
            ExitCode::FAILURE
        }
    }
}
