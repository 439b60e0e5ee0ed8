use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use sonde_event::{Event, EventKind};

use super::Output;
use crate::client::Client;
use crate::render;

#[derive(clap::Args)]
pub struct Args {
    /// Only this process id.
    #[arg(long)]
    pid: Option<u32>,
    /// Only this binary (full path or file name).
    #[arg(long)]
    binary: Option<String>,
    /// Only this kernel task name.
    #[arg(long)]
    comm: Option<String>,
    /// Only this container (id or id prefix).
    #[arg(long)]
    container: Option<String>,
    /// Only these event types (exec, exit); repeat or separate with commas.
    #[arg(long = "type", value_delimiter = ',')]
    kinds: Vec<EventKind>,
    /// Only this process image.
    #[arg(long)]
    exec_id: Option<String>,
    /// From this time: RFC 3339, or a duration ago (10m, 2h).
    #[arg(long)]
    since: Option<String>,
    /// Up to this time: RFC 3339, or a duration ago.
    #[arg(long)]
    until: Option<String>,
    /// The last N matching events (default 20 unless --since, --until or --follow).
    #[arg(long)]
    last: Option<usize>,
    /// Keep printing events as they happen.
    #[arg(short, long)]
    follow: bool,
    #[arg(short, long, value_enum, default_value = "compact")]
    output: Output,
    /// Address of the agent's API.
    #[arg(long, env = "SONDE_SERVER", default_value = super::DEFAULT_SERVER)]
    server: String,
}

impl Args {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        let mut put = |key, value: Option<String>| {
            if let Some(v) = value {
                q.push((key, v));
            }
        };
        put("pid", self.pid.map(|p| p.to_string()));
        put("binary", self.binary.clone());
        put("comm", self.comm.clone());
        put("container", self.container.clone());
        put("exec_id", self.exec_id.clone());
        put("since", self.since.clone());
        put("until", self.until.clone());
        let default_last = self.since.is_none() && self.until.is_none() && !self.follow;
        put(
            "last",
            self.last
                .or(default_last.then_some(20))
                .map(|n| n.to_string()),
        );
        if !self.kinds.is_empty() {
            let kinds: Vec<&str> = self.kinds.iter().map(|k| k.as_str()).collect();
            q.push(("type", kinds.join(",")));
        }
        if self.follow {
            q.push(("follow", "true".into()));
        }
        q
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.server);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.output == Output::Table {
        writeln!(out, "{}", render::TABLE_HEADER)?;
    }
    client.lines("/api/v1/events", &args.query(), |line| {
        let written = match args.output {
            Output::Json => writeln!(out, "{line}"),
            Output::Compact | Output::Table => {
                let event: Event = serde_json::from_str(line)
                    .context("the agent sent an event this sonde cannot read")?;
                if args.output == Output::Table {
                    render::table_row(&mut out, &event)
                } else {
                    render::compact(&mut out, &event)
                }
            }
        };
        // A closed pipe (`| head`) ends the command quietly.
        Ok(written
            .and_then(|()| if args.follow { out.flush() } else { Ok(()) })
            .is_ok())
    })?;
    Ok(ExitCode::SUCCESS)
}
