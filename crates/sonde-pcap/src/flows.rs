//! The flow table: segments to per-flow events, with bounded memory.
//!
//! Flows are keyed by their unordered pair of endpoints. A TCP flow that
//! closed stays in the table as a tombstone, so its last ACKs do not open a
//! new flow; a new SYN on the same endpoints does. When the table is full,
//! tombstones go first, then the least recently active flows are closed.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use crate::event::{Direction, FlowId, FlowKey, StreamEvent, Transport};
use crate::packet::Segment;
use crate::stats::PcapStats;
use crate::tcp_reassembly::{BufferLimits, Delivery, HalfStream, ReassemblyCounters};

/// Bounds on the flow table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlowLimits {
    pub max_flows: usize,
    pub buffers: BufferLimits,
}

/// A flow's endpoints in a fixed order, whoever sent the packet.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Endpoints {
    transport: Transport,
    low: SocketAddr,
    high: SocketAddr,
}

impl Endpoints {
    fn of(transport: Transport, a: SocketAddr, b: SocketAddr) -> Self {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        Endpoints {
            transport,
            low,
            high,
        }
    }
}

struct Flow {
    id: FlowId,
    initiator: SocketAddr,
    closed: bool,
    /// Packet count at its last packet, to find the least recently active.
    last_active: u64,
    /// TCP reassembly per [`Direction::index`]; unused for UDP.
    halves: [HalfStream; 2],
}

/// Every flow of a capture, and the counters their traffic feeds.
pub(crate) struct FlowTable {
    flows: HashMap<Endpoints, Flow>,
    limits: FlowLimits,
    next_id: FlowId,
    packets_seen: u64,
    reassembly: ReassemblyCounters,
    flows_opened: u64,
    flows_evicted: u64,
    after_close: u64,
    deliveries: Vec<Delivery>,
}

impl FlowTable {
    pub fn new(limits: FlowLimits) -> Self {
        FlowTable {
            flows: HashMap::new(),
            limits,
            next_id: 0,
            packets_seen: 0,
            reassembly: ReassemblyCounters::default(),
            flows_opened: 0,
            flows_evicted: 0,
            after_close: 0,
            deliveries: Vec::new(),
        }
    }

    /// Adds the table's counters to `stats`.
    pub fn add_stats(&self, stats: &mut PcapStats) {
        stats.tcp_retransmits += self.reassembly.retransmits;
        stats.tcp_out_of_order += self.reassembly.out_of_order;
        stats.tcp_gap_bytes += self.reassembly.gap_bytes;
        stats.flows += self.flows_opened;
        stats.flows_evicted += self.flows_evicted;
        stats.after_close += self.after_close;
    }

    /// Takes in one segment captured at `time_ns` and appends the events it
    /// produces to `events`.
    pub fn segment(
        &mut self,
        segment: Segment<'_>,
        time_ns: u64,
        events: &mut VecDeque<StreamEvent>,
    ) {
        self.packets_seen += 1;
        let transport = match segment.tcp {
            Some(_) => Transport::Tcp,
            None => Transport::Udp,
        };
        let endpoints = Endpoints::of(transport, segment.src, segment.dst);
        let opens_connection = segment.tcp.is_some_and(|t| t.syn && !t.ack);
        match self.flows.get(&endpoints) {
            Some(flow) if flow.closed && !opens_connection => {
                self.after_close += 1;
                return;
            }
            Some(flow) if !flow.closed => {}
            _ => self.open(endpoints, &segment, time_ns, events),
        }
        let Some(flow) = self.flows.get_mut(&endpoints) else {
            return;
        };
        flow.last_active = self.packets_seen;
        let dir = if segment.src == flow.initiator {
            Direction::Egress
        } else {
            Direction::Ingress
        };
        let id = flow.id;
        let Some(tcp) = segment.tcp else {
            events.push_back(StreamEvent::Data {
                flow: id,
                dir,
                time_ns,
                bytes: segment.payload.to_vec(),
            });
            if segment.missing > 0 {
                events.push_back(StreamEvent::Gap {
                    flow: id,
                    dir,
                    time_ns,
                    len: segment.missing,
                });
            }
            return;
        };
        if tcp.rst {
            close(
                flow,
                &mut self.reassembly,
                &mut self.deliveries,
                time_ns,
                events,
            );
            return;
        }
        flow.halves[dir.index()].segment(
            tcp,
            segment.payload,
            segment.missing,
            self.limits.buffers,
            &mut self.reassembly,
            &mut self.deliveries,
        );
        push_deliveries(&mut self.deliveries, id, dir, time_ns, events);
        if flow.halves.iter().all(HalfStream::finished) {
            close(
                flow,
                &mut self.reassembly,
                &mut self.deliveries,
                time_ns,
                events,
            );
        }
    }

    /// Closes every open flow, in the order they opened (end of capture).
    pub fn close_all(&mut self, time_ns: u64, events: &mut VecDeque<StreamEvent>) {
        let mut open: Vec<Flow> = self
            .flows
            .drain()
            .map(|(_, flow)| flow)
            .filter(|flow| !flow.closed)
            .collect();
        open.sort_by_key(|flow| flow.id);
        for flow in &mut open {
            close(
                flow,
                &mut self.reassembly,
                &mut self.deliveries,
                time_ns,
                events,
            );
        }
    }

    /// Starts a new flow for `segment`, replacing a tombstone on the same
    /// endpoints, and making room first if the table is full.
    fn open(
        &mut self,
        endpoints: Endpoints,
        segment: &Segment<'_>,
        time_ns: u64,
        events: &mut VecDeque<StreamEvent>,
    ) {
        if self.flows.remove(&endpoints).is_none() && self.flows.len() >= self.limits.max_flows {
            self.make_room(time_ns, events);
        }
        // A SYN-ACK is sent by the responder, even when its SYN was missed.
        let (initiator, responder) = match segment.tcp {
            Some(t) if t.syn && t.ack => (segment.dst, segment.src),
            _ => (segment.src, segment.dst),
        };
        let id = self.next_id;
        self.next_id += 1;
        self.flows_opened += 1;
        events.push_back(StreamEvent::Open {
            flow: id,
            key: FlowKey {
                transport: endpoints.transport,
                initiator,
                responder,
            },
            time_ns,
        });
        self.flows.insert(
            endpoints,
            Flow {
                id,
                initiator,
                closed: false,
                last_active: self.packets_seen,
                halves: Default::default(),
            },
        );
    }

    /// Drops tombstones, then, if the table is still full, closes the least
    /// recently active sixteenth of it.
    fn make_room(&mut self, time_ns: u64, events: &mut VecDeque<StreamEvent>) {
        self.flows.retain(|_, flow| !flow.closed);
        if self.flows.len() < self.limits.max_flows {
            return;
        }
        let batch = (self.limits.max_flows / 16).max(1);
        let mut by_age: Vec<(u64, Endpoints)> = self
            .flows
            .iter()
            .map(|(endpoints, flow)| (flow.last_active, *endpoints))
            .collect();
        by_age.sort_unstable_by_key(|(last_active, _)| *last_active);
        for (_, endpoints) in by_age.into_iter().take(batch) {
            if let Some(mut flow) = self.flows.remove(&endpoints) {
                close(
                    &mut flow,
                    &mut self.reassembly,
                    &mut self.deliveries,
                    time_ns,
                    events,
                );
                self.flows_evicted += 1;
            }
        }
    }
}

/// Delivers what `flow` still buffers (giving up on its holes) and closes it.
fn close(
    flow: &mut Flow,
    counters: &mut ReassemblyCounters,
    deliveries: &mut Vec<Delivery>,
    time_ns: u64,
    events: &mut VecDeque<StreamEvent>,
) {
    for dir in Direction::BOTH {
        flow.halves[dir.index()].flush(counters, deliveries);
        push_deliveries(deliveries, flow.id, dir, time_ns, events);
    }
    flow.closed = true;
    events.push_back(StreamEvent::Close {
        flow: flow.id,
        time_ns,
    });
}

fn push_deliveries(
    deliveries: &mut Vec<Delivery>,
    flow: FlowId,
    dir: Direction,
    time_ns: u64,
    events: &mut VecDeque<StreamEvent>,
) {
    events.extend(deliveries.drain(..).map(|delivery| match delivery {
        Delivery::Data(bytes) => StreamEvent::Data {
            flow,
            dir,
            time_ns,
            bytes,
        },
        Delivery::Gap(len) => StreamEvent::Gap {
            flow,
            dir,
            time_ns,
            len,
        },
    }));
}
