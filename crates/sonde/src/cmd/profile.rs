//! `sonde profile`: a CPU profile from the agent's `/api/v1/profile`, taken
//! now (`--duration`) or from the stored continuous profiles.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::client::Client;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// The functions with the most self time, as a table.
    Top,
    /// A flame graph.
    Svg,
    /// Folded stacks (`a;b;c count`), for flamegraph.pl, inferno or speedscope.
    Folded,
    /// Gzipped pprof, for `go tool pprof` and Pyroscope.
    Pprof,
    /// The profiles as sonde stores them.
    Json,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Top => "top",
            Format::Svg => "svg",
            Format::Folded => "folded",
            Format::Pprof => "pprof",
            Format::Json => "json",
        }
    }
}

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["pid", "container", "all"]))]
pub struct Args {
    /// Profile this process.
    #[arg(long)]
    pid: Option<u32>,
    /// Profile the processes of this container (id or id prefix).
    #[arg(long)]
    container: Option<String>,
    /// Profile every process.
    #[arg(long)]
    all: bool,
    /// Take a new profile for this long (5s, 1m); without it, the stored
    /// continuous profiles of the window are merged.
    #[arg(long)]
    duration: Option<humantime::Duration>,
    /// Samples per second on each CPU for a new profile (1–999).
    #[arg(long, requires = "duration")]
    hz: Option<u32>,
    /// Stored profiles from this time: RFC 3339, or a duration ago (default 10m).
    #[arg(long, conflicts_with = "duration")]
    since: Option<String>,
    /// Stored profiles up to this time.
    #[arg(long, conflicts_with = "duration")]
    until: Option<String>,
    #[arg(short, long, value_enum, default_value = "top")]
    output: Format,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    file: Option<PathBuf>,
    /// Address of the agent's API.
    #[arg(long, env = "SONDE_SERVER", default_value = super::DEFAULT_SERVER)]
    server: String,
}

impl Args {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("format", self.output.name().to_string())];
        if let Some(pid) = self.pid {
            q.push(("pid", pid.to_string()));
        }
        if let Some(id) = &self.container {
            q.push(("container", id.clone()));
        }
        match self.duration {
            Some(d) => q.push(("duration", d.to_string())),
            None => q.push(("since", self.since.clone().unwrap_or_else(|| "10m".into()))),
        }
        if let Some(hz) = self.hz {
            q.push(("hz", hz.to_string()));
        }
        if let Some(until) = &self.until {
            q.push(("until", until.clone()));
        }
        q
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let binary = matches!(args.output, Format::Pprof | Format::Svg);
    if binary && args.file.is_none() && std::io::stdout().is_terminal() {
        bail!(
            "-o {} is not for a terminal: redirect it to a file or give --file",
            args.output.name()
        );
    }
    let client = Client::new(&args.server);
    let body = client.bytes("/api/v1/profile", &args.query())?;
    let text = match args.output {
        Format::Top => top_table(&body)?.into_bytes(),
        _ => body,
    };
    match &args.file {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().write_all(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The agent's `top` answer as a table.
fn top_table(body: &[u8]) -> anyhow::Result<String> {
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(body).context("the agent's answer is not JSON")?;
    if rows.is_empty() {
        return Ok("no samples: nothing of this target ran on a CPU in the window\n".into());
    }
    let mut out = format!("{:>8} {:>7}  FUNCTION\n", "SAMPLES", "SELF%");
    for row in rows {
        out.push_str(&format!(
            "{:>8} {:>6.2}%  {}\n",
            row["samples"].as_u64().unwrap_or(0),
            row["percent"].as_f64().unwrap_or(0.0),
            row["name"].as_str().unwrap_or("?")
        ));
    }
    Ok(out)
}
