//! net-storm: TCP on loopback (a connection storm, a bulk transfer, a byte
//! oracle against `ss -tin`) and, given a running sonde agent, what it
//! recorded, counted as lost and spent. See `bench/net-storm.sh`.

mod api;
mod bpf_misses;
mod bulk;
mod cli;
mod conns;
mod oracle;
mod oracle_table;
mod probe;
mod report;
mod ss;
mod storm;
mod warnings;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    match cli::Cli::parse().command {
        cli::Command::Conns(args) => conns::run(&args),
        cli::Command::Bulk(args) => bulk::run(&args),
        cli::Command::Oracle(args) => oracle::run(&args),
        cli::Command::Report(args) => report::run(&args),
    }
}
