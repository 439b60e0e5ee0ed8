//! What `sonde events` and `sonde requests` share: the time window, and
//! printing the agent's JSON lines in the chosen format.

use std::io::Write;

use anyhow::Context;
use sonde_event::Event;

use super::Output;
use crate::client::Client;
use crate::render::{self, Table};

/// Which stored events to show, and whether to follow live ones.
#[derive(clap::Args)]
pub struct Window {
    /// From this time: RFC 3339, or a duration ago (10m, 2h).
    #[arg(long)]
    since: Option<String>,
    /// Up to this time: RFC 3339, or a duration ago.
    #[arg(long)]
    until: Option<String>,
    /// The last N matches (default 20 unless --since, --until, --limit or --follow).
    #[arg(long, conflicts_with = "limit")]
    last: Option<usize>,
    /// The first N matches.
    #[arg(long)]
    limit: Option<usize>,
    /// Keep printing events as they happen.
    #[arg(short, long)]
    follow: bool,
    /// Address of the agent's API.
    #[arg(long, env = "SONDE_SERVER", default_value = super::DEFAULT_SERVER)]
    server: String,
}

impl Window {
    /// The agent's address.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Adds the window's query parameters to `q`.
    pub fn query(&self, q: &mut Vec<(&'static str, String)>) {
        if let Some(since) = &self.since {
            q.push(("since", since.clone()));
        }
        if let Some(until) = &self.until {
            q.push(("until", until.clone()));
        }
        if let Some(limit) = self.limit {
            q.push(("limit", limit.to_string()));
        }
        let bounded = self.since.is_some() || self.until.is_some() || self.limit.is_some();
        let last = self.last.or((!bounded && !self.follow).then_some(20));
        if let Some(last) = last {
            q.push(("last", last.to_string()));
        }
        if self.follow {
            q.push(("follow", "true".into()));
        }
    }

    /// Prints the agent's answer at `path` in `output`, with `table` for
    /// `-o table`.
    pub fn print(
        &self,
        path: &str,
        query: &[(&'static str, String)],
        output: Output,
        table: Table,
    ) -> anyhow::Result<()> {
        let lines = Client::new(&self.server).lines(path, query)?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if output == Output::Table {
            writeln!(out, "{}", table.header())?;
        }
        for line in lines {
            let line = line?;
            // JSON is passed on as the agent sent it.
            let written = if output == Output::Json {
                writeln!(out, "{line}")
            } else {
                let event: Event = serde_json::from_str(&line)
                    .context("the agent sent an event this sonde cannot read")?;
                render::event(&mut out, &event, output, table)
            };
            let flushed = written.and_then(|()| if self.follow { out.flush() } else { Ok(()) });
            // A closed pipe (`| head`) ends the command quietly.
            if flushed.is_err() {
                break;
            }
        }
        Ok(())
    }
}
