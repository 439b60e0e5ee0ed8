//! `sonde requests`: HTTP and DNS requests, from the agent's
//! `/api/v1/requests`.

use std::process::ExitCode;

use sonde_event::StatusMatch;

use super::stream::Window;
use super::Output;
use crate::render::Table;

#[derive(clap::Args)]
pub struct Args {
    /// Only this protocol.
    #[arg(long, value_parser = ["http", "dns"])]
    protocol: Option<String>,
    /// Only this response status: an HTTP class (5xx), an HTTP code (404) or a DNS rcode (NXDOMAIN).
    #[arg(long)]
    status: Option<StatusMatch>,
    /// Only targets that start with this, or match it as a glob when it holds `*`.
    #[arg(long)]
    path: Option<String>,
    /// Only requests that took at least this long (100ms, 1s).
    #[arg(long)]
    min_latency: Option<humantime::Duration>,
    /// Only requests whose client or server is this process id.
    #[arg(long)]
    pid: Option<u32>,
    /// Only requests whose client or server runs in this container (id or id prefix).
    #[arg(long)]
    container: Option<String>,
    #[command(flatten)]
    window: Window,
    #[arg(short, long, value_enum, default_value = "table")]
    output: Output,
}

impl Args {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        let mut put = |key, value: Option<String>| {
            if let Some(v) = value {
                q.push((key, v));
            }
        };
        put("protocol", self.protocol.clone());
        put("status", self.status.map(|s| s.to_string()));
        put("path", self.path.clone());
        put("min_latency", self.min_latency.map(|d| d.to_string()));
        put("pid", self.pid.map(|p| p.to_string()));
        put("container", self.container.clone());
        self.window.query(&mut q);
        q
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    args.window.print(
        "/api/v1/requests",
        &args.query(),
        args.output,
        Table::Requests,
    )?;
    Ok(ExitCode::SUCCESS)
}
