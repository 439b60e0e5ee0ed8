//! Protocol inference from the first bytes one direction sent.

use crate::dns::Message;
use crate::http1::head;
use crate::{Hints, Protocol, Transport};

/// What the first bytes of a direction say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Recognised; `client` is true when this direction sent a request.
    Match {
        /// The protocol.
        protocol: Protocol,
        /// Whether the sender of these bytes is the client.
        client: bool,
    },
    /// Consistent with a protocol so far; more bytes are needed.
    NeedMore,
    /// Not a protocol we parse.
    No,
}

/// Classify the first bytes of one direction.
pub fn infer(data: &[u8], hints: &Hints) -> Verdict {
    match hints.transport {
        Transport::Udp => dns_udp(data, hints),
        Transport::Tcp => [tls(data), http(data), dns_tcp(data, hints)]
            .into_iter()
            .fold(Verdict::No, |best, v| match (best, v) {
                (Verdict::Match { .. }, _) => best,
                (_, Verdict::Match { .. }) => v,
                (Verdict::NeedMore, _) | (_, Verdict::NeedMore) => Verdict::NeedMore,
                _ => Verdict::No,
            }),
    }
}

/// TLS record header: handshake/application data, version 3.0–3.4.
fn tls(data: &[u8]) -> Verdict {
    match data {
        [0x16 | 0x17, 0x03, 0x00..=0x04, rest @ ..] => match (data.first(), rest.get(2)) {
            (Some(0x16), Some(kind)) => Verdict::Match {
                protocol: Protocol::Tls,
                client: *kind == 1,
            },
            (Some(0x16), None) => Verdict::NeedMore,
            _ => Verdict::Match {
                protocol: Protocol::Tls,
                client: false,
            },
        },
        [0x16 | 0x17] | [0x16 | 0x17, 0x03] => Verdict::NeedMore,
        _ => Verdict::No,
    }
}

/// An HTTP request line (`METHOD SP target SP HTTP/1.x`) or status line (`HTTP/1.x SP`).
fn http(data: &[u8]) -> Verdict {
    let line_end = data.iter().position(|&b| b == b'\r' || b == b'\n');
    let line = data
        .get(..line_end.unwrap_or(data.len()))
        .unwrap_or_default();
    if line.starts_with(b"HTTP/1.") {
        return match line.get(7..9) {
            Some([d, b' ']) if d.is_ascii_digit() => Verdict::Match {
                protocol: Protocol::Http1,
                client: false,
            },
            Some(_) => Verdict::No,
            None if line_end.is_none() => Verdict::NeedMore,
            None => Verdict::No,
        };
    }
    if b"HTTP/1.".starts_with(line) && line_end.is_none() {
        return Verdict::NeedMore;
    }
    let Some(sp) = line
        .iter()
        .take(head::MAX_METHOD_LEN + 1)
        .position(|&b| b == b' ')
    else {
        let partial = line_end.is_none() && line.len() <= head::MAX_METHOD_LEN;
        return if partial && head::is_method_prefix(line) {
            Verdict::NeedMore
        } else {
            Verdict::No
        };
    };
    if !head::is_known_method(line.get(..sp).unwrap_or_default()) {
        return Verdict::No;
    }
    let rest = line.get(sp + 1..).unwrap_or_default();
    match rest.iter().position(|&b| b == b' ') {
        Some(sp2) => {
            let version = rest.get(sp2 + 1..).unwrap_or_default();
            let n = version.len().min(7);
            if !b"HTTP/1.".starts_with(version.get(..n).unwrap_or_default()) {
                Verdict::No
            } else if n == 7 {
                Verdict::Match {
                    protocol: Protocol::Http1,
                    client: true,
                }
            } else if line_end.is_none() {
                Verdict::NeedMore
            } else {
                Verdict::No
            }
        }
        None if line_end.is_none() => Verdict::NeedMore,
        None => Verdict::No,
    }
}

/// DNS over TCP: a 2-byte length, then a message that parses.
fn dns_tcp(data: &[u8], hints: &Hints) -> Verdict {
    let Some(&[hi, lo]) = data.get(..2) else {
        return Verdict::NeedMore;
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if len < 12 {
        return Verdict::No;
    }
    match data.get(2..2 + len) {
        Some(msg) => dns_udp(msg, hints),
        None => Verdict::NeedMore,
    }
}

/// DNS over UDP: a message that parses, with a question unless port 53 is involved.
fn dns_udp(data: &[u8], hints: &Hints) -> Verdict {
    match Message::parse(data) {
        Ok(m) if m.header.opcode <= 6 && (m.questions.len() == 1 || hints.has_port(53)) => {
            Verdict::Match {
                protocol: Protocol::Dns,
                client: !m.header.response,
            }
        }
        _ => Verdict::No,
    }
}
