//! Fuzz target bodies, shared by the cargo-fuzz targets in `fuzz/` and the
//! stable-Rust smoke test. Each must never panic and must keep memory bounded.

use crate::dns::Message;
use crate::http1::{Kind, Parser};
use crate::{Config, Conversation, Direction, Hints, Transport};

/// Small limits so bounds are hit often.
fn config() -> Config {
    Config {
        max_pending: 8,
        max_head_bytes: 1024,
        infer_limit: 512,
    }
}

/// Feed `data` to request and response parsers, split at input-driven points.
pub fn http1_conversation(data: &[u8]) {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let mut c = Conversation::new(hints(Transport::Tcp), config());
    let step = usize::from(seed % 17) + 1;
    // A valid request first, so the rest is parsed as HTTP whatever it holds.
    c.bytes(Direction::Egress, 0, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    for (i, chunk) in rest.chunks(step).enumerate() {
        let dir = if chunk.first().is_some_and(|b| b & 1 == 0) {
            Direction::Ingress
        } else {
            Direction::Egress
        };
        c.bytes(dir, i as u64, chunk);
    }
    for kind in [Kind::Request, Kind::Response] {
        let mut p = Parser::new(kind, 1024);
        for chunk in rest.chunks(step) {
            let mut input = chunk;
            while let Ok(Some(_)) | Err(_) = p.advance(&mut input) {
                if input.is_empty() {
                    break;
                }
            }
        }
        let _ = p.finish();
    }
    check(&mut c);
}

/// Parse `data` as a DNS message, and as UDP/TCP DNS conversations.
pub fn dns_message(data: &[u8]) {
    if let Ok(m) = Message::parse(data) {
        assert!(m.questions.len() + m.answers.len() <= data.len());
    }
    let mut udp = Conversation::new(hints(Transport::Udp), config());
    udp.bytes(Direction::Egress, 0, data);
    udp.bytes(Direction::Ingress, 1, data);
    check(&mut udp);
    let mut tcp = Conversation::new(hints(Transport::Tcp), config());
    let mut framed = (data.len().min(65535) as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(data);
    for chunk in framed.chunks(7) {
        tcp.bytes(Direction::Egress, 0, chunk);
    }
    check(&mut tcp);
}

/// Drive a conversation with operations decoded from `data`: byte chunks in either
/// direction, skips of input-driven length, expiry and close.
pub fn conversation_any(data: &[u8]) {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let transport = if mode & 1 == 0 {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let mut c = Conversation::new(hints(transport), config());
    let mut t = 0u64;
    while let Some((&op, tail)) = rest.split_first() {
        let dir = if op & 0x80 == 0 {
            Direction::Egress
        } else {
            Direction::Ingress
        };
        let n = usize::from(op & 0x3f) + 1;
        t += 1;
        if op & 0x40 == 0 {
            let (chunk, next) = tail.split_at(n.min(tail.len()));
            c.bytes(dir, t, chunk);
            rest = next;
        } else {
            let len = if n > 60 {
                u64::from(op) << 30
            } else {
                n as u64 * 3
            };
            let _ = c.skippable(dir);
            c.skipped(dir, t, len);
            rest = tail;
        }
        if op == 0xff {
            c.expire(t, 2);
        }
    }
    c.close(t + 1);
    check(&mut c);
}

fn hints(transport: Transport) -> Hints {
    Hints {
        transport,
        local_port: 40000,
        remote_port: if transport == Transport::Udp { 53 } else { 80 },
    }
}

/// Invariants that hold for any input.
fn check(c: &mut Conversation) {
    let mut out = Vec::new();
    c.drain(&mut out);
    assert!(out.len() as u64 <= c.stats().exchanges);
    for e in &out {
        for (i, f) in e.flags.iter().enumerate() {
            assert!(
                !e.flags.get(i + 1..).unwrap_or_default().contains(f),
                "duplicate flag"
            );
        }
    }
}
