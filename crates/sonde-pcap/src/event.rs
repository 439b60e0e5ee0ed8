//! What the reader yields: flows and the bytes they carried.

use std::net::SocketAddr;

/// The transport protocol of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// A TCP connection: its payload is rebuilt into two byte streams.
    Tcp,
    /// UDP datagrams between two sockets: each is delivered as is.
    Udp,
}

/// Direction of a packet relative to the flow's initiator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the initiator: the sender of the TCP SYN, or, when the SYN was
    /// not captured (and for UDP), the sender of the flow's first packet. A
    /// captured SYN-ACK without its SYN makes its receiver the initiator.
    Egress,
    /// Sent by the other side, the responder.
    Ingress,
}

impl Direction {
    /// Both directions, `Egress` first.
    pub(crate) const BOTH: [Direction; 2] = [Direction::Egress, Direction::Ingress];

    /// 0 for `Egress`, 1 for `Ingress`.
    pub(crate) fn index(self) -> usize {
        match self {
            Direction::Egress => 0,
            Direction::Ingress => 1,
        }
    }
}

/// Identifies a flow for its consumers; numbered from 0 in order of first
/// appearance in the capture.
pub type FlowId = u64;

/// The endpoints of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// TCP or UDP.
    pub transport: Transport,
    /// The socket that opened the flow (see [`Direction::Egress`]).
    pub initiator: SocketAddr,
    /// The socket the initiator talked to.
    pub responder: SocketAddr,
}

/// One step in the life of a flow.
///
/// For every flow the reader yields one `Open`, then `Data` and `Gap` in
/// stream order per direction, then one `Close`. `time_ns` is the capture
/// time (nanoseconds since the Unix epoch) of the packet whose arrival
/// produced the event; events come in the order of those packets in the
/// file, which is timestamp order for files written by a capture tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// The first packet of a flow was seen.
    Open {
        /// The new flow's id.
        flow: FlowId,
        /// Its endpoints.
        key: FlowKey,
        /// Capture time of its first packet.
        time_ns: u64,
    },
    /// Payload. TCP: the next in-order bytes of the direction's stream
    /// (retransmitted bytes removed). UDP: exactly one datagram.
    Data {
        /// The flow.
        flow: FlowId,
        /// Who sent the bytes.
        dir: Direction,
        /// Capture time of the packet that made the bytes deliverable.
        time_ns: u64,
        /// The payload.
        bytes: Vec<u8>,
    },
    /// Bytes that exist in the stream but were never captured: a TCP
    /// sequence hole given up on (buffer full, or the flow closed with it),
    /// or the tail of a TCP segment or UDP datagram that the snap length
    /// cut off. The stream continues after the `len` bytes.
    Gap {
        /// The flow.
        flow: FlowId,
        /// Whose bytes are missing.
        dir: Direction,
        /// Capture time of the packet that made the gap known.
        time_ns: u64,
        /// How many bytes are missing.
        len: u64,
    },
    /// The flow ended: FIN seen and all data delivered both ways, RST, or
    /// the flow was evicted, or the capture ended (then `time_ns` is the
    /// capture time of the last packet in the file).
    Close {
        /// The flow.
        flow: FlowId,
        /// When it ended.
        time_ns: u64,
    },
}
