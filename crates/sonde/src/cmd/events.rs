use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use std::net::IpAddr;

use sonde_event::{Event, EventKind, Verdict};

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
    /// Only these event types (exec, exit, tcp, udp, drop); repeat or separate with commas.
    #[arg(long = "type", value_delimiter = ',')]
    kinds: Vec<EventKind>,
    /// Only connections and drops with this address at either end.
    #[arg(long)]
    ip: Option<IpAddr>,
    /// Only those from this address (client, or packet source).
    #[arg(long)]
    from_ip: Option<IpAddr>,
    /// Only those to this address (server, or packet destination).
    #[arg(long)]
    to_ip: Option<IpAddr>,
    /// Only connections and drops with this port at either end.
    #[arg(long)]
    port: Option<u16>,
    /// Only this protocol (tcp, udp, icmp, …).
    #[arg(long)]
    protocol: Option<String>,
    /// Only forwarded (connections) or dropped (drops).
    #[arg(long)]
    verdict: Option<Verdict>,
    /// Only drops with this reason (NO_SOCKET, NETFILTER_DROP, …).
    #[arg(long)]
    drop_reason: Option<String>,
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
        put("ip", self.ip.map(|ip| ip.to_string()));
        put("from_ip", self.from_ip.map(|ip| ip.to_string()));
        put("to_ip", self.to_ip.map(|ip| ip.to_string()));
        put("port", self.port.map(|p| p.to_string()));
        put("protocol", self.protocol.clone());
        put(
            "verdict",
            self.verdict.map(|v| format!("{v:?}").to_lowercase()),
        );
        put("drop_reason", self.drop_reason.clone());
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

/// `sonde flows`: the network events, `hubble observe` style.
pub fn run_flows(mut args: Args) -> anyhow::Result<ExitCode> {
    if args.kinds.is_empty() {
        args.kinds = vec![
            EventKind::TcpConnection,
            EventKind::UdpFlow,
            EventKind::PacketDrop,
        ];
    }
    run(args)
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
