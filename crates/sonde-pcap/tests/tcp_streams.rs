//! TCP reassembly on hand-built captures: exact events and stats.

mod support;

use sonde_pcap::{Direction, FlowKey, PcapStats, ReaderConfig, StreamEvent, Transport};
use support::{addr, pcap, read_all, read_all_with, tcp, timed, L2};

const T0: u64 = 1_700_000_000_000_000_000;
const US: u64 = 1_000;

fn t(i: u64) -> u64 {
    T0 + i * US
}

fn total_len(frames: &[Vec<u8>]) -> u64 {
    frames.iter().map(|f| f.len() as u64).sum()
}

fn data(flow: u64, dir: Direction, i: u64, bytes: &[u8]) -> StreamEvent {
    StreamEvent::Data {
        flow,
        dir,
        time_ns: t(i),
        bytes: bytes.to_vec(),
    }
}

fn gap(flow: u64, dir: Direction, i: u64, len: u64) -> StreamEvent {
    StreamEvent::Gap {
        flow,
        dir,
        time_ns: t(i),
        len,
    }
}

fn close(flow: u64, i: u64) -> StreamEvent {
    StreamEvent::Close {
        flow,
        time_ns: t(i),
    }
}

fn open(flow: u64, transport: Transport, initiator: &str, responder: &str, i: u64) -> StreamEvent {
    StreamEvent::Open {
        flow,
        key: FlowKey {
            transport,
            initiator: addr(initiator),
            responder: addr(responder),
        },
        time_ns: t(i),
    }
}

use Direction::{Egress, Ingress};

#[test]
fn http_exchange_with_out_of_order_segment_retransmission_and_fin_close() {
    let (c, s) = (addr("10.0.0.1:40000"), addr("10.0.0.2:80"));
    let e = L2::Ethernet;
    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    let frames = vec![
        tcp(e, c, s, 1000, "S", b""),
        tcp(e, s, c, 5000, "SA", b""),
        tcp(e, c, s, 1001, "A", b""),
        tcp(e, c, s, 1017, "PA", b"Host: x\r\n\r\n"), // ahead of the first part
        tcp(e, c, s, 1001, "PA", b"GET / HTTP/1.1\r\n"),
        tcp(e, c, s, 1001, "PA", b"GET / HTTP/1.1\r\n"), // retransmission
        tcp(e, s, c, 5001, "PA", response),
        tcp(e, c, s, 1028, "FA", b""),
        tcp(e, s, c, 5001 + response.len() as u32, "FA", b""),
        tcp(e, c, s, 1029, "A", b""), // last ACK, after the close
    ];
    let bytes = total_len(&frames);
    let (events, error, stats) = read_all(&pcap(1, false, false, &timed(T0, frames)));
    assert!(error.is_none());
    assert_eq!(
        events,
        [
            open(0, Transport::Tcp, "10.0.0.1:40000", "10.0.0.2:80", 0),
            data(0, Egress, 4, b"GET / HTTP/1.1\r\n"),
            data(0, Egress, 4, b"Host: x\r\n\r\n"),
            data(0, Ingress, 6, response),
            close(0, 8),
        ]
    );
    assert_eq!(
        stats,
        PcapStats {
            packets: 10,
            bytes,
            tcp_retransmits: 1,
            tcp_out_of_order: 1,
            flows: 1,
            after_close: 1,
            ..PcapStats::default()
        }
    );
}

#[test]
fn hole_becomes_a_gap_of_exact_length_when_rst_closes() {
    let (c, s) = (addr("10.0.0.1:40001"), addr("10.0.0.2:6379"));
    let e = L2::Ethernet;
    let frames = vec![
        tcp(e, c, s, 0, "S", b""),
        tcp(e, c, s, 1, "PA", b"aaaa"),
        tcp(e, c, s, 11, "PA", b"bbbb"), // bytes 5..11 never captured
        tcp(e, s, c, 1, "R", b""),
    ];
    let (events, error, stats) = read_all(&pcap(1, false, false, &timed(T0, frames)));
    assert!(error.is_none());
    assert_eq!(
        events,
        [
            open(0, Transport::Tcp, "10.0.0.1:40001", "10.0.0.2:6379", 0),
            data(0, Egress, 1, b"aaaa"),
            gap(0, Egress, 3, 6),
            data(0, Egress, 3, b"bbbb"),
            close(0, 3),
        ]
    );
    assert_eq!(
        (stats.tcp_gap_bytes, stats.tcp_out_of_order, stats.flows),
        (6, 1, 1)
    );
}

#[test]
fn full_reorder_buffer_gives_up_on_the_hole_and_resynchronises() {
    let (c, s) = (addr("10.0.0.1:40002"), addr("10.0.0.2:5432"));
    let e = L2::Ethernet;
    let frames = vec![
        tcp(e, c, s, 100, "PA", b"a"), // no SYN captured: first seq starts the stream
        tcp(e, c, s, 105, "PA", b"bbbbbb"),
        tcp(e, c, s, 111, "PA", b"ccc"), // 9 bytes buffered > 8: give up on 101..105
        tcp(e, c, s, 101, "PA", b"xxxx"), // the lost bytes, too late
    ];
    let config = ReaderConfig {
        max_buffered_per_direction: 8,
        ..ReaderConfig::default()
    };
    let (events, error, stats) = read_all_with(&pcap(1, false, false, &timed(T0, frames)), config);
    assert!(error.is_none());
    assert_eq!(
        events,
        [
            open(0, Transport::Tcp, "10.0.0.1:40002", "10.0.0.2:5432", 0),
            data(0, Egress, 0, b"a"),
            gap(0, Egress, 2, 4),
            data(0, Egress, 2, b"bbbbbb"),
            data(0, Egress, 2, b"ccc"),
            close(0, 3), // end of capture
        ]
    );
    assert_eq!(
        (
            stats.tcp_gap_bytes,
            stats.tcp_out_of_order,
            stats.tcp_retransmits
        ),
        (4, 2, 1)
    );
}

#[test]
fn sequence_numbers_wrap_around() {
    let (c, s) = (addr("[2001:db8::1]:40003"), addr("[2001:db8::2]:443"));
    let e = L2::Ethernet;
    let frames = vec![
        tcp(e, c, s, 0xffff_fff8, "S", b""),
        tcp(e, c, s, 1, "PA", b"89ab"), // after the wrap, ahead of the hole
        tcp(e, c, s, 0xffff_fff9, "PA", b"01234567"), // crosses the wrap
        tcp(e, c, s, 5, "PA", b"cdef"),
        tcp(e, c, s, 9, "FA", b""),
        tcp(e, s, c, 77, "FA", b""), // the responder's stream: SYN not seen, starts at 77
    ];
    let (events, error, stats) = read_all(&pcap(1, false, false, &timed(T0, frames)));
    assert!(error.is_none());
    assert_eq!(
        events,
        [
            open(
                0,
                Transport::Tcp,
                "[2001:db8::1]:40003",
                "[2001:db8::2]:443",
                0
            ),
            data(0, Egress, 2, b"01234567"),
            data(0, Egress, 2, b"89ab"),
            data(0, Egress, 3, b"cdef"),
            close(0, 5),
        ]
    );
    assert_eq!((stats.tcp_out_of_order, stats.tcp_gap_bytes), (1, 0));
}

#[test]
fn fin_after_a_hole_closes_with_the_gap_before_it() {
    let (c, s) = (addr("10.0.0.1:40004"), addr("10.0.0.2:80"));
    let e = L2::Ethernet;
    let frames = vec![
        tcp(e, c, s, 0, "S", b""),
        tcp(e, s, c, 0, "SA", b""),
        tcp(e, c, s, 1, "PA", b"abc"),
        tcp(e, c, s, 9, "FA", b"xyz"), // 4..9 lost; FIN at 12
        tcp(e, s, c, 1, "FA", b""),
    ];
    let (events, error, _) = read_all(&pcap(1, false, false, &timed(T0, frames)));
    assert!(error.is_none());
    assert_eq!(
        events,
        [
            open(0, Transport::Tcp, "10.0.0.1:40004", "10.0.0.2:80", 0),
            data(0, Egress, 2, b"abc"),
            // The responder's FIN came, but the initiator's stream has a
            // hole: it waits until the end of the capture.
            gap(0, Egress, 4, 5),
            data(0, Egress, 4, b"xyz"),
            close(0, 4),
        ]
    );
}

#[test]
fn syn_ack_without_syn_names_its_receiver_initiator_and_a_new_syn_reopens() {
    let (c, s) = (addr("10.0.0.1:40005"), addr("10.0.0.2:80"));
    let e = L2::Ethernet;
    let frames = vec![
        tcp(e, s, c, 500, "SA", b""),
        tcp(e, c, s, 1, "PA", b"hi"),
        tcp(e, s, c, 1, "R", b""),
        tcp(e, s, c, 1, "R", b""),    // repeated RST: after the close
        tcp(e, c, s, 9000, "S", b""), // port reused: a new connection
        tcp(e, c, s, 9001, "PA", b"again"),
    ];
    let (events, error, stats) = read_all(&pcap(1, false, false, &timed(T0, frames)));
    assert!(error.is_none());
    assert_eq!(
        events,
        [
            open(0, Transport::Tcp, "10.0.0.1:40005", "10.0.0.2:80", 0),
            data(0, Egress, 1, b"hi"),
            close(0, 2),
            open(1, Transport::Tcp, "10.0.0.1:40005", "10.0.0.2:80", 4),
            data(1, Egress, 5, b"again"),
            close(1, 5),
        ]
    );
    assert_eq!((stats.flows, stats.after_close), (2, 1));
}

#[test]
fn snaplen_cut_segment_gives_its_captured_part_then_a_gap() {
    let (c, s) = (addr("10.0.0.1:40006"), addr("10.0.0.2:80"));
    let e = L2::Ethernet;
    let body = vec![b'x'; 100];
    let whole = tcp(e, c, s, 1, "PA", &body);
    let header_len = whole.len() - body.len();
    let mut packets = timed(
        T0,
        vec![
            tcp(e, c, s, 0, "S", b""),
            whole[..header_len + 20].to_vec(),
            tcp(e, c, s, 101, "PA", b"tail"),
        ],
    );
    packets[1].orig_len = whole.len() as u32;
    let (events, error, stats) = read_all(&pcap(1, false, false, &packets));
    assert!(error.is_none());
    assert_eq!(
        events,
        [
            open(0, Transport::Tcp, "10.0.0.1:40006", "10.0.0.2:80", 0),
            data(0, Egress, 1, &body[..20]),
            gap(0, Egress, 1, 80),
            data(0, Egress, 2, b"tail"),
            close(0, 2),
        ]
    );
    assert_eq!((stats.truncated, stats.tcp_gap_bytes), (1, 80));
}
