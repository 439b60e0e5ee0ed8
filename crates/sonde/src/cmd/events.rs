use std::net::IpAddr;
use std::process::ExitCode;

use sonde_event::{EventKind, Verdict};

use super::stream::Window;
use super::Output;
use crate::render::Table;

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
    /// Only these event types (exec, exit, tcp, listen, udp, drop, request, …); repeat or separate with commas.
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
    #[command(flatten)]
    window: Window,
    #[arg(short, long, value_enum, default_value = "compact")]
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
        if !self.kinds.is_empty() {
            let kinds: Vec<&str> = self.kinds.iter().map(|k| k.as_str()).collect();
            q.push(("type", kinds.join(",")));
        }
        self.window.query(&mut q);
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
    args.window
        .print("/api/v1/events", &args.query(), args.output, Table::Events)?;
    Ok(ExitCode::SUCCESS)
}
