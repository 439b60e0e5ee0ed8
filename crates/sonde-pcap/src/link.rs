//! Link layers: strip the link-layer header of a captured frame and hand the
//! rest to `etherparse`, which slices VLAN tags, IP (with extension headers)
//! and TCP/UDP.

use etherparse::{EtherType, LaxSlicedPacket};
use pcap_parser::Linktype;

/// LINKTYPE_RAW as some BSDs number it (DLT_RAW = 12 or 14).
const LINKTYPE_RAW_BSD_12: Linktype = Linktype(12);
const LINKTYPE_RAW_BSD_14: Linktype = Linktype(14);
/// Length of a Linux cooked (SLL) header; the protocol is its last 2 bytes.
const SLL_HEADER_LEN: usize = 16;
/// Length of a Linux cooked v2 (SLL2) header; the protocol is its first 2 bytes.
const SLL2_HEADER_LEN: usize = 20;
/// Length of a BSD loopback (NULL/LOOP) header: the address family.
const NULL_HEADER_LEN: usize = 4;

/// The link-layer header types this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    /// Ethernet II, with any 802.1Q / 802.1ad VLAN tags.
    Ethernet,
    /// Linux cooked capture v1 (`tcpdump -i any` before libpcap 1.10).
    LinuxSll,
    /// Linux cooked capture v2 (`tcpdump -i any` since libpcap 1.10).
    LinuxSll2,
    /// Bare IPv4 or IPv6 packets.
    RawIp,
    /// BSD loopback: a 4-byte address family, then IP.
    Null,
}

/// Why a frame's link layer yields nothing to slice.
pub(crate) enum NotSliced {
    /// A protocol other than IP.
    NotIp,
    /// The link-layer (or IP) header is cut short or invalid.
    Malformed,
}

/// IP (or ARP...) sliced as far as `etherparse` could go, or why not.
pub(crate) type LinkPayload<'a> = Result<LaxSlicedPacket<'a>, NotSliced>;

impl Link {
    /// The link type for a pcap/pcapng LINKTYPE value, if this crate reads it.
    pub fn from_linktype(linktype: Linktype) -> Option<Link> {
        Some(match linktype {
            Linktype::ETHERNET => Link::Ethernet,
            Linktype::LINUX_SLL => Link::LinuxSll,
            Linktype::LINUX_SLL2 => Link::LinuxSll2,
            Linktype::RAW
            | Linktype::IPV4
            | Linktype::IPV6
            | LINKTYPE_RAW_BSD_12
            | LINKTYPE_RAW_BSD_14 => Link::RawIp,
            Linktype::NULL | Linktype::LOOP => Link::Null,
            _ => return None,
        })
    }

    /// Strips this link layer's header from `frame` and slices what follows.
    pub fn slice(self, frame: &[u8]) -> LinkPayload<'_> {
        match self {
            Link::Ethernet => {
                LaxSlicedPacket::from_ethernet(frame).map_err(|_| NotSliced::Malformed)
            }
            Link::LinuxSll => cooked(frame, SLL_HEADER_LEN, SLL_HEADER_LEN - 2),
            Link::LinuxSll2 => cooked(frame, SLL2_HEADER_LEN, 0),
            Link::RawIp => ip(frame),
            Link::Null => match frame.get(NULL_HEADER_LEN..) {
                // The family is in the capturing host's byte order and its
                // IPv6 value differs between systems: the IP version nibble
                // is the reliable signal.
                Some(packet) => ip(packet),
                None => Err(NotSliced::Malformed),
            },
        }
    }
}

/// Slices a Linux cooked frame whose header is `header_len` bytes with the
/// EtherType at `protocol_at`.
fn cooked(frame: &[u8], header_len: usize, protocol_at: usize) -> LinkPayload<'_> {
    let (Some(protocol), Some(payload)) = (
        frame.get(protocol_at..protocol_at + 2),
        frame.get(header_len..),
    ) else {
        return Err(NotSliced::Malformed);
    };
    // Protocols other than IP (and VLAN tags around it) come back with no
    // network layer, which the caller counts as not IP.
    let ether_type = EtherType(u16::from_be_bytes([protocol[0], protocol[1]]));
    Ok(LaxSlicedPacket::from_ether_type(ether_type, payload))
}

/// Slices a bare IP packet, telling non-IP apart by the version nibble.
fn ip(packet: &[u8]) -> LinkPayload<'_> {
    match packet.first().map(|b| b >> 4) {
        Some(4 | 6) => LaxSlicedPacket::from_ip(packet).map_err(|_| NotSliced::Malformed),
        _ => Err(NotSliced::NotIp),
    }
}
