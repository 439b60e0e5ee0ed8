//! One conversation: protocol inference, then dispatch to a protocol tracker.

use crate::dns::conversation::DnsTracker;
use crate::http1::conversation::HttpTracker;
use crate::infer::{infer, Verdict};
use crate::{Config, ConversationStats, Direction, Exchange, Hints, Protocol, Transport};

/// Bytes or a skip seen before the protocol was known, replayed once it is.
#[derive(Debug)]
enum Piece {
    Data(u64, Vec<u8>),
    Skip(u64, u64),
}

#[derive(Debug)]
enum Engine {
    Inferring {
        pieces: [Vec<Piece>; 2],
        seen: [usize; 2],
        skipped: [bool; 2],
    },
    Http(Box<HttpTracker>),
    Dns(DnsTracker),
    Tls,
    GaveUp,
}

/// One conversation = one TCP connection, or one UDP (local, peer) pair, seen from one endpoint.
///
/// Feed it with [`bytes`](Self::bytes) and [`skipped`](Self::skipped) in capture order,
/// and collect finished exchanges with [`drain`](Self::drain).
#[derive(Debug)]
pub struct Conversation {
    hints: Hints,
    config: Config,
    engine: Engine,
    stats: ConversationStats,
    out: Vec<Exchange>,
}

impl Conversation {
    /// A conversation with nothing seen yet.
    pub fn new(hints: Hints, config: Config) -> Self {
        Conversation {
            hints,
            config,
            engine: Engine::Inferring {
                pieces: Default::default(),
                seen: [0; 2],
                skipped: [false; 2],
            },
            stats: ConversationStats::default(),
            out: Vec::new(),
        }
    }

    /// In-order bytes (TCP) or exactly one datagram (UDP), observed at `time_ns`.
    pub fn bytes(&mut self, dir: Direction, time_ns: u64, data: &[u8]) {
        match &mut self.engine {
            Engine::Inferring {
                pieces,
                seen,
                skipped,
            } => {
                let i = dir.index();
                let verdict = if self.hints.transport == Transport::Udp {
                    infer(data, &self.hints)
                } else {
                    let mut first: Vec<u8> = pieces[i]
                        .iter()
                        .filter_map(|p| match p {
                            Piece::Data(_, d) => Some(d.as_slice()),
                            Piece::Skip(..) => None,
                        })
                        .flatten()
                        .copied()
                        .collect();
                    let room = self.config.infer_limit.saturating_sub(first.len());
                    first.extend_from_slice(data.get(..room.min(data.len())).unwrap_or(data));
                    if skipped[i] {
                        Verdict::No
                    } else {
                        infer(&first, &self.hints)
                    }
                };
                let keep = self
                    .config
                    .infer_limit
                    .saturating_sub(seen[i])
                    .min(data.len());
                seen[i] = seen[i].saturating_add(data.len());
                if let Verdict::Match { protocol, client } = verdict {
                    let client_dir = if client { dir } else { dir.opposite() };
                    let backlog = std::mem::take(pieces);
                    let resync = [
                        !backlog[0].is_empty() && client_dir.index() != 0,
                        !backlog[1].is_empty() && client_dir.index() != 1,
                    ];
                    self.start(protocol, client_dir, resync);
                    for (d, ps) in [
                        (Direction::Egress, &backlog[0]),
                        (Direction::Ingress, &backlog[1]),
                    ] {
                        for p in ps {
                            self.replay(d, p);
                        }
                    }
                    self.bytes(dir, time_ns, data);
                    return;
                }
                if self.hints.transport == Transport::Tcp && keep > 0 {
                    pieces[i].push(Piece::Data(
                        time_ns,
                        data.get(..keep).unwrap_or_default().to_vec(),
                    ));
                }
                let other_silent_or_done =
                    seen[1 - i] == 0 || seen[1 - i] >= self.config.infer_limit;
                if seen[i] >= self.config.infer_limit && other_silent_or_done {
                    self.stats.parse_errors += 1;
                    self.engine = Engine::GaveUp;
                }
            }
            Engine::Http(h) => h.bytes(dir, time_ns, data, &mut self.stats, &mut self.out),
            Engine::Dns(d) => d.bytes(dir, time_ns, data, &mut self.stats, &mut self.out),
            Engine::Tls | Engine::GaveUp => {}
        }
    }

    /// `len` bytes moved in `dir` but were not captured (truncated capture or a loss).
    ///
    /// Inside a body of known length framing is kept (counted in `skipped_in_body`);
    /// inside a head or chunk header the parser resynchronises (counted in `resyncs`
    /// and `skipped_lost`).
    pub fn skipped(&mut self, dir: Direction, time_ns: u64, len: u64) {
        match &mut self.engine {
            Engine::Inferring {
                pieces,
                skipped,
                seen,
            } => {
                let i = dir.index();
                // Later bytes no longer follow the buffered ones: infer nothing more here.
                skipped[i] = true;
                seen[i] = seen[i].saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
                if pieces[i].len() < 64 {
                    pieces[i].push(Piece::Skip(time_ns, len));
                }
                self.stats.skipped_lost += len;
                if seen[i] >= self.config.infer_limit {
                    self.stats.parse_errors += 1;
                    self.engine = Engine::GaveUp;
                }
            }
            Engine::Http(h) => h.skipped(dir, time_ns, len, &mut self.stats, &mut self.out),
            Engine::Dns(d) => d.skipped(dir, len, &mut self.stats),
            Engine::Tls | Engine::GaveUp => {}
        }
    }

    /// The connection closed: finish a read-until-close response body, flush pending
    /// requests as NoResponse.
    pub fn close(&mut self, time_ns: u64) {
        match &mut self.engine {
            Engine::Http(h) => h.close(time_ns, &mut self.stats, &mut self.out),
            Engine::Dns(d) => d.close(&mut self.stats, &mut self.out),
            Engine::Inferring { .. } | Engine::Tls | Engine::GaveUp => {}
        }
    }

    /// Requests older than `timeout_ns` at `now_ns` without a response are emitted
    /// with the NoResponse flag.
    pub fn expire(&mut self, now_ns: u64, timeout_ns: u64) {
        match &mut self.engine {
            Engine::Http(h) => h.expire(now_ns, timeout_ns, &mut self.stats, &mut self.out),
            Engine::Dns(d) => d.expire(now_ns, timeout_ns, &mut self.stats, &mut self.out),
            Engine::Inferring { .. } | Engine::Tls | Engine::GaveUp => {}
        }
    }

    /// Move finished exchanges out.
    pub fn drain(&mut self, out: &mut Vec<Exchange>) {
        out.append(&mut self.out);
    }

    /// The protocol recognised so far.
    pub fn protocol(&self) -> Option<Protocol> {
        match self.engine {
            Engine::Http(_) => Some(Protocol::Http1),
            Engine::Dns(_) => Some(Protocol::Dns),
            Engine::Tls => Some(Protocol::Tls),
            Engine::Inferring { .. } | Engine::GaveUp => None,
        }
    }

    /// True once neither direction could be recognised within `infer_limit` bytes (or
    /// it is TLS ciphertext): the caller may stop capturing this conversation.
    pub fn gave_up(&self) -> bool {
        matches!(self.engine, Engine::Tls | Engine::GaveUp)
    }

    /// How many upcoming bytes in `dir` the parser will skip anyway (the rest of a
    /// body of known length), so the capture side may avoid copying them. 0 when unknown.
    pub fn skippable(&self, dir: Direction) -> u64 {
        match &self.engine {
            Engine::Http(h) => h.skippable(dir),
            _ => 0,
        }
    }

    /// Counters, losses included.
    pub fn stats(&self) -> &ConversationStats {
        &self.stats
    }

    fn start(&mut self, protocol: Protocol, client: Direction, resync: [bool; 2]) {
        self.engine = match protocol {
            Protocol::Http1 => {
                Engine::Http(Box::new(HttpTracker::new(client, &self.config, resync)))
            }
            Protocol::Dns => Engine::Dns(DnsTracker::new(self.hints.transport, &self.config)),
            Protocol::Tls => Engine::Tls,
        };
    }

    fn replay(&mut self, dir: Direction, piece: &Piece) {
        match piece {
            Piece::Data(t, d) => self.bytes(dir, *t, d),
            Piece::Skip(t, len) => {
                self.stats.skipped_lost = self.stats.skipped_lost.saturating_sub(*len);
                self.skipped(dir, *t, *len);
            }
        }
    }
}
