//! Builds packets and capture files byte by byte for the tests.

#![allow(dead_code)] // each test binary uses a different part

use std::net::{IpAddr, SocketAddr};

use etherparse::PacketBuilder;
use sonde_pcap::{PcapError, PcapStats, Reader, ReaderConfig, StreamEvent};

/// The link layer to wrap an IP packet in.
#[derive(Clone, Copy, Debug)]
pub enum L2 {
    Ethernet,
    /// Ethernet with one 802.1Q tag of this VLAN id.
    Vlan(u16),
    Sll,
    Sll2,
    Raw,
    /// BSD loopback, with this address family (little-endian, as written on
    /// a little-endian host).
    Null,
}

impl L2 {
    /// The LINKTYPE a capture of this link layer has.
    pub fn linktype(self) -> u16 {
        match self {
            L2::Ethernet | L2::Vlan(_) => 1,
            L2::Sll => 113,
            L2::Sll2 => 276,
            L2::Raw => 101,
            L2::Null => 0,
        }
    }
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A TCP segment. `flags` holds letters of `SAFRP` (SYN, ACK, FIN, RST, PSH).
pub fn tcp(
    l2: L2,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = ip_builder(src, dst).tcp(src.port(), dst.port(), seq, 65_535);
    for flag in flags.chars() {
        b = match flag {
            'S' => b.syn(),
            'A' => b.ack(1),
            'F' => b.fin(),
            'R' => b.rst(),
            'P' => b.psh(),
            other => panic!("unknown TCP flag {other}"),
        };
    }
    let mut ip = Vec::new();
    b.write(&mut ip, payload).unwrap();
    wrap(l2, src.ip(), ip)
}

/// A UDP datagram.
pub fn udp(l2: L2, src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut ip = Vec::new();
    ip_builder(src, dst)
        .udp(src.port(), dst.port())
        .write(&mut ip, payload)
        .unwrap();
    wrap(l2, src.ip(), ip)
}

fn ip_builder(
    src: SocketAddr,
    dst: SocketAddr,
) -> etherparse::PacketBuilderStep<etherparse::IpHeaders> {
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
        _ => panic!("mixed IP versions"),
    }
}

/// Puts the link-layer header of `l2` in front of an IP packet.
pub fn wrap(l2: L2, src: IpAddr, ip: Vec<u8>) -> Vec<u8> {
    let ether_type: u16 = if src.is_ipv4() { 0x0800 } else { 0x86dd };
    let mac = [2, 0, 0, 0, 0, 1];
    let mut frame = Vec::new();
    match l2 {
        L2::Ethernet | L2::Vlan(_) => {
            frame.extend_from_slice(&[2, 0, 0, 0, 0, 2]);
            frame.extend_from_slice(&mac);
            if let L2::Vlan(id) = l2 {
                frame.extend_from_slice(&0x8100u16.to_be_bytes());
                frame.extend_from_slice(&id.to_be_bytes());
            }
            frame.extend_from_slice(&ether_type.to_be_bytes());
        }
        L2::Sll => {
            frame.extend_from_slice(&[0, 4, 0, 1, 0, 6]); // outgoing, ARPHRD_ETHER, addr len 6
            frame.extend_from_slice(&mac);
            frame.extend_from_slice(&[0, 0]);
            frame.extend_from_slice(&ether_type.to_be_bytes());
        }
        L2::Sll2 => {
            frame.extend_from_slice(&ether_type.to_be_bytes());
            frame.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 4, 6]); // reserved, ifindex 1, ARPHRD_ETHER, outgoing, addr len
            frame.extend_from_slice(&mac);
            frame.extend_from_slice(&[0, 0]);
        }
        L2::Raw => {}
        L2::Null => {
            let family: u32 = if src.is_ipv4() { 2 } else { 30 };
            frame.extend_from_slice(&family.to_le_bytes());
        }
    }
    frame.extend_from_slice(&ip);
    frame
}

/// One packet to write: capture time, captured bytes, length on the wire.
#[derive(Clone)]
pub struct Packet {
    pub time_ns: u64,
    pub data: Vec<u8>,
    pub orig_len: u32,
}

/// Packets one microsecond apart from `start_ns`, captured whole.
pub fn timed(start_ns: u64, frames: Vec<Vec<u8>>) -> Vec<Packet> {
    frames
        .into_iter()
        .enumerate()
        .map(|(i, data)| Packet {
            time_ns: start_ns + i as u64 * 1_000,
            orig_len: data.len() as u32,
            data,
        })
        .collect()
}

/// A classic pcap file.
pub fn pcap(linktype: u16, big_endian: bool, nanos: bool, packets: &[Packet]) -> Vec<u8> {
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(&u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend_from_slice(&u16b(2));
    out.extend_from_slice(&u16b(4));
    out.extend_from_slice(&u32b(0)); // thiszone
    out.extend_from_slice(&u32b(0)); // sigfigs
    out.extend_from_slice(&u32b(65_535)); // snaplen
    out.extend_from_slice(&u32b(u32::from(linktype)));
    for p in packets {
        let secs = (p.time_ns / 1_000_000_000) as u32;
        let frac = (p.time_ns % 1_000_000_000) as u32;
        out.extend_from_slice(&u32b(secs));
        out.extend_from_slice(&u32b(if nanos { frac } else { frac / 1_000 }));
        out.extend_from_slice(&u32b(p.data.len() as u32));
        out.extend_from_slice(&u32b(p.orig_len));
        out.extend_from_slice(&p.data);
    }
    out
}

/// A pcapng file (little-endian) being written.
pub struct PcapNg {
    pub out: Vec<u8>,
    /// Timestamp units per second of each interface.
    units: Vec<u64>,
}

impl PcapNg {
    /// Starts a file with its section header block.
    pub fn new() -> Self {
        let mut ng = PcapNg {
            out: Vec::new(),
            units: Vec::new(),
        };
        let mut body = Vec::new();
        body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
        ng.block(0x0a0d_0d0a, &body);
        ng
    }

    /// Describes the next interface; `tsresol` is the `if_tsresol` option
    /// (a power of ten; none means microseconds).
    pub fn interface(mut self, linktype: u16, tsresol: Option<u8>) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes()); // snaplen: none
        if let Some(resol) = tsresol {
            body.extend_from_slice(&9u16.to_le_bytes());
            body.extend_from_slice(&1u16.to_le_bytes());
            body.extend_from_slice(&[resol, 0, 0, 0]);
            body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        }
        self.units.push(10u64.pow(u32::from(tsresol.unwrap_or(6))));
        self.block(1, &body);
        self
    }

    /// An enhanced packet block on interface `if_id`.
    pub fn packet(mut self, if_id: u32, p: &Packet) -> Self {
        // An undescribed interface (a corrupt file) gets microseconds.
        let units = self.units.get(if_id as usize).copied().unwrap_or(1_000_000);
        let ticks = u128::from(p.time_ns) * u128::from(units) / 1_000_000_000;
        let ticks = ticks as u64;
        let mut body = Vec::new();
        body.extend_from_slice(&if_id.to_le_bytes());
        body.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ticks as u32).to_le_bytes());
        body.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        body.extend_from_slice(&p.orig_len.to_le_bytes());
        body.extend_from_slice(&p.data);
        while body.len() % 4 != 0 {
            body.push(0);
        }
        self.block(6, &body);
        self
    }

    fn block(&mut self, block_type: u32, body: &[u8]) {
        let len = (body.len() + 12) as u32;
        self.out.extend_from_slice(&block_type.to_le_bytes());
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(&len.to_le_bytes());
    }
}

/// Reads a whole capture: its events, the error that ended it (if any), and
/// its stats. Panics if the header cannot be read.
pub fn read_all(file: &[u8]) -> (Vec<StreamEvent>, Option<PcapError>, PcapStats) {
    read_all_with(file, ReaderConfig::default())
}

pub fn read_all_with(
    file: &[u8],
    config: ReaderConfig,
) -> (Vec<StreamEvent>, Option<PcapError>, PcapStats) {
    let mut reader = Reader::with_config(file, config).expect("capture header");
    let mut events = Vec::new();
    let mut error = None;
    for item in &mut reader {
        match item {
            Ok(event) => events.push(event),
            Err(e) => {
                assert!(error.is_none(), "two errors");
                error = Some(e);
            }
        }
    }
    (events, error, reader.stats())
}

/// The bytes of every `Data` event of `flow` in direction `dir`, joined,
/// with each gap as that many `?`.
pub fn stream(events: &[StreamEvent], flow: u64, dir: sonde_pcap::Direction) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        match e {
            StreamEvent::Data {
                flow: f,
                dir: d,
                bytes,
                ..
            } if *f == flow && *d == dir => out.extend_from_slice(bytes),
            StreamEvent::Gap {
                flow: f,
                dir: d,
                len,
                ..
            } if *f == flow && *d == dir => out.extend(std::iter::repeat_n(b'?', *len as usize)),
            _ => {}
        }
    }
    out
}
