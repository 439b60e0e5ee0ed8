//! tsdb-bench: sonde-tsdb and sonde-promql side by side with a real
//! Prometheus. Driven by bench/tsdb-vs-prometheus.sh; each subcommand is one
//! step of it.

mod bytes;
mod corpus;
mod disk;
mod expo;
mod http;
mod ingest;
mod promblock;
mod query;
mod rng;
#[cfg(feature = "serve")]
mod serve;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Start of a 2 h block (a multiple of 7 200 000 ms): data from here on
/// falls into Prometheus blocks whose boundaries are also 120-sample chunk
/// boundaries at a 15 s interval.
const T0_MS: i64 = 1_699_999_200_000;

#[derive(Parser)]
#[command(about = "sonde-tsdb / sonde-promql vs Prometheus benchmark steps")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Turns saved scrapes (DIR/<job>/<N>.txt) into an OpenMetrics corpus.
    Corpus {
        #[arg(long)]
        scrapes: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Timestamp of scrape N: t0 + N x interval.
        #[arg(long, default_value_t = 15_000)]
        interval_ms: i64,
    },
    /// Bytes per sample, Prometheus (promtool blocks) vs sonde (head).
    Bytes {
        #[arg(long)]
        corpus: PathBuf,
        /// Where synthetic corpora and promtool's blocks go.
        #[arg(long)]
        work: PathBuf,
        #[arg(long, default_value = "promtool")]
        promtool: PathBuf,
    },
    /// Head-append ingest rate on one thread.
    Ingest {
        #[arg(long, default_value_t = 10_000)]
        series: usize,
        #[arg(long, default_value_t = 1_000)]
        samples: usize,
    },
    /// Serves the corpus over Prometheus's HTTP API (feature `serve`).
    Serve {
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
    },
    /// Prints the optional features built in, one a line.
    Features,
    /// Query latency and answers, sonde vs Prometheus.
    Query {
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long)]
        sonde: String,
        #[arg(long)]
        prometheus: String,
        #[arg(long, default_value_t = 20)]
        reps: usize,
        /// Keeps evaluation times this far off the 15 s sample grid:
        /// instant queries at the corpus end minus it, range queries from
        /// its start plus it.
        #[arg(long, default_value_t = 7_000)]
        offset_ms: i64,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Corpus {
            scrapes,
            out,
            interval_ms,
        } => {
            let built = corpus::build(&scrapes, T0_MS, interval_ms, &out)?;
            println!(
                "corpus {}: {} scrapes (of all targets), {} series, {} samples",
                out.display(),
                built.scrapes,
                built.series,
                built.samples
            );
        }
        Command::Bytes {
            corpus: input,
            work,
            promtool,
        } => {
            std::fs::create_dir_all(&work)?;
            let mut rows = Vec::new();
            let realistic = corpus::read(&input)?;
            rows.push(bytes::measure(
                "realistic",
                &promtool,
                &input,
                &work.join("realistic-blocks"),
                &realistic,
            )?);
            for case in ["constant", "counter", "random"] {
                let series = bytes::synthetic(case, T0_MS);
                let file = work.join(format!("{case}.om"));
                corpus::write(&series, &file)?;
                let blocks = work.join(format!("{case}-blocks"));
                rows.push(bytes::measure(case, &promtool, &file, &blocks, &series)?);
            }
            bytes::print_table(&rows);
        }
        Command::Ingest { series, samples } => {
            let results = ["append", "append_batch", "append+wal", "append_batch+wal"]
                .into_iter()
                .map(|mode| ingest::run(mode, series, samples))
                .collect::<anyhow::Result<Vec<_>>>()?;
            ingest::print_table(&results);
        }
        Command::Serve { corpus, listen } => serve(&corpus, &listen)?,
        Command::Features => {
            if cfg!(feature = "serve") {
                println!("serve");
            }
        }
        Command::Query {
            corpus: input,
            sonde,
            prometheus,
            reps,
            offset_ms,
        } => {
            let series = corpus::read(&input)?;
            let times = series.iter().flat_map(|(_, p)| p.iter().map(|&(t, _)| t));
            let span = (
                times.clone().min().context("empty corpus")? + offset_ms,
                times.max().context("empty corpus")? - offset_ms,
            );
            let servers = [
                query::Server::new("sonde", &sonde),
                query::Server::new("prom", &prometheus),
            ];
            let outcomes = query::run(&servers, span, reps);
            query::print_table(&servers, &outcomes);
        }
    }
    Ok(())
}

#[cfg(feature = "serve")]
fn serve(corpus: &std::path::Path, listen: &str) -> anyhow::Result<()> {
    serve::run(corpus, listen)
}

#[cfg(not(feature = "serve"))]
fn serve(_: &std::path::Path, _: &str) -> anyhow::Result<()> {
    anyhow::bail!("built without feature `serve` (sonde-api's prom router)")
}
