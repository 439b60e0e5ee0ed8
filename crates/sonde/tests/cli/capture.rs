//! Capture files built byte by byte: classic pcap, nanosecond timestamps,
//! raw IPv4 packets (LINKTYPE_RAW).

use std::net::SocketAddrV4;

/// One packet and its capture time.
pub struct Packet {
    pub time_ns: u64,
    pub data: Vec<u8>,
}

fn ipv4(src: SocketAddrV4, dst: SocketAddrV4, protocol: u8, l4: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + l4.len()).unwrap();
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, protocol, 0, 0]);
    ip.extend_from_slice(&src.ip().octets());
    ip.extend_from_slice(&dst.ip().octets());
    let sum: u32 = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    let checksum = !((folded & 0xffff) + (folded >> 16)) as u16;
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    ip.extend_from_slice(l4);
    ip
}

/// A TCP segment; `flags` holds letters of `SAF` (SYN, ACK, FIN).
pub fn tcp(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: u32,
    ack: u32,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let bits = flags.chars().fold(0u8, |bits, f| {
        bits | match f {
            'F' => 0x01,
            'S' => 0x02,
            'A' => 0x10,
            other => panic!("unknown TCP flag {other}"),
        }
    });
    let mut segment = Vec::new();
    segment.extend_from_slice(&src.port().to_be_bytes());
    segment.extend_from_slice(&dst.port().to_be_bytes());
    segment.extend_from_slice(&seq.to_be_bytes());
    segment.extend_from_slice(&ack.to_be_bytes());
    segment.extend_from_slice(&[5 << 4, bits, 0xff, 0xff, 0, 0, 0, 0]);
    segment.extend_from_slice(payload);
    ipv4(src, dst, 6, &segment)
}

pub fn udp(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + payload.len()).unwrap();
    let mut datagram = Vec::new();
    datagram.extend_from_slice(&src.port().to_be_bytes());
    datagram.extend_from_slice(&dst.port().to_be_bytes());
    datagram.extend_from_slice(&len.to_be_bytes());
    datagram.extend_from_slice(&[0, 0]);
    datagram.extend_from_slice(payload);
    ipv4(src, dst, 17, &datagram)
}

/// A DNS message with one question (class IN).
pub fn dns(id: u16, flags: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(u8::try_from(label.len()).unwrap());
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

/// The pcap file (little-endian, nanosecond timestamps, LINKTYPE_RAW) and
/// the byte offset where each packet's record starts.
pub fn pcap(packets: &[Packet]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_3c4d_u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    for word in [0u32, 0, 65_535, 101] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    let mut offsets = Vec::new();
    for p in packets {
        offsets.push(out.len());
        let len = u32::try_from(p.data.len()).unwrap();
        let secs = u32::try_from(p.time_ns / 1_000_000_000).unwrap();
        let nanos = (p.time_ns % 1_000_000_000) as u32;
        for word in [secs, nanos, len, len] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(&p.data);
    }
    (out, offsets)
}
