//! From a captured frame to a transport segment: addresses, TCP flags and
//! payload, or the reason the frame carries none.

use std::net::{IpAddr, SocketAddr};

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};

use crate::link::{Link, NotSliced};

/// The TCP header fields reassembly needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TcpFlags {
    pub seq: u32,
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// A TCP segment or UDP datagram taken from one frame.
pub(crate) struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// `None` for UDP.
    pub tcp: Option<TcpFlags>,
    /// The captured part of the payload.
    pub payload: &'a [u8],
    /// Payload bytes the snap length cut off after `payload`.
    pub missing: u64,
}

/// What a frame turned out to carry.
pub(crate) enum Decoded<'a> {
    Segment(Segment<'a>),
    /// Not IPv4 or IPv6 (ARP, LLDP...).
    NotIp,
    /// IP, but neither TCP nor UDP (ICMP...).
    OtherTransport,
    /// An IP fragment (not reassembled).
    Fragment,
    /// Headers cut short or invalid.
    Malformed,
}

/// Decodes `frame` down to its transport segment. `orig_len` is the frame's
/// length on the wire, to tell how much payload the snap length cut off.
pub(crate) fn decode(link: Link, frame: &[u8], orig_len: u64) -> Decoded<'_> {
    let sliced = match link.slice(frame) {
        Ok(sliced) => sliced,
        Err(NotSliced::NotIp) => return Decoded::NotIp,
        Err(NotSliced::Malformed) => return Decoded::Malformed,
    };
    let (src_ip, dst_ip, declared_ip_len, ip_header) = match &sliced.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let header = v4.header();
            (
                IpAddr::V4(header.source_addr()),
                IpAddr::V4(header.destination_addr()),
                u64::from(header.total_len()),
                header.slice(),
            )
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let header = v6.header();
            (
                IpAddr::V6(header.source_addr()),
                IpAddr::V6(header.destination_addr()),
                u64::from(header.payload_length()) + header.slice().len() as u64,
                header.slice(),
            )
        }
        Some(LaxNetSlice::Arp(_)) => return Decoded::NotIp,
        None if sliced.stop_err.is_some() => return Decoded::Malformed,
        None => return Decoded::NotIp,
    };
    if ip_payload_fragmented(&sliced) {
        return Decoded::Fragment;
    }
    let (src_port, dst_port, tcp, payload) = match &sliced.transport {
        Some(TransportSlice::Tcp(t)) => (
            t.source_port(),
            t.destination_port(),
            Some(TcpFlags {
                seq: t.sequence_number(),
                syn: t.syn(),
                ack: t.ack(),
                fin: t.fin(),
                rst: t.rst(),
            }),
            t.payload(),
        ),
        Some(TransportSlice::Udp(u)) => (u.source_port(), u.destination_port(), None, u.payload()),
        Some(_) => return Decoded::OtherTransport,
        None if sliced.stop_err.is_some() => return Decoded::Malformed,
        None => return Decoded::OtherTransport,
    };
    Decoded::Segment(Segment {
        src: SocketAddr::new(src_ip, src_port),
        dst: SocketAddr::new(dst_ip, dst_port),
        tcp,
        payload,
        missing: missing_bytes(frame, ip_header, declared_ip_len, orig_len),
    })
}

fn ip_payload_fragmented(sliced: &LaxSlicedPacket<'_>) -> bool {
    sliced
        .net
        .as_ref()
        .and_then(|net| net.ip_payload_ref())
        .is_some_and(|payload| payload.fragmented)
}

/// Bytes of the IP packet that the snap length cut off: what the IP header
/// declares minus what was captured from the IP header on, but never more
/// than the frame lost (so a lying length field in an intact frame does not
/// invent missing bytes).
fn missing_bytes(frame: &[u8], ip_header: &[u8], declared_ip_len: u64, orig_len: u64) -> u64 {
    let cut = orig_len.saturating_sub(frame.len() as u64);
    if cut == 0 {
        return 0;
    }
    let ip_offset = ip_header.as_ptr() as usize - frame.as_ptr() as usize;
    let captured_ip_len = (frame.len() - ip_offset) as u64;
    declared_ip_len.saturating_sub(captured_ip_len).min(cut)
}
