//! `sonde analyze --pcap FILE`: request records rebuilt from a capture file,
//! offline. Needs no root and no agent.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sonde_event::{Endpoint, Event, Observation, Request, Timestamp};
use sonde_pcap::{FlowId, FlowKey, PcapStats, StreamEvent};
use sonde_proto::{Config, Conversation, ConversationStats, Exchange, Hints};

use super::Output;
use crate::render::{self, Table};

#[derive(clap::Args)]
pub struct Args {
    /// The capture file (pcap or pcapng).
    #[arg(long)]
    pcap: PathBuf,
    #[arg(short, long, value_enum, default_value = "json")]
    output: Output,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let name = args.pcap.display();
    let file = File::open(&args.pcap).with_context(|| format!("cannot open {name}"))?;
    let mut reader =
        sonde_pcap::Reader::new(BufReader::new(file)).with_context(|| name.to_string())?;
    let mut analysis = Analysis::default();
    let mut failure = None;
    for event in &mut reader {
        match event {
            Ok(event) => analysis.apply(event),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    // The reader has closed every flow, even before reporting a corrupt file.
    let Analysis {
        mut requests,
        losses,
        ..
    } = analysis;
    requests.sort_by_key(|r| r.time);
    let count = requests.len();
    print(requests, args.output)?;
    eprintln!("{}", summary(&reader.stats(), &losses, count));
    match failure {
        Some(e) => Err(anyhow::Error::new(e).context(name.to_string())),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn print(requests: Vec<Request>, output: Output) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if output == Output::Table {
        writeln!(out, "{}", Table::Requests.header())?;
    }
    for r in requests {
        render::event(
            &mut out,
            &Event::Request(Box::new(r)),
            output,
            Table::Requests,
        )?;
    }
    out.flush()
}

/// One conversation per flow, seen from the flow's initiator.
struct Flow {
    key: FlowKey,
    conversation: Conversation,
}

/// What the parsers lost, summed over every flow, and the gaps the capture
/// left in the streams.
#[derive(Default)]
struct Losses {
    parsers: ConversationStats,
    gaps: u64,
    gap_bytes: u64,
    unrecognised_flows: u64,
}

#[derive(Default)]
struct Analysis {
    flows: HashMap<FlowId, Flow>,
    requests: Vec<Request>,
    losses: Losses,
    exchanges: Vec<Exchange>,
}

impl Analysis {
    fn apply(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Open { flow, key, .. } => {
                let hints = Hints {
                    transport: match key.transport {
                        sonde_pcap::Transport::Tcp => sonde_proto::Transport::Tcp,
                        sonde_pcap::Transport::Udp => sonde_proto::Transport::Udp,
                    },
                    local_port: key.initiator.port(),
                    remote_port: key.responder.port(),
                };
                let conversation = Conversation::new(hints, Config::default());
                self.flows.insert(flow, Flow { key, conversation });
            }
            StreamEvent::Data {
                flow,
                dir,
                time_ns,
                bytes,
            } => self.feed(flow, |c| c.bytes(direction(dir), time_ns, &bytes)),
            StreamEvent::Gap {
                flow,
                dir,
                time_ns,
                len,
            } => {
                self.losses.gaps += 1;
                self.losses.gap_bytes += len;
                self.feed(flow, |c| c.skipped(direction(dir), time_ns, len));
            }
            StreamEvent::Close { flow, time_ns } => {
                self.feed(flow, |c| c.close(time_ns));
                if let Some(f) = self.flows.remove(&flow) {
                    self.forget(f);
                }
            }
        }
    }

    fn feed(&mut self, flow: FlowId, step: impl FnOnce(&mut Conversation)) {
        let Some(f) = self.flows.get_mut(&flow) else {
            return;
        };
        step(&mut f.conversation);
        f.conversation.drain(&mut self.exchanges);
        let seen = observation(&f.key);
        self.requests.extend(
            self.exchanges
                .drain(..)
                .map(|x| Request::from_exchange(&x, seen.clone(), Timestamp)),
        );
    }

    fn forget(&mut self, f: Flow) {
        let s = f.conversation.stats();
        let sum = &mut self.losses.parsers;
        sum.exchanges += s.exchanges;
        sum.parse_errors += s.parse_errors;
        sum.resyncs += s.resyncs;
        sum.orphan_responses += s.orphan_responses;
        sum.pending_overflow += s.pending_overflow;
        sum.skipped_in_body += s.skipped_in_body;
        sum.skipped_lost += s.skipped_lost;
        if f.conversation.protocol().is_none() {
            self.losses.unrecognised_flows += 1;
        }
    }
}

fn direction(dir: sonde_pcap::Direction) -> sonde_proto::Direction {
    match dir {
        sonde_pcap::Direction::Egress => sonde_proto::Direction::Egress,
        sonde_pcap::Direction::Ingress => sonde_proto::Direction::Ingress,
    }
}

fn endpoint(a: SocketAddr) -> Endpoint {
    Endpoint {
        ip: a.ip(),
        port: a.port(),
    }
}

/// A capture is seen from the flow's initiator, and from no host's sockets.
fn observation(key: &FlowKey) -> Observation {
    Observation {
        local: endpoint(key.initiator),
        remote: endpoint(key.responder),
        transport: match key.transport {
            sonde_pcap::Transport::Tcp => sonde_event::Transport::Tcp,
            sonde_pcap::Transport::Udp => sonde_event::Transport::Udp,
        },
        tls: false,
        netns: 0,
        conn_id: None,
        process: None,
    }
}

/// Everything counted, losses included, for stderr.
fn summary(capture: &PcapStats, losses: &Losses, requests: usize) -> String {
    let p = &losses.parsers;
    format!(
        "sonde analyze: {} packets, {} flows ({} not HTTP or DNS), {} requests\n\
         capture: malformed={} truncated={} non_ip={} fragments={} unsupported_linktype={} \
         other_transport={} tcp_retransmits={} tcp_out_of_order={} tcp_gap_bytes={} \
         flows_evicted={} after_close={}\n\
         parsers: gaps={} gap_bytes={} parse_errors={} resyncs={} orphan_responses={} \
         pending_overflow={} skipped_in_body={} skipped_lost={}",
        capture.packets,
        capture.flows,
        losses.unrecognised_flows,
        requests,
        capture.malformed,
        capture.truncated,
        capture.non_ip,
        capture.fragments,
        capture.unsupported_linktype,
        capture.other_transport,
        capture.tcp_retransmits,
        capture.tcp_out_of_order,
        capture.tcp_gap_bytes,
        capture.flows_evicted,
        capture.after_close,
        losses.gaps,
        losses.gap_bytes,
        p.parse_errors,
        p.resyncs,
        p.orphan_responses,
        p.pending_overflow,
        p.skipped_in_body,
        p.skipped_lost,
    )
}
