//! The service map: who talks to whom over a time range, built from TCP
//! connection reports and packet drops.
//!
//! A node is a local workload (its container, or else its binary) or, for a
//! peer outside this host, its IP address. An edge runs from client to
//! server port. When both ends are on this host, the connect side names the
//! client and the accept side the server, and the connection counts once.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{Direction, Endpoint, Event, PacketDrop, TcpConnection, TcpEnd, Workload};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Node {
    Container(String),
    Binary(String),
    External(IpAddr),
}

impl Node {
    fn of(workload: Option<&Workload>, ip: IpAddr) -> Node {
        match workload {
            Some(w) => match &w.container {
                Some(c) => Node::Container(c.id.chars().take(12).collect()),
                None if !w.binary.is_empty() => Node::Binary(w.binary.clone()),
                None => Node::Binary(format!("[{}]", w.comm)),
            },
            None => Node::External(ip.to_canonical()),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Node::Container(id) => format!("container {id}"),
            Node::Binary(b) => b.clone(),
            Node::External(ip) => ip.to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EdgeStats {
    pub connections: u64,
    /// connect() calls that failed (refused or timed out).
    pub failed: u64,
    pub bytes_to_server: u64,
    pub bytes_to_client: u64,
    /// Mean smoothed RTT over the connections that measured one.
    pub avg_srtt_us: u32,
    pub retransmits: u64,
    pub resets: u64,
    pub drops: u64,
    #[serde(skip)]
    srtt_sum: u64,
    #[serde(skip)]
    srtt_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub from: Node,
    pub to: Node,
    pub port: u16,
    #[serde(flatten)]
    pub stats: EdgeStats,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceMap {
    pub edges: Vec<Edge>,
}

/// Reasons the kernel gives for discarding what a closing socket still held:
/// local clean-up, not packets lost on the way.
const LOCAL_DISCARDS: [&str; 2] = ["QUEUE_PURGE", "SOCKET_CLOSE"];

/// One connection as seen from each end this host observed.
#[derive(Default)]
struct Sides<'a> {
    client: Option<&'a TcpConnection>,
    server: Option<&'a TcpConnection>,
}

impl ServiceMap {
    /// Builds the map from events (others are ignored). For a connection
    /// reported more than once (interim, then final), the latest report counts.
    pub fn build<'a>(events: impl IntoIterator<Item = &'a Event>) -> ServiceMap {
        let mut connections: HashMap<(Endpoint, Endpoint, bool), Sides<'a>> = HashMap::new();
        let mut drops = Vec::new();
        for event in events {
            match event {
                Event::TcpConnection(c) => {
                    let (client, server) = c.client_server();
                    let sides = connections
                        .entry((client, server, c.start_time.is_some()))
                        .or_default();
                    let slot = match c.direction {
                        Direction::Accept => &mut sides.server,
                        Direction::Connect | Direction::Unknown => &mut sides.client,
                    };
                    if slot.is_none_or(|old| old.time <= c.time) {
                        *slot = Some(c);
                    }
                }
                Event::PacketDrop(d) if !LOCAL_DISCARDS.contains(&d.reason.as_str()) => {
                    drops.push(d)
                }
                Event::PacketDrop(_) => {}
                // UDP has no client and server to draw an edge between (yet).
                Event::UdpFlow(_)
                | Event::Request(_)
                | Event::ProcessExec(_)
                | Event::ProcessExit(_)
                | Event::Profile(_)
                | Event::Alert(_)
                | Event::Enforcement(_)
                | Event::Listen(_)
                | Event::File(_)
                | Event::Security(_) => {}
            }
        }
        let mut map = Builder::default();
        for ((client, server, _), sides) in &connections {
            map.add_connection(*client, *server, sides);
        }
        for d in drops {
            map.add_drop(d);
        }
        let edges = map.edges;
        ServiceMap {
            edges: edges
                .into_iter()
                .map(|((from, to, port), mut stats)| {
                    stats.avg_srtt_us =
                        stats.srtt_sum.checked_div(stats.srtt_count).unwrap_or(0) as u32;
                    Edge {
                        from,
                        to,
                        port,
                        stats,
                    }
                })
                .collect(),
        }
    }

    /// Graphviz DOT.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph sonde {\n  rankdir=LR;\n  node [shape=box];\n");
        for e in &self.edges {
            let s = &e.stats;
            let mut label = format!(
                "{} conns :{}\\n{}B / {}B",
                s.connections, e.port, s.bytes_to_server, s.bytes_to_client
            );
            if s.drops + s.failed + s.resets > 0 {
                label.push_str(&format!(
                    "\\nfailed {} resets {} drops {}",
                    s.failed, s.resets, s.drops
                ));
            }
            let color = if s.drops + s.failed > 0 {
                "red"
            } else {
                "black"
            };
            out.push_str(&format!(
                "  {:?} -> {:?} [label={:?}, color={color}];\n",
                e.from.label(),
                e.to.label(),
                label
            ));
        }
        out.push_str("}\n");
        out
    }
}

type EdgeKey = (Node, Node, u16);

#[derive(Default)]
struct Builder {
    edges: BTreeMap<EdgeKey, EdgeStats>,
    /// (client ip, server ip, server port) to the edge it landed on, so that
    /// drops find their connection's edge.
    by_address: HashMap<(IpAddr, IpAddr, u16), EdgeKey>,
}

impl Builder {
    fn add_connection(&mut self, client: Endpoint, server: Endpoint, sides: &Sides<'_>) {
        let client_process = sides.client.and_then(|c| c.process.as_ref());
        let server_process = sides.server.and_then(|c| c.process.as_ref());
        let key = (
            Node::of(client_process, client.ip),
            Node::of(server_process, server.ip),
            server.port,
        );
        self.by_address.insert(
            (
                client.ip.to_canonical(),
                server.ip.to_canonical(),
                server.port,
            ),
            key.clone(),
        );
        let stats = self.edges.entry(key).or_default();
        stats.connections += 1;
        // The client's view when there is one; the server's otherwise.
        let (to_server, to_client, report) = match (sides.client, sides.server) {
            (Some(c), _) => (c.bytes_sent, c.bytes_received, c),
            (None, Some(s)) => (s.bytes_received, s.bytes_sent, s),
            (None, None) => return,
        };
        stats.bytes_to_server += to_server;
        stats.bytes_to_client += to_client;
        if report.srtt_us > 0 {
            stats.srtt_sum += u64::from(report.srtt_us);
            stats.srtt_count += 1;
        }
        for side in [sides.client, sides.server].into_iter().flatten() {
            stats.retransmits += u64::from(side.retransmits);
            stats.resets += u64::from(side.resets_sent + side.resets_received);
        }
        if report.end == TcpEnd::ConnectFailed {
            stats.failed += 1;
        }
    }

    /// A drop joins its connection's edge, whichever way the packet went;
    /// otherwise it makes an edge of its own.
    fn add_drop(&mut self, d: &PacketDrop) {
        let (Some(src), Some(dst)) = (d.source, d.destination) else {
            return;
        };
        let (s, t) = (src.ip.to_canonical(), dst.ip.to_canonical());
        let key = self
            .by_address
            .get(&(s, t, dst.port))
            .or_else(|| self.by_address.get(&(t, s, src.port)))
            .cloned()
            .unwrap_or_else(|| {
                (
                    Node::of(d.process.as_ref(), src.ip),
                    Node::External(t),
                    dst.port,
                )
            });
        self.edges.entry(key).or_default().drops += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Timestamp, Workload};

    fn workload(binary: &str, pid: u32) -> Workload {
        Workload {
            exec_id: format!("id{pid}"),
            pid,
            comm: "x".into(),
            binary: binary.into(),
            container: None,
        }
    }

    fn end(ip: &str, port: u16) -> Endpoint {
        Endpoint {
            ip: ip.parse().unwrap(),
            port,
        }
    }

    fn conn(
        direction: Direction,
        local: Endpoint,
        remote: Endpoint,
        process: Option<Workload>,
        sent: u64,
        received: u64,
        end: TcpEnd,
    ) -> Event {
        Event::TcpConnection(TcpConnection {
            time: Timestamp(10),
            direction,
            local,
            remote,
            process,
            start_time: Some(Timestamp(5)),
            duration_ns: Some(5),
            bytes_sent: sent,
            bytes_received: received,
            segments_sent: 1,
            segments_received: 1,
            srtt_us: 100,
            retransmits: 0,
            resets_sent: 0,
            resets_received: u32::from(end == TcpEnd::ConnectFailed),
            end,
            state: "LAST_ACK".into(),
            netns: 1,
        })
    }

    #[test]
    fn both_ends_on_this_host_make_one_connection_between_two_workloads() {
        let (client, server) = (end("10.0.0.1", 40000), end("10.0.0.2", 80));
        let events = [
            conn(
                Direction::Connect,
                client,
                server,
                Some(workload("/usr/bin/curl", 1)),
                100,
                5000,
                TcpEnd::Closed,
            ),
            conn(
                Direction::Accept,
                server,
                client,
                Some(workload("/usr/sbin/nginx", 2)),
                5000,
                100,
                TcpEnd::Closed,
            ),
        ];
        let map = ServiceMap::build(&events);
        assert_eq!(map.edges.len(), 1);
        let e = &map.edges[0];
        assert_eq!(
            (e.from.clone(), e.to.clone(), e.port),
            (
                Node::Binary("/usr/bin/curl".into()),
                Node::Binary("/usr/sbin/nginx".into()),
                80
            )
        );
        assert_eq!(
            (
                e.stats.connections,
                e.stats.bytes_to_server,
                e.stats.bytes_to_client
            ),
            (1, 100, 5000)
        );
        assert_eq!(e.stats.avg_srtt_us, 100);
    }

    #[test]
    fn external_peers_failures_and_drops() {
        let client = end("10.0.0.1", 40001);
        let remote = end("192.0.2.9", 443);
        let refused = conn(
            Direction::Connect,
            client,
            remote,
            Some(workload("/usr/bin/curl", 1)),
            0,
            0,
            TcpEnd::ConnectFailed,
        );
        let drop = Event::PacketDrop(PacketDrop {
            time: Timestamp(11),
            reason: "NO_SOCKET".into(),
            reason_code: 3,
            protocol: "tcp".into(),
            source: Some(remote),
            destination: Some(client),
            interface: None,
            process: None,
            location: None,
            length: 40,
            netns: 1,
        });
        let stray = Event::PacketDrop(PacketDrop {
            source: Some(end("198.51.100.1", 5)),
            destination: Some(end("10.0.0.1", 22)),
            ..match &drop {
                Event::PacketDrop(d) => d.clone(),
                _ => unreachable!(),
            }
        });
        let purge = Event::PacketDrop(PacketDrop {
            reason: "QUEUE_PURGE".into(),
            ..match &drop {
                Event::PacketDrop(d) => d.clone(),
                _ => unreachable!(),
            }
        });
        let map = ServiceMap::build(&[refused, drop, stray, purge]);
        assert_eq!(map.edges.len(), 2);
        let curl = map
            .edges
            .iter()
            .find(|e| e.to == Node::External("192.0.2.9".parse().unwrap()))
            .unwrap();
        assert_eq!(
            (
                curl.stats.connections,
                curl.stats.failed,
                curl.stats.resets,
                curl.stats.drops
            ),
            (1, 1, 1, 1)
        );
        let stray = map.edges.iter().find(|e| e.port == 22).unwrap();
        assert_eq!(
            (
                stray.from.clone(),
                stray.stats.connections,
                stray.stats.drops
            ),
            (Node::External("198.51.100.1".parse().unwrap()), 0, 1)
        );
        assert!(map.to_dot().contains("color=red"));
    }
}
