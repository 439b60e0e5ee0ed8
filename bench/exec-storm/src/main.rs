//! exec-storm: spawns short processes as fast as possible (or at a target
//! rate) and, given a running sonde agent, measures what it recorded, what it
//! counted as lost and the CPU it spent. See `bench/exec-storm.sh`.

mod api;
mod bpf_stats;
mod cli;
mod compare;
mod measure;
mod report;
mod storm;
mod tiny_exe;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    match cli.command {
        Some(cli::Command::Compare(args)) => compare::run(&args),
        None => measure::run(&cli.storm),
    }
}
