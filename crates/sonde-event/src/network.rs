//! Network events: TCP connections (at close, and periodically while open),
//! listening sockets, and packet drops with the kernel's reason.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Container, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

/// The process a socket belongs to, in brief; its exec event has the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Workload {
    #[serde(with = "crate::exec_id::packed")]
    #[schemars(with = "String")]
    pub exec_id: String,
    pub pid: u32,
    pub comm: String,
    pub binary: String,
    pub container: Option<Container>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// This host called connect().
    Connect,
    /// This host accepted it.
    Accept,
    /// Opened before sonde started.
    Unknown,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Connect => "connect",
            Direction::Accept => "accept",
            Direction::Unknown => "unknown",
        }
    }
}

/// How a connection ended, or that it is still open (interim report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TcpEnd {
    /// Still open: an interim report of the totals so far.
    Open,
    /// Closed with FINs.
    Closed,
    /// The peer reset it.
    ResetReceived,
    /// This host reset it.
    ResetSent,
    /// connect() failed: refused (reset) or timed out.
    ConnectFailed,
    /// Closed otherwise (aborted, timed out).
    Aborted,
}

impl TcpEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            TcpEnd::Open => "open",
            TcpEnd::Closed => "closed",
            TcpEnd::ResetReceived => "reset_received",
            TcpEnd::ResetSent => "reset_sent",
            TcpEnd::ConnectFailed => "connect_failed",
            TcpEnd::Aborted => "aborted",
        }
    }
}

/// A TCP connection's totals: at close, or every report interval while open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TcpConnection {
    /// When this report was made (the close, for a final one).
    pub time: Timestamp,
    pub direction: Direction,
    pub local: Endpoint,
    pub remote: Endpoint,
    /// The owning process, when known.
    pub process: Option<Workload>,
    /// When the connection began (connect or accept); absent if before sonde.
    pub start_time: Option<Timestamp>,
    pub duration_ns: Option<u64>,
    /// Data bytes sent (retransmissions counted once) and received.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub segments_sent: u32,
    pub segments_received: u32,
    /// Smoothed round-trip time.
    pub srtt_us: u32,
    pub retransmits: u32,
    pub resets_sent: u32,
    pub resets_received: u32,
    pub end: TcpEnd,
    /// TCP state before the close (final) or now (interim).
    pub state: String,
    /// Network namespace inode.
    pub netns: u32,
}

impl TcpConnection {
    /// (client, server): who connected to whom.
    pub fn client_server(&self) -> (Endpoint, Endpoint) {
        match self.direction {
            Direction::Accept => (self.remote, self.local),
            Direction::Connect | Direction::Unknown => (self.local, self.remote),
        }
    }
}

/// Whether a listening socket opened or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListenState {
    /// listen() made the socket a listener.
    Listen,
    /// The listener closed (close(), shutdown(), the owner's exit, or a
    /// listen() that failed after the socket had started listening).
    Closed,
}

impl ListenState {
    pub fn as_str(self) -> &'static str {
        match self {
            ListenState::Listen => "listen",
            ListenState::Closed => "closed",
        }
    }
}

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IpFamily {
    Ipv4,
    /// An IPv6 socket (which may also take IPv4 connections, unless it is
    /// IPV6_V6ONLY).
    Ipv6,
}

/// A TCP socket started or stopped listening.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListenEvent {
    pub time: Timestamp,
    pub state: ListenState,
    /// The address and port listened on (`0.0.0.0`/`::` for any); port 0
    /// when listen() came without bind() (the kernel picks it later).
    pub local: Endpoint,
    pub family: IpFamily,
    /// The process that called listen(), when known (also on the close,
    /// which may run in another task).
    pub process: Option<Workload>,
    /// The accept queue's bound (listen()'s backlog, capped by somaxconn).
    pub backlog: u32,
    /// Network namespace inode.
    pub netns: u32,
}

/// A UDP flow's totals since it was first seen, reported each interval in
/// which it carried packets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UdpFlow {
    /// When this report was made.
    pub time: Timestamp,
    pub local: Endpoint,
    pub remote: Endpoint,
    /// The process using the local port, when known.
    pub process: Option<Workload>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// UDP payload bytes.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub netns: u32,
}

/// A packet the kernel dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PacketDrop {
    pub time: Timestamp,
    /// The kernel's name for the reason (`NO_SOCKET`, `NETFILTER_DROP`), read
    /// from the running kernel; `UNKNOWN_<n>` for a reason it does not name.
    pub reason: String,
    pub reason_code: u32,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, or the IP protocol number.
    pub protocol: String,
    pub source: Option<Endpoint>,
    pub destination: Option<Endpoint>,
    pub interface: Option<Interface>,
    /// The process whose socket the packet belonged to, when known.
    pub process: Option<Workload>,
    /// The kernel function that dropped it (`tcp_v4_rcv+0x1a2`).
    pub location: Option<String>,
    pub length: u32,
    pub netns: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Interface {
    pub index: u32,
    /// Known when the interface is in sonde's own network namespace.
    pub name: Option<String>,
}

/// IP protocol numbers as names.
pub fn protocol_name(number: u8) -> String {
    match number {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "icmpv6".into(),
        n => n.to_string(),
    }
}
