//! Pairs DNS queries and responses by (id, question); reassembles DNS over TCP.

use std::collections::VecDeque;

use super::Message;
use crate::{
    Config, ConversationStats, Detail, Direction, DnsExchange, Exchange, ExchangeFlag, Protocol,
    Transport,
};

#[derive(Debug)]
struct Query {
    dir: Direction,
    time_ns: u64,
    end_ns: u64,
    bytes: u64,
    message: Message,
}

/// Reassembly of length-prefixed messages in one TCP direction.
#[derive(Debug, Default)]
struct Framer {
    buf: Vec<u8>,
    start_ns: u64,
    /// Bytes of a damaged message still to be discarded.
    discard: u64,
}

/// DNS state of one conversation.
#[derive(Debug)]
pub(crate) struct DnsTracker {
    transport: Transport,
    pending: VecDeque<Query>,
    framers: [Framer; 2],
    max_pending: usize,
}

impl DnsTracker {
    pub fn new(transport: Transport, config: &Config) -> Self {
        DnsTracker {
            transport,
            pending: VecDeque::new(),
            framers: Default::default(),
            max_pending: config.max_pending.max(1),
        }
    }

    pub fn bytes(
        &mut self,
        dir: Direction,
        t: u64,
        data: &[u8],
        st: &mut ConversationStats,
        out: &mut Vec<Exchange>,
    ) {
        if self.transport == Transport::Udp {
            self.message(dir, t, t, data, st, out);
            return;
        }
        let mut input = data;
        while !input.is_empty() {
            let f = &mut self.framers[dir.index()];
            if f.discard > 0 {
                let n = f.discard.min(input.len() as u64) as usize;
                f.discard -= n as u64;
                input = input.get(n..).unwrap_or_default();
                continue;
            }
            if f.buf.is_empty() {
                f.start_ns = t;
            }
            let want = match f.buf.get(..2) {
                Some(&[hi, lo]) => 2 + usize::from(u16::from_be_bytes([hi, lo])),
                _ => 2,
            };
            let n = want.saturating_sub(f.buf.len()).min(input.len());
            let (head, rest) = input.split_at(n);
            f.buf.extend_from_slice(head);
            input = rest;
            let frame_len = match f.buf.get(..2) {
                Some(&[hi, lo]) => 2 + usize::from(u16::from_be_bytes([hi, lo])),
                _ => continue,
            };
            if f.buf.len() == frame_len {
                let frame = std::mem::take(&mut f.buf);
                let start = f.start_ns;
                self.message(dir, start, t, frame.get(2..).unwrap_or_default(), st, out);
            }
        }
    }

    pub fn skipped(&mut self, dir: Direction, len: u64, st: &mut ConversationStats) {
        st.skipped_lost += len;
        if self.transport == Transport::Udp {
            return;
        }
        let f = &mut self.framers[dir.index()];
        match f.buf.get(..2) {
            // Inside a message of known length: drop it, keep framing.
            Some(&[hi, lo]) => {
                let remaining = (2 + u64::from(u16::from_be_bytes([hi, lo])))
                    .saturating_sub(f.buf.len() as u64);
                f.buf.clear();
                if len <= remaining {
                    f.discard = remaining - len;
                } else {
                    st.resyncs += 1;
                }
            }
            _ => {
                f.buf.clear();
                st.resyncs += 1;
            }
        }
        st.parse_errors += 1;
    }

    pub fn close(&mut self, st: &mut ConversationStats, out: &mut Vec<Exchange>) {
        while let Some(q) = self.pending.pop_front() {
            emit(q, None, st, out);
        }
    }

    pub fn expire(
        &mut self,
        now: u64,
        timeout: u64,
        st: &mut ConversationStats,
        out: &mut Vec<Exchange>,
    ) {
        while self
            .pending
            .front()
            .is_some_and(|q| q.time_ns.saturating_add(timeout) <= now)
        {
            if let Some(q) = self.pending.pop_front() {
                emit(q, None, st, out);
            }
        }
    }

    fn message(
        &mut self,
        dir: Direction,
        start: u64,
        end: u64,
        data: &[u8],
        st: &mut ConversationStats,
        out: &mut Vec<Exchange>,
    ) {
        let Ok(message) = Message::parse(data) else {
            st.parse_errors += 1;
            return;
        };
        let bytes = data.len() as u64;
        if !message.header.response {
            if self.pending.len() >= self.max_pending {
                st.pending_overflow += 1;
                if let Some(old) = self.pending.pop_front() {
                    emit(old, None, st, out);
                }
            }
            self.pending.push_back(Query {
                dir,
                time_ns: start,
                end_ns: end,
                bytes,
                message,
            });
            return;
        }
        let matching = self.pending.iter().position(|q| {
            q.dir != dir
                && q.message.header.id == message.header.id
                && q.message.questions == message.questions
        });
        match matching.and_then(|i| self.pending.remove(i)) {
            Some(q) => emit(q, Some((start, end, bytes, message)), st, out),
            None => st.orphan_responses += 1,
        }
    }
}

fn emit(
    q: Query,
    response: Option<(u64, u64, u64, Message)>,
    st: &mut ConversationStats,
    out: &mut Vec<Exchange>,
) {
    st.exchanges += 1;
    let query = q.message;
    let mut dns = DnsExchange {
        id: query.header.id,
        opcode: query.header.opcode,
        questions: query.questions,
        recursion_desired: query.header.recursion_desired,
        edns: query.edns,
        ..DnsExchange::default()
    };
    let mut flags = Vec::new();
    let (mut rs, mut re, mut rb) = (None, None, 0);
    match response {
        Some((start, end, bytes, r)) => {
            dns.rcode = Some(r.rcode);
            dns.answers = r.answers;
            dns.authoritative = r.header.authoritative;
            dns.truncated = r.header.truncated;
            dns.edns = r.edns.or(dns.edns);
            (rs, re, rb) = (Some(start), Some(end), bytes);
        }
        None => flags.push(ExchangeFlag::NoResponse),
    }
    out.push(Exchange {
        protocol: Protocol::Dns,
        request_direction: q.dir,
        request_start_ns: q.time_ns,
        request_end_ns: q.end_ns,
        response_start_ns: rs,
        response_end_ns: re,
        request_bytes: q.bytes,
        response_bytes: rb,
        detail: Detail::Dns(dns),
        flags,
    });
}
