//! `sonde alerts`: alerts raised by the agent's detection rules, from
//! `/api/v1/alerts`; `sonde alerts --reload` reloads the rules.

use std::process::ExitCode;

use sonde_event::AlertPriority;

use super::stream::Window;
use super::Output;
use crate::client::Client;
use crate::render::Table;

#[derive(clap::Args)]
pub struct Args {
    /// Only alerts of this priority or more severe (EMERGENCY … DEBUG).
    #[arg(long)]
    priority: Option<AlertPriority>,
    /// Only alerts of this rule (its exact name).
    #[arg(long)]
    rule: Option<String>,
    /// Reload the agent's rules (as SIGHUP does) and print the result.
    #[arg(long, conflicts_with_all = ["priority", "rule", "output"])]
    reload: bool,
    #[command(flatten)]
    window: Window,
    #[arg(short, long, value_enum, default_value = "table")]
    output: Output,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.reload {
        return reload(args.window.server());
    }
    let mut q = Vec::new();
    if let Some(p) = args.priority {
        q.push(("priority", p.as_str().to_string()));
    }
    if let Some(r) = &args.rule {
        q.push(("rule", r.clone()));
    }
    args.window.query(&mut q);
    args.window
        .print("/api/v1/alerts", &q, args.output, Table::Alerts)?;
    Ok(ExitCode::SUCCESS)
}

/// `POST /api/v1/rules/reload`: prints the new set's counts, or the load
/// errors (exit code 1; the agent keeps its running rules).
fn reload(server: &str) -> anyhow::Result<ExitCode> {
    match Client::new(server).post("/api/v1/rules/reload")? {
        Ok(body) => {
            println!("rules reloaded: {}", body.trim());
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("sonde: {}", message.trim());
            Ok(ExitCode::from(1))
        }
    }
}
