//! The request path in user space: capture records → streams (gaps from the
//! kernel's offsets) → protocol conversations (`sonde-proto`) → request
//! records, joined when both ends were seen, counted into RED metrics. It
//! also steers the kernel: a stream whose protocol is unknown stops being
//! copied, and so do bodies the parser will skip.

mod pairing;
pub mod red;
pub mod stats;
mod stream;

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sonde_bpf::abi::{
    CaptureCtl, Owner, CAPTURE_MAX, CTL_MUTE_RAW, CTL_MUTE_TLS, DATA_PEER, DATA_TLS, LAYER_RAW,
    LAYER_TLS, OWNER_IO,
};
use sonde_bpf::decode::DataRecord;
use sonde_bpf::CaptureControl;
use sonde_event::{Endpoint, Observation, Request, Transport};
use sonde_proto::Exchange;

use crate::clock::BootClock;
use crate::network_events::{endpoints, unspecified};
use crate::process_table::ProcessTable;
use crate::stats::Stats;
use pairing::Pairing;
use stream::Stream;

const IPPROTO_UDP: u8 = 17;
/// Streams parsed at once; past it the least recently active goes.
const STREAMS_MAX: usize = 1 << 16;
/// A request unanswered this long is reported without a response.
const REQUEST_TIMEOUT_NS: u64 = 30_000_000_000;
/// A stream idle this long is closed (UDP has no close; TCP closes are seen).
const UDP_IDLE_NS: u64 = 60_000_000_000;
const TCP_IDLE_NS: u64 = 600_000_000_000;
/// How long a view waits for its twin from the other end.
const PAIR_HOLD_NS: u64 = 500_000_000;
/// A close is applied this long after it is seen: the connection's last
/// bytes come through another ring buffer and may be read after it.
const CLOSE_GRACE_NS: u64 = 200_000_000;
const SWEEP_EVERY_NS: u64 = 1_000_000_000;

/// (connection id, TLS layer, the peer of an unconnected UDP socket).
type StreamKey = (u64, bool, Option<Endpoint>);

pub struct RequestTracker {
    clock: BootClock,
    control: Option<CaptureControl>,
    streams: HashMap<StreamKey, Stream>,
    pairing: Pairing,
    stats: Arc<Stats>,
    exchanges: Vec<Exchange>,
    /// Connections that closed: (id, close time, when to apply it).
    closing: Vec<(u64, u64, u64)>,
    last_sweep_ns: u64,
}

impl RequestTracker {
    pub fn new(clock: BootClock, control: Option<CaptureControl>, stats: Arc<Stats>) -> Self {
        RequestTracker {
            clock,
            control,
            streams: HashMap::new(),
            pairing: Pairing::default(),
            stats,
            exchanges: Vec::new(),
            closing: Vec::new(),
            last_sweep_ns: 0,
        }
    }

    /// One capture record; finished requests go to `out`.
    pub fn on_data(&mut self, rec: &DataRecord<'_>, table: &ProcessTable, out: &mut Vec<Request>) {
        let ev = &rec.event;
        let stats = self.stats.clone();
        let s = &stats.requests;
        s.data_records.fetch_add(1, Relaxed);
        s.bytes_parsed.fetch_add(rec.data.len() as u64, Relaxed);
        let (local, remote) = endpoints(&ev.tuple);
        let (local, remote) = (
            local.unwrap_or_else(unspecified),
            remote.unwrap_or_else(unspecified),
        );
        let udp = ev.tuple.protocol == IPPROTO_UDP;
        let tls = ev.flags & DATA_TLS != 0;
        let key = (
            ev.conn_id,
            tls,
            (ev.flags & DATA_PEER != 0).then_some(remote),
        );
        if !self.streams.contains_key(&key) {
            self.make_room(out);
            let transport = if udp { Transport::Udp } else { Transport::Tcp };
            self.streams
                .insert(key, Stream::new(ev, local, remote, transport));
            self.pairing.note_local(local.ip);
            if tls {
                // The socket's own bytes are ciphertext: stop copying them.
                self.mute_raw_of(ev.conn_id, ev.sock);
            }
        }
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        if stream.owner_key != (ev.pid, ev.start_ns) {
            stream.owner_key = (ev.pid, ev.start_ns);
            stream.owner = table.owner(&Owner {
                pid: ev.pid,
                from: OWNER_IO,
                start_ns: ev.start_ns,
                comm: ev.comm,
            });
        }
        let fed = stream.feed(ev, rec.data);
        s.bytes_lost.fetch_add(fed.lost, Relaxed);
        s.bytes_not_copied.fetch_add(fed.not_copied, Relaxed);
        self.finish(key, out);
        self.steer(key);
    }

    /// A TCP connection closed: its streams finish once its last bytes
    /// have had time to arrive.
    pub fn on_tcp_close(&mut self, conn_id: u64, close_ns: u64) {
        if conn_id != 0 {
            self.closing
                .push((conn_id, close_ns, BootClock::now_boot_ns() + CLOSE_GRACE_NS));
        }
    }

    fn close_connection(&mut self, conn_id: u64, now_ns: u64, out: &mut Vec<Request>) {
        for tls in [false, true] {
            let key = (conn_id, tls, None);
            if let Some(stream) = self.streams.get_mut(&key) {
                stream.close(now_ns);
                self.finish(key, out);
                if let Some(stream) = self.streams.remove(&key) {
                    self.forget(&stream);
                }
            }
        }
    }

    /// Periodic work: unanswered requests time out, idle streams close,
    /// views whose twin never came go out alone.
    pub fn tick(&mut self, out: &mut Vec<Request>) {
        let now = BootClock::now_boot_ns();
        let due = self.closing.partition_point(|c| c.2 <= now);
        for (conn_id, close_ns, _) in self.closing.drain(..due).collect::<Vec<_>>() {
            self.close_connection(conn_id, close_ns, out);
        }
        let mut alone = Vec::new();
        self.pairing.expire(now, PAIR_HOLD_NS, &mut alone);
        for r in alone {
            self.emit(r, false, out);
        }
        if now.saturating_sub(self.last_sweep_ns) >= SWEEP_EVERY_NS {
            self.last_sweep_ns = now;
            self.sweep(now, out);
        }
    }

    /// Unanswered requests time out; idle streams close.
    fn sweep(&mut self, now: u64, out: &mut Vec<Request>) {
        let keys: Vec<StreamKey> = self.streams.keys().copied().collect();
        for key in keys {
            let Some(stream) = self.streams.get_mut(&key) else {
                continue;
            };
            let idle = now.saturating_sub(stream.last_ns);
            let limit = match stream.transport {
                Transport::Udp => UDP_IDLE_NS,
                Transport::Tcp => TCP_IDLE_NS,
            };
            if idle >= limit {
                stream.close(now);
            } else {
                stream.expire(now, REQUEST_TIMEOUT_NS);
            }
            self.finish(key, out);
            if idle >= limit {
                if let Some(stream) = self.streams.remove(&key) {
                    self.forget(&stream);
                }
            }
        }
        self.stats
            .requests
            .streams_active
            .store(self.streams.len() as u64, Relaxed);
    }

    /// Drains the stream's exchanges into requests and counts its parser's news.
    fn finish(&mut self, key: StreamKey, out: &mut Vec<Request>) {
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        stream.drain(&mut self.exchanges);
        let delta = stream.stats_delta();
        let s = &self.stats.requests;
        s.parse_errors.fetch_add(delta.parse_errors, Relaxed);
        s.resyncs.fetch_add(delta.resyncs, Relaxed);
        s.orphan_responses
            .fetch_add(delta.orphan_responses, Relaxed);
        s.pending_overflow
            .fetch_add(delta.pending_overflow, Relaxed);
        let mut ready = Vec::new();
        for x in self.exchanges.drain(..) {
            let seen = Observation {
                local: stream.local,
                remote: stream.remote,
                transport: stream.transport,
                tls: stream.tls,
                netns: stream.netns,
                conn_id: Some(stream.conn_id),
                process: stream.owner.clone(),
            };
            let clock = self.clock;
            let r = Request::from_exchange(&x, seen, |ns| clock.to_wall(ns));
            let ordinal = stream.ordinal;
            stream.ordinal += 1;
            ready.push((r, ordinal));
        }
        let now = stream.last_ns;
        for (r, ordinal) in ready {
            if let Some((r, joined)) = self.pairing.offer(r, ordinal, now) {
                self.emit(r, joined, out);
            }
        }
    }

    fn emit(&self, r: Request, joined: bool, out: &mut Vec<Request>) {
        let s = &self.stats.requests;
        s.requests.fetch_add(1, Relaxed);
        s.requests_joined.fetch_add(u64::from(joined), Relaxed);
        red::observe(&s.by_endpoint, &r);
        out.push(r);
    }

    /// Tells the kernel what it need not copy of this stream.
    fn steer(&mut self, key: StreamKey) {
        let Some(control) = &self.control else {
            return;
        };
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        let layer = if stream.tls { LAYER_TLS } else { LAYER_RAW };
        let mut ctl = CaptureCtl {
            conn_id: stream.conn_id,
            ..CaptureCtl::default()
        };
        if stream.gave_up() && !stream.muted {
            stream.muted = true;
            self.stats.requests.streams_given_up.fetch_add(1, Relaxed);
            ctl.flags = if stream.tls {
                CTL_MUTE_TLS
            } else {
                CTL_MUTE_RAW
            };
            let _ = control.set(stream.sock, &ctl);
            return;
        }
        // Only skips worth a map update: more than one call's copy.
        let skip = stream.skip_until();
        let worth = |i: usize| skip[i] > stream.skip_sent[i] + CAPTURE_MAX as u64;
        if key.2.is_none() && (worth(0) || worth(1)) {
            ctl.skip_until[layer] = skip;
            stream.skip_sent = skip;
            let _ = control.set(stream.sock, &ctl);
        }
    }

    fn mute_raw_of(&mut self, conn_id: u64, sock: u64) {
        if let Some(raw) = self.streams.remove(&(conn_id, false, None)) {
            self.forget(&raw);
        }
        if let Some(control) = &self.control {
            let ctl = CaptureCtl {
                conn_id,
                flags: CTL_MUTE_RAW,
                ..CaptureCtl::default()
            };
            let _ = control.set(sock, &ctl);
        }
    }

    fn forget(&self, stream: &Stream) {
        if let Some(control) = &self.control {
            if !stream.tls {
                control.remove(stream.sock);
            }
        }
    }

    /// Evicts the least recently active stream when the table is full.
    fn make_room(&mut self, out: &mut Vec<Request>) {
        if self.streams.len() < STREAMS_MAX {
            return;
        }
        let Some(oldest) = self
            .streams
            .iter()
            .min_by_key(|(_, s)| s.last_ns)
            .map(|(k, _)| *k)
        else {
            return;
        };
        if let Some(stream) = self.streams.get_mut(&oldest) {
            stream.close(BootClock::now_boot_ns());
        }
        self.finish(oldest, out);
        if let Some(stream) = self.streams.remove(&oldest) {
            self.forget(&stream);
        }
        self.stats.requests.streams_evicted.fetch_add(1, Relaxed);
    }
}
