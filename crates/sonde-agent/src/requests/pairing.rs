//! When both ends of a connection are on this host, sonde sees each request
//! twice: from the client's socket and from the server's. Pairing joins the
//! two views into one record (client's latency, both processes). A view is
//! held briefly for its twin only when its peer is local.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use sonde_event::{Endpoint, Request, SeenBy};

/// (client, server, the request's ordinal on its connection).
type Key = (Endpoint, Endpoint, u64);

#[derive(Default)]
pub struct Pairing {
    held: HashMap<Key, (Request, u64)>,
    order: VecDeque<(Key, u64)>,
    /// Addresses of sockets seen on this host: a peer with one is local.
    local_ips: std::collections::HashSet<IpAddr>,
}

/// At most this many views wait for their twin.
const HELD_MAX: usize = 1 << 16;
const LOCAL_IPS_MAX: usize = 4096;

/// A view ready to emit and whether it was joined with its twin; `None`
/// while it is held for its twin.
pub type Paired = Option<(Request, bool)>;

impl Pairing {
    pub fn note_local(&mut self, ip: IpAddr) {
        if self.local_ips.len() < LOCAL_IPS_MAX {
            self.local_ips.insert(ip);
        }
    }

    fn peer_is_local(&self, r: &Request) -> bool {
        let peer = match r.seen_by {
            SeenBy::Client => r.server.ip,
            _ => r.client.ip,
        };
        peer.is_loopback() || self.local_ips.contains(&peer)
    }

    /// Offers one view, seen at `now_ns`.
    pub fn offer(&mut self, r: Request, ordinal: u64, now_ns: u64) -> Paired {
        if !self.peer_is_local(&r) {
            return Some((r, false));
        }
        let key = (r.client, r.server, ordinal);
        match self.held.remove(&key) {
            Some((twin, _)) if twin.seen_by != r.seen_by => {
                let (mut client, server) = if r.seen_by == SeenBy::Client {
                    (r, twin)
                } else {
                    (twin, r)
                };
                client.merge_server_view(server);
                Some((client, true))
            }
            Some(same) => {
                // The same end twice (a reused tuple): let the older go.
                self.held.insert(key, (r, now_ns));
                self.order.push_back((key, now_ns));
                Some((same.0, false))
            }
            None => {
                self.held.insert(key, (r, now_ns));
                self.order.push_back((key, now_ns));
                None
            }
        }
    }

    /// Views held longer than `hold_ns` (or past the bound) go out alone.
    pub fn expire(&mut self, now_ns: u64, hold_ns: u64, out: &mut Vec<Request>) {
        while let Some(&(key, at)) = self.order.front() {
            if now_ns.saturating_sub(at) < hold_ns && self.held.len() <= HELD_MAX {
                break;
            }
            self.order.pop_front();
            if let Some((r, held_at)) = self.held.remove(&key) {
                if held_at == at {
                    out.push(r);
                } else {
                    self.held.insert(key, (r, held_at));
                }
            }
        }
    }
}
