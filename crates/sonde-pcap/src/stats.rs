//! What the reader counted, including everything it skipped or lost.

/// Counters for one capture file, read with [`crate::Reader::stats`].
///
/// Every packet lands in exactly one of: a flow, `non_ip`, `other_transport`,
/// `fragments`, `malformed`, `unsupported_linktype` or `after_close`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PcapStats {
    /// Packet records read.
    pub packets: u64,
    /// Sum of the packets' lengths on the wire (not just the captured part).
    pub bytes: u64,
    /// Packets carrying neither IPv4 nor IPv6 (ARP, LLDP...).
    pub non_ip: u64,
    /// Packets whose link, IP or TCP/UDP headers are cut short or invalid
    /// (including pcapng packets naming an undescribed interface).
    pub malformed: u64,
    /// Packets whose captured length is below their length on the wire
    /// (counted in addition to where the packet went).
    pub truncated: u64,
    /// IP fragments, skipped (not reassembled).
    pub fragments: u64,
    /// Packets on a link type this crate does not read.
    pub unsupported_linktype: u64,
    /// IP packets that are neither TCP nor UDP (ICMP...).
    pub other_transport: u64,
    /// TCP segments that repeated bytes already received (wholly or in
    /// part); the repeated bytes were dropped.
    pub tcp_retransmits: u64,
    /// TCP segments that arrived ahead of a hole and were buffered.
    pub tcp_out_of_order: u64,
    /// TCP bytes never captured, reported as [`crate::StreamEvent::Gap`].
    pub tcp_gap_bytes: u64,
    /// Flows opened.
    pub flows: u64,
    /// Flows closed early because the flow table was full.
    pub flows_evicted: u64,
    /// Packets of a TCP flow after it closed (final ACKs, repeated FIN or
    /// RST), ignored.
    pub after_close: u64,
}
