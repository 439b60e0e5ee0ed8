//! One captured stream: the bytes of one socket (or, for an unconnected UDP
//! socket, of one peer), in one layer (what the socket carried, or TLS
//! plaintext), fed in order to a protocol conversation. Gaps come from the
//! kernel's stream offsets, so every lost byte is known exactly.

use sonde_bpf::abi::{DataEvent, EGRESS};
use sonde_event::{Endpoint, Transport, Workload};
use sonde_proto::{Config, Conversation, ConversationStats, Direction, Exchange, Hints};

/// What feeding one record did to the stream.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fed {
    /// Bytes missing before this record (its records were lost).
    pub lost: u64,
    /// Bytes of this record that were not copied (on purpose).
    pub not_copied: u64,
}

pub struct Stream {
    /// Kernel address of the socket (the key of `capture_ctl`).
    pub sock: u64,
    pub conn_id: u64,
    pub tls: bool,
    pub local: Endpoint,
    pub remote: Endpoint,
    pub transport: Transport,
    pub netns: u32,
    /// The process that last moved bytes on it, and that process's pid and start.
    pub owner: Option<Workload>,
    pub owner_key: (u32, u64),
    pub last_ns: u64,
    /// Whether user space told the kernel to stop copying this stream.
    pub muted: bool,
    /// The skip offsets last given to the kernel, per direction.
    pub skip_sent: [u64; 2],
    /// Next expected offset per direction.
    next: [u64; 2],
    seen: [bool; 2],
    conversation: Conversation,
    /// The conversation's counters when last read, to count increments.
    reported: ConversationStats,
    /// Exchanges emitted so far: pairs the two ends' views.
    pub ordinal: u64,
}

impl Stream {
    pub fn new(ev: &DataEvent, local: Endpoint, remote: Endpoint, transport: Transport) -> Self {
        let hints = Hints {
            transport: match transport {
                Transport::Tcp => sonde_proto::Transport::Tcp,
                Transport::Udp => sonde_proto::Transport::Udp,
            },
            local_port: local.port,
            remote_port: remote.port,
        };
        Stream {
            sock: ev.sock,
            conn_id: ev.conn_id,
            tls: ev.flags & sonde_bpf::abi::DATA_TLS != 0,
            local,
            remote,
            transport,
            netns: ev.netns,
            owner: None,
            owner_key: (0, 0),
            last_ns: ev.hdr.ktime_ns,
            muted: false,
            skip_sent: [0; 2],
            next: [0; 2],
            seen: [false; 2],
            conversation: Conversation::new(hints, Config::default()),
            reported: ConversationStats::default(),
            ordinal: 0,
        }
    }

    /// Feeds one record: first any gap before it, then its bytes, then what
    /// the call moved but the kernel did not copy.
    pub fn feed(&mut self, ev: &DataEvent, data: &[u8]) -> Fed {
        let dir = direction(ev.direction);
        let i = dir_index(dir);
        let t = ev.hdr.ktime_ns;
        let mut fed = Fed::default();
        self.last_ns = t;
        let tcp = self.transport == Transport::Tcp;
        // The first record of a direction sets its origin: a stream met
        // mid-way (sonde started later) begins where sonde came in.
        if !self.seen[i] {
            self.seen[i] = true;
            self.next[i] = ev.offset;
        }
        if ev.offset > self.next[i] {
            fed.lost = ev.offset - self.next[i];
            if tcp {
                self.conversation.skipped(dir, t, fed.lost);
            }
        }
        self.conversation.bytes(dir, t, data);
        let rest = u64::from(ev.len).saturating_sub(data.len() as u64);
        if rest > 0 {
            fed.not_copied = rest;
            if tcp {
                self.conversation.skipped(dir, t, rest);
            }
        }
        self.next[i] = self.next[i].max(ev.offset + u64::from(ev.len));
        fed
    }

    /// Stream offset up to which the parser will skip bytes anyway, per
    /// direction (0: nothing to skip).
    pub fn skip_until(&self) -> [u64; 2] {
        [Direction::Egress, Direction::Ingress].map(|dir| {
            let n = self.conversation.skippable(dir);
            if n == 0 {
                0
            } else {
                self.next[dir_index(dir)] + n
            }
        })
    }

    pub fn gave_up(&self) -> bool {
        self.conversation.gave_up()
    }

    pub fn expire(&mut self, now_ns: u64, timeout_ns: u64) {
        self.conversation.expire(now_ns, timeout_ns);
    }

    pub fn close(&mut self, now_ns: u64) {
        self.conversation.close(now_ns);
    }

    pub fn drain(&mut self, out: &mut Vec<Exchange>) {
        self.conversation.drain(out);
    }

    /// The conversation's counters since the last call.
    pub fn stats_delta(&mut self) -> ConversationStats {
        let now = self.conversation.stats().clone();
        let d = ConversationStats {
            exchanges: now.exchanges - self.reported.exchanges,
            parse_errors: now.parse_errors - self.reported.parse_errors,
            resyncs: now.resyncs - self.reported.resyncs,
            orphan_responses: now.orphan_responses - self.reported.orphan_responses,
            pending_overflow: now.pending_overflow - self.reported.pending_overflow,
            skipped_in_body: now.skipped_in_body - self.reported.skipped_in_body,
            skipped_lost: now.skipped_lost - self.reported.skipped_lost,
        };
        self.reported = now;
        d
    }
}

fn direction(d: u8) -> Direction {
    if d == EGRESS {
        Direction::Egress
    } else {
        Direction::Ingress
    }
}

fn dir_index(d: Direction) -> usize {
    match d {
        Direction::Egress => 0,
        Direction::Ingress => 1,
    }
}
