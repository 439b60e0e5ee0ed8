//! Pairs HTTP/1.x requests and responses (FIFO, pipelining-safe) into exchanges.

use std::collections::VecDeque;

use super::{Event, Head, Kind, Parser, StartLine};
use crate::{
    Config, ConversationStats, Detail, Direction, Exchange, ExchangeFlag, HttpExchange, Protocol,
};

/// A request seen (at least its start), waiting for its response.
#[derive(Debug)]
struct Pending {
    seq: u64,
    http: HttpExchange,
    start_ns: u64,
    end_ns: Option<u64>,
    bytes: u64,
    flags: Vec<ExchangeFlag>,
}

/// The response being read.
#[derive(Debug, Default)]
struct Response {
    start_ns: Option<u64>,
    interim_bytes: u64,
    head: Option<Head>,
}

/// HTTP state of one conversation.
#[derive(Debug)]
pub(crate) struct HttpTracker {
    client: Direction,
    req: Parser,
    resp: Parser,
    pending: VecDeque<Pending>,
    current_req: Option<u64>,
    req_start_ns: u64,
    next_seq: u64,
    response: Response,
    upgraded: bool,
    max_pending: usize,
}

fn flag(flags: &mut Vec<ExchangeFlag>, f: ExchangeFlag) {
    if !flags.contains(&f) {
        flags.push(f);
    }
}

impl HttpTracker {
    /// `client` sends requests. A direction that already carried unrecognised bytes
    /// starts resynchronising (attached mid-connection).
    pub fn new(client: Direction, config: &Config, resync: [bool; 2]) -> Self {
        let parser = |kind, resync: bool| {
            let p = Parser::new(kind, config.max_head_bytes);
            if resync {
                p.resynchronising()
            } else {
                p
            }
        };
        HttpTracker {
            client,
            req: parser(Kind::Request, resync[client.index()]),
            resp: parser(Kind::Response, resync[client.opposite().index()]),
            pending: VecDeque::new(),
            current_req: None,
            req_start_ns: 0,
            next_seq: 0,
            response: Response::default(),
            upgraded: false,
            max_pending: config.max_pending.max(1),
        }
    }

    pub fn skippable(&self, dir: Direction) -> u64 {
        if self.upgraded {
            0
        } else if dir == self.client {
            self.req.skippable()
        } else {
            self.resp.skippable()
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
        if self.upgraded {
            return;
        }
        let mut input = data;
        loop {
            let result = if dir == self.client {
                self.req.advance(&mut input)
            } else {
                let method = self.pending.front().map(|p| p.http.method.as_str());
                self.resp.set_answering(method);
                self.resp.advance(&mut input)
            };
            match result {
                Ok(None) => return,
                Ok(Some(ev)) if dir == self.client => self.request_event(ev, t, st, out),
                Ok(Some(ev)) => self.response_event(ev, t, st, out),
                Err(_) => {
                    st.parse_errors += 1;
                    st.resyncs += 1;
                    if dir == self.client {
                        let abandoned = self.req.take_abandoned();
                        if self.current().is_none() {
                            if let Some(StartLine::Request { method, target }) = abandoned {
                                let http = HttpExchange {
                                    method,
                                    target,
                                    ..HttpExchange::default()
                                };
                                self.push_pending(http, t, st, out);
                            }
                        }
                        if let Some(p) = self.current() {
                            flag(&mut p.flags, ExchangeFlag::ParseError);
                            p.end_ns.get_or_insert(t);
                        }
                        self.current_req = None;
                    } else {
                        self.finish_response(t, 0, 0, &[ExchangeFlag::ParseError], st, out);
                    }
                }
            }
            if self.upgraded {
                return;
            }
        }
    }

    pub fn skipped(
        &mut self,
        dir: Direction,
        t: u64,
        len: u64,
        st: &mut ConversationStats,
        out: &mut Vec<Exchange>,
    ) {
        if self.upgraded {
            return;
        }
        let parser = if dir == self.client {
            &mut self.req
        } else {
            &mut self.resp
        };
        let outcome = parser.skip(len);
        st.skipped_in_body += outcome.in_body;
        st.skipped_lost += outcome.lost;
        if outcome.lost > 0 {
            st.resyncs += 1;
        }
        if outcome.broke_message {
            if dir == self.client {
                if self.current().is_none() {
                    if let Some(StartLine::Request { method, target }) = outcome.partial_start {
                        let http = HttpExchange {
                            method,
                            target,
                            ..HttpExchange::default()
                        };
                        self.push_pending(http, t, st, out);
                    }
                }
                if let Some(p) = self.current() {
                    flag(&mut p.flags, ExchangeFlag::Truncated);
                    p.end_ns.get_or_insert(t);
                }
                self.current_req = None;
            } else {
                if self.response.head.is_none() {
                    if let Some(StartLine::Response { status, .. }) = outcome.partial_start {
                        if let Some(p) = self.pending.front_mut() {
                            p.http.status = Some(status);
                        }
                    }
                }
                self.finish_response(t, 0, 0, &[ExchangeFlag::Truncated], st, out);
            }
        }
        // A skip may have finished a body of known length.
        self.bytes(dir, t, &[], st, out);
    }

    pub fn close(&mut self, t: u64, st: &mut ConversationStats, out: &mut Vec<Exchange>) {
        if !self.upgraded {
            match self.resp.finish() {
                Ok(Some(done)) => {
                    self.finish_response(t, done.wire_len, done.body_len, &[], st, out)
                }
                Ok(None) => {}
                Err(_) => self.finish_response(t, 0, 0, &[ExchangeFlag::Truncated], st, out),
            }
        }
        while let Some(p) = self.pending.pop_front() {
            Self::emit(self.client, p, None, &[ExchangeFlag::NoResponse], st, out);
        }
        self.current_req = None;
    }

    pub fn expire(
        &mut self,
        now: u64,
        timeout: u64,
        st: &mut ConversationStats,
        out: &mut Vec<Exchange>,
    ) {
        while let Some(front) = self.pending.front() {
            let answering = self.resp.in_message() && self.response.head.is_some();
            if answering || front.start_ns.saturating_add(timeout) > now {
                break;
            }
            if let Some(p) = self.pending.pop_front() {
                if Some(p.seq) == self.current_req {
                    self.current_req = None;
                }
                Self::emit(self.client, p, None, &[ExchangeFlag::NoResponse], st, out);
            }
        }
    }

    fn current(&mut self) -> Option<&mut Pending> {
        let seq = self.current_req?;
        self.pending.iter_mut().rev().find(|p| p.seq == seq)
    }

    fn push_pending(
        &mut self,
        http: HttpExchange,
        t: u64,
        st: &mut ConversationStats,
        out: &mut Vec<Exchange>,
    ) {
        if self.pending.len() >= self.max_pending {
            st.pending_overflow += 1;
            if let Some(old) = self.pending.pop_front() {
                Self::emit(self.client, old, None, &[ExchangeFlag::NoResponse], st, out);
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push_back(Pending {
            seq,
            http,
            start_ns: self.req_start_ns.min(t),
            end_ns: None,
            bytes: 0,
            flags: Vec::new(),
        });
        self.current_req = Some(seq);
    }

    fn request_event(
        &mut self,
        ev: Event<'_>,
        t: u64,
        st: &mut ConversationStats,
        out: &mut Vec<Exchange>,
    ) {
        match ev {
            Event::Begin => self.req_start_ns = t,
            Event::Head(head) => {
                let http = HttpExchange {
                    method: head.method().unwrap_or_default().to_string(),
                    target: match &head.start {
                        StartLine::Request { target, .. } => target.clone(),
                        StartLine::Response { .. } => String::new(),
                    },
                    version: head.version(),
                    host: head.header("host").map(str::to_string),
                    user_agent: head.header("user-agent").map(str::to_string),
                    content_type: head.header("content-type").map(str::to_string),
                    request_chunked: head.has_token("transfer-encoding", "chunked"),
                    ..HttpExchange::default()
                };
                self.push_pending(http, t, st, out);
            }
            Event::Body(_) => {}
            Event::Complete(done) => {
                if let Some(p) = self.current() {
                    p.end_ns = Some(t);
                    p.bytes = done.wire_len;
                    p.http.request_body_bytes = done.body_len;
                }
                self.current_req = None;
            }
        }
    }

    fn response_event(
        &mut self,
        ev: Event<'_>,
        t: u64,
        st: &mut ConversationStats,
        out: &mut Vec<Exchange>,
    ) {
        match ev {
            Event::Begin => self.response.start_ns = Some(t),
            Event::Head(head) => {
                if self.pending.is_empty() {
                    st.orphan_responses += 1;
                }
                self.response.head = Some(head);
            }
            Event::Body(_) => {}
            Event::Complete(done) => {
                let status = self
                    .response
                    .head
                    .as_ref()
                    .and_then(Head::status)
                    .unwrap_or(0);
                if (100..200).contains(&status) && status != 101 {
                    self.response.interim_bytes += done.wire_len;
                    self.response.head = None;
                    if let Some(p) = self.pending.front_mut() {
                        if status == 100 {
                            flag(&mut p.flags, ExchangeFlag::Continue100);
                        }
                    }
                    return;
                }
                let mut flags = Vec::new();
                if done.upgrade {
                    flags.push(ExchangeFlag::Upgraded);
                }
                let connect = self
                    .pending
                    .front()
                    .is_some_and(|p| p.http.method == "CONNECT");
                if connect && !done.upgrade {
                    self.req.resume();
                }
                self.finish_response(t, done.wire_len, done.body_len, &flags, st, out);
                if done.upgrade {
                    self.upgraded = true;
                }
            }
        }
    }

    /// The response in progress ended: pair it with the oldest request.
    fn finish_response(
        &mut self,
        t: u64,
        wire: u64,
        body: u64,
        flags: &[ExchangeFlag],
        st: &mut ConversationStats,
        out: &mut Vec<Exchange>,
    ) {
        let response = std::mem::take(&mut self.response);
        let Some(mut p) = self.pending.pop_front() else {
            if response.head.is_none() && !flags.is_empty() {
                st.orphan_responses += 1;
            }
            return;
        };
        if Some(p.seq) == self.current_req {
            self.current_req = None;
            p.end_ns.get_or_insert(t);
        }
        p.http.response_body_bytes = body;
        if let Some(head) = &response.head {
            if let StartLine::Response { status, reason } = &head.start {
                p.http.status = Some(*status);
                p.http.reason = Some(reason.clone());
            }
            p.http.response_chunked = head.has_token("transfer-encoding", "chunked");
            if let Some(ct) = head.header("content-type") {
                p.http.content_type = Some(ct.to_string());
            }
            if flags.contains(&ExchangeFlag::Upgraded) {
                p.http.upgrade = Some(head.header("upgrade").unwrap_or(&p.http.method).to_string());
            }
        }
        let start = response.start_ns.unwrap_or(t);
        let resp = Some((start, t, response.interim_bytes + wire));
        Self::emit(self.client, p, resp, flags, st, out);
    }

    fn emit(
        client: Direction,
        mut p: Pending,
        response: Option<(u64, u64, u64)>,
        flags: &[ExchangeFlag],
        st: &mut ConversationStats,
        out: &mut Vec<Exchange>,
    ) {
        for &f in flags {
            flag(&mut p.flags, f);
        }
        st.exchanges += 1;
        out.push(Exchange {
            protocol: Protocol::Http1,
            request_direction: client,
            request_start_ns: p.start_ns,
            request_end_ns: p.end_ns.unwrap_or(p.start_ns),
            response_start_ns: response.map(|r| r.0),
            response_end_ns: response.map(|r| r.1),
            request_bytes: p.bytes,
            response_bytes: response.map_or(0, |r| r.2),
            detail: Detail::Http(p.http),
            flags: p.flags,
        });
    }
}
