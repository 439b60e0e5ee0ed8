use std::process::ExitCode;

use anyhow::Context;
use sonde_event::ServiceMap;

use crate::client::Client;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MapOutput {
    Table,
    Json,
    Dot,
}

#[derive(clap::Args)]
pub struct Args {
    /// From this time: RFC 3339, or a duration ago (default 1h).
    #[arg(long)]
    since: Option<String>,
    /// Up to this time.
    #[arg(long)]
    until: Option<String>,
    #[arg(short, long, value_enum, default_value = "table")]
    output: MapOutput,
    /// Address of the agent's API.
    #[arg(long, env = "SONDE_SERVER", default_value = super::DEFAULT_SERVER)]
    server: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut query = Vec::new();
    if let Some(since) = &args.since {
        query.push(("since", since.clone()));
    }
    if let Some(until) = &args.until {
        query.push(("until", until.clone()));
    }
    let answer = Client::new(&args.server).json_with("/api/v1/map", &query)?;
    if args.output == MapOutput::Json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(ExitCode::SUCCESS);
    }
    if answer["truncated"] == true {
        eprintln!("sonde: note: the range held more events than one map is built from; narrow it with --since/--until");
    }
    let map: ServiceMap =
        serde_json::from_value(answer).context("the agent's map is not readable")?;
    if args.output == MapOutput::Dot {
        print!("{}", map.to_dot());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:40} {:40} {:>6} {:>6} {:>12} {:>12} {:>8} {:>7} {:>6} {:>6} {:>6}",
        "FROM",
        "TO",
        "PORT",
        "CONNS",
        "TO SERVER",
        "TO CLIENT",
        "RTT ms",
        "RETRANS",
        "RESETS",
        "FAILED",
        "DROPS"
    );
    for e in &map.edges {
        let s = &e.stats;
        println!(
            "{:40} {:40} {:>6} {:>6} {:>12} {:>12} {:>8.2} {:>7} {:>6} {:>6} {:>6}",
            e.from.label(),
            e.to.label(),
            e.port,
            s.connections,
            s.bytes_to_server,
            s.bytes_to_client,
            f64::from(s.avg_srtt_us) / 1000.0,
            s.retransmits,
            s.resets,
            s.failed,
            s.drops
        );
    }
    Ok(ExitCode::SUCCESS)
}
