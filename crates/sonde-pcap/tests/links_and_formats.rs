//! Link types, capture file formats, UDP flows and what gets counted instead
//! of delivered.

mod support;

use sonde_pcap::{Direction, PcapStats, ReaderConfig, StreamEvent, Transport};
use support::{addr, pcap, read_all, read_all_with, stream, tcp, timed, udp, wrap, PcapNg, L2};

const T0: u64 = 1_700_000_000_123_456_789;

fn ping_pong(l2: L2, client: &str, server: &str) -> Vec<Vec<u8>> {
    let (c, s) = (addr(client), addr(server));
    vec![
        tcp(l2, c, s, 7, "S", b""),
        tcp(l2, s, c, 70, "SA", b""),
        tcp(l2, c, s, 8, "PA", b"ping"),
        tcp(l2, s, c, 71, "PA", b"pong"),
        tcp(l2, c, s, 12, "R", b""),
    ]
}

#[test]
fn every_link_type_and_ip_version_gives_the_same_streams() {
    let links = [
        L2::Ethernet,
        L2::Vlan(42),
        L2::Sll,
        L2::Sll2,
        L2::Raw,
        L2::Null,
    ];
    let endpoints = [
        ("192.0.2.1:5555", "192.0.2.2:9000"),
        ("[2001:db8::1]:5555", "[2001:db8::2]:9000"),
    ];
    for l2 in links {
        for (client, server) in endpoints {
            let file = pcap(
                l2.linktype(),
                false,
                false,
                &timed(T0, ping_pong(l2, client, server)),
            );
            let (events, error, stats) = read_all(&file);
            let context = format!("{l2:?} {client}");
            assert!(error.is_none(), "{context}");
            let StreamEvent::Open { key, .. } = &events[0] else {
                panic!("{context}: {events:?}");
            };
            assert_eq!(
                (key.transport, key.initiator, key.responder),
                (Transport::Tcp, addr(client), addr(server)),
                "{context}"
            );
            assert_eq!(stream(&events, 0, Direction::Egress), b"ping", "{context}");
            assert_eq!(stream(&events, 0, Direction::Ingress), b"pong", "{context}");
            assert_eq!(events.len(), 4, "{context}: {events:?}");
            assert_eq!(
                (stats.packets, stats.flows, stats.malformed),
                (5, 1, 0),
                "{context}"
            );
        }
    }
}

#[test]
fn classic_pcap_in_both_byte_orders_and_resolutions() {
    for big_endian in [false, true] {
        for nanos in [false, true] {
            let frames = ping_pong(L2::Ethernet, "10.1.1.1:1000", "10.1.1.2:2000");
            let file = pcap(1, big_endian, nanos, &timed(T0, frames));
            let (events, error, _) = read_all(&file);
            assert!(error.is_none());
            // The third packet (1 µs apart) carries "ping"; µs files lose
            // the sub-microsecond digits.
            let expected_ns = T0 + 2_000;
            let expected_ns = if nanos {
                expected_ns
            } else {
                expected_ns / 1_000 * 1_000
            };
            assert_eq!(
                events[1],
                StreamEvent::Data {
                    flow: 0,
                    dir: Direction::Egress,
                    time_ns: expected_ns,
                    bytes: b"ping".to_vec(),
                },
                "big_endian={big_endian} nanos={nanos}"
            );
        }
    }
}

#[test]
fn pcapng_with_two_interfaces_of_different_link_types_and_resolutions() {
    let (c4, s4) = (addr("10.9.0.1:33000"), addr("10.9.0.2:53"));
    let (c6, s6) = (addr("[fd00::1]:33001"), addr("[fd00::2]:53"));
    let packets = timed(
        T0,
        vec![
            udp(L2::Ethernet, c4, s4, b"query-a"),
            udp(L2::Sll2, c6, s6, b"query-b"),
            udp(L2::Ethernet, s4, c4, b"answer-a"),
            udp(L2::Sll2, s6, c6, b"answer-b"),
            udp(L2::Sll2, s6, c6, b"on an undescribed interface"),
        ],
    );
    let file = PcapNg::new()
        .interface(1, None) // Ethernet, microseconds
        .interface(276, Some(9)) // SLL2, nanoseconds
        .packet(0, &packets[0])
        .packet(1, &packets[1])
        .packet(0, &packets[2])
        .packet(1, &packets[3])
        .packet(7, &packets[4])
        .out;
    let (events, error, stats) = read_all(&file);
    assert!(error.is_none());
    let micros = |ns: u64| ns / 1_000 * 1_000;
    let data = |flow, dir, time_ns, bytes: &[u8]| StreamEvent::Data {
        flow,
        dir,
        time_ns,
        bytes: bytes.to_vec(),
    };
    let open = |flow, transport, initiator, responder, time_ns| StreamEvent::Open {
        flow,
        key: sonde_pcap::FlowKey {
            transport,
            initiator,
            responder,
        },
        time_ns,
    };
    let last = packets[3].time_ns;
    assert_eq!(
        events,
        [
            open(0, Transport::Udp, c4, s4, micros(packets[0].time_ns)),
            data(0, Direction::Egress, micros(packets[0].time_ns), b"query-a"),
            open(1, Transport::Udp, c6, s6, packets[1].time_ns),
            data(1, Direction::Egress, packets[1].time_ns, b"query-b"),
            data(
                0,
                Direction::Ingress,
                micros(packets[2].time_ns),
                b"answer-a"
            ),
            data(1, Direction::Ingress, last, b"answer-b"),
            StreamEvent::Close {
                flow: 0,
                time_ns: last
            },
            StreamEvent::Close {
                flow: 1,
                time_ns: last
            },
        ]
    );
    assert_eq!((stats.packets, stats.malformed, stats.flows), (5, 1, 2));
}

#[test]
fn udp_dns_datagrams_are_delivered_one_by_one() {
    let (client, resolver) = (addr("192.168.1.10:53000"), addr("192.168.1.1:53"));
    let other = addr("192.168.1.10:53001");
    let frames = vec![
        udp(L2::Vlan(7), client, resolver, b"\x12\x34 A example.org"),
        udp(L2::Vlan(7), resolver, client, b"\x12\x34 A 93.184.216.34"),
        udp(L2::Vlan(7), other, resolver, b"\x56\x78 AAAA example.org"),
        udp(L2::Vlan(7), client, resolver, b""), // an empty datagram is still one
    ];
    let (events, error, stats) = read_all(&pcap(1, false, false, &timed(T0, frames)));
    assert!(error.is_none());
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match e {
            StreamEvent::Open { flow, key, .. } => format!("open {flow} {}", key.initiator),
            StreamEvent::Data {
                flow, dir, bytes, ..
            } => {
                format!("data {flow} {dir:?} {}", String::from_utf8_lossy(bytes))
            }
            StreamEvent::Gap { flow, len, .. } => format!("gap {flow} {len}"),
            StreamEvent::Close { flow, .. } => format!("close {flow}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "open 0 192.168.1.10:53000",
            "data 0 Egress \u{12}4 A example.org",
            "data 0 Ingress \u{12}4 A 93.184.216.34",
            "open 1 192.168.1.10:53001",
            "data 1 Egress Vx AAAA example.org",
            "data 0 Egress ",
            "close 0",
            "close 1",
        ]
    );
    assert_eq!((stats.flows, stats.packets), (2, 4));
}

#[test]
fn snaplen_cut_datagram_gives_its_captured_part_then_a_gap() {
    let (c, s) = (addr("10.0.0.1:1111"), addr("10.0.0.2:2222"));
    let whole = udp(L2::Ethernet, c, s, &[b'd'; 50]);
    let mut packets = timed(T0, vec![whole[..whole.len() - 30].to_vec()]);
    packets[0].orig_len = whole.len() as u32;
    let (events, _, stats) = read_all(&pcap(1, false, false, &packets));
    assert_eq!(
        events[1..3],
        [
            StreamEvent::Data {
                flow: 0,
                dir: Direction::Egress,
                time_ns: T0 / 1_000 * 1_000,
                bytes: vec![b'd'; 20],
            },
            StreamEvent::Gap {
                flow: 0,
                dir: Direction::Egress,
                time_ns: T0 / 1_000 * 1_000,
                len: 30,
            },
        ]
    );
    assert_eq!(stats.truncated, 1);
}

#[test]
fn packets_without_a_flow_are_counted_by_reason() {
    let (c, s) = (addr("10.0.0.1:1111"), addr("10.0.0.2:2222"));
    let src_ip = c.ip();
    let mut arp = vec![0; 14 + 28];
    arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    let icmp = {
        let mut ip = Vec::new();
        etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .icmpv4_echo_request(1, 1)
            .write(&mut ip, b"ping")
            .unwrap();
        wrap(L2::Ethernet, src_ip, ip)
    };
    let fragment = {
        let mut frame = udp(L2::Ethernet, c, s, b"first fragment");
        frame[14 + 6] |= 0x20; // IPv4 "more fragments"
        frame
    };
    let cut_ip_header = wrap(L2::Ethernet, src_ip, vec![0x45, 0, 0, 40, 0]);
    let cut_tcp_header = {
        let frame = tcp(L2::Ethernet, c, s, 1, "PA", b"");
        frame[..14 + 20 + 8].to_vec()
    };
    let frames = vec![arp, icmp, fragment, cut_ip_header, cut_tcp_header];
    let (events, error, stats) = read_all(&pcap(1, false, false, &timed(T0, frames)));
    assert!(error.is_none());
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(
        (
            stats.packets,
            stats.non_ip,
            stats.other_transport,
            stats.fragments,
            stats.malformed
        ),
        (5, 1, 1, 1, 2)
    );

    let token_ring = pcap(6, false, false, &timed(T0, vec![vec![0; 40]]));
    let (events, _, stats) = read_all(&token_ring);
    assert!(events.is_empty());
    assert_eq!(
        stats,
        PcapStats {
            packets: 1,
            bytes: 40,
            unsupported_linktype: 1,
            ..PcapStats::default()
        }
    );
}

#[test]
fn a_full_flow_table_closes_the_least_recently_active_flow() {
    let server = addr("10.0.0.2:53");
    let frames = (0..3)
        .map(|i| {
            udp(
                L2::Raw,
                addr(&format!("10.0.0.1:{}", 6000 + i)),
                server,
                b"q",
            )
        })
        .collect();
    let config = ReaderConfig {
        max_flows: 2,
        ..ReaderConfig::default()
    };
    let (events, _, stats) = read_all_with(&pcap(101, false, false, &timed(T0, frames)), config);
    let order: Vec<(u64, &str)> = events
        .iter()
        .map(|e| match e {
            StreamEvent::Open { flow, .. } => (*flow, "open"),
            StreamEvent::Data { flow, .. } => (*flow, "data"),
            StreamEvent::Gap { flow, .. } => (*flow, "gap"),
            StreamEvent::Close { flow, .. } => (*flow, "close"),
        })
        .collect();
    assert_eq!(
        order,
        [
            (0, "open"),
            (0, "data"),
            (1, "open"),
            (1, "data"),
            (0, "close"),
            (2, "open"),
            (2, "data"),
            (1, "close"),
            (2, "close"),
        ]
    );
    assert_eq!((stats.flows, stats.flows_evicted), (3, 1));
}
