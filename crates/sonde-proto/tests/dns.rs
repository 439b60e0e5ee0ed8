//! DNS parsing and pairing over UDP and TCP, with exact expected values.

use sonde_proto::dns::{DnsError, Message};
use sonde_proto::{
    qtype_name, rcode_name, Config, Conversation, Detail, Direction::*, DnsExchange, DnsQuestion,
    Edns, Exchange, ExchangeFlag, Hints, Protocol, Transport,
};

fn name(n: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in n.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A query for `qname`/`qtype`, optionally with an OPT record (payload 1232, DO).
fn query(id: u16, qname: &str, qtype: u16, edns: bool) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)]);
    m.extend(name(qname));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    if edns {
        m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
    }
    m
}

/// A response to `query(id, qname, 1, false)` with rcode and one compressed A answer per address.
fn response(id: u16, qname: &str, rcode: u8, addrs: &[[u8; 4]]) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x85, 0x80 | rcode, 0, 1, 0, addrs.len() as u8, 0, 0, 0, 0]);
    m.extend(name(qname));
    m.extend_from_slice(&[0, 1, 0, 1]);
    for a in addrs {
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
        m.extend_from_slice(a);
    }
    m
}

fn udp() -> Conversation {
    Conversation::new(
        Hints {
            transport: Transport::Udp,
            local_port: 5353,
            remote_port: 53,
        },
        Config::default(),
    )
}

fn drain(c: &mut Conversation) -> Vec<Exchange> {
    let mut out = Vec::new();
    c.drain(&mut out);
    out
}

fn dns(e: &Exchange) -> &DnsExchange {
    match &e.detail {
        Detail::Dns(d) => d,
        Detail::Http(_) => panic!("not DNS"),
    }
}

#[test]
fn udp_query_response_pair() {
    let mut c = udp();
    let q = query(0x1234, "example.com", 1, false);
    let r = response(
        0x1234,
        "example.com",
        0,
        &[[93, 184, 216, 34], [10, 0, 0, 1]],
    );
    c.bytes(Egress, 100, &q);
    c.bytes(Ingress, 150, &r);
    assert_eq!(c.protocol(), Some(Protocol::Dns));
    let ex = drain(&mut c);
    assert_eq!(ex.len(), 1);
    let e = &ex[0];
    assert_eq!(e.request_direction, Egress);
    assert_eq!((e.request_start_ns, e.response_end_ns), (100, Some(150)));
    assert_eq!(
        (e.request_bytes, e.response_bytes),
        (q.len() as u64, r.len() as u64)
    );
    let d = dns(e);
    assert_eq!(d.id, 0x1234);
    assert_eq!(
        d.questions,
        vec![DnsQuestion {
            name: "example.com.".into(),
            qtype: 1,
            qclass: 1
        }]
    );
    assert_eq!(d.rcode, Some(0));
    assert!(d.recursion_desired && d.authoritative && !d.truncated);
    let answers: Vec<_> = d
        .answers
        .iter()
        .map(|a| (a.name.as_str(), a.rtype, a.ttl, a.data.as_str()))
        .collect();
    assert_eq!(
        answers,
        vec![
            ("example.com.", 1, 3600, "93.184.216.34"),
            ("example.com.", 1, 3600, "10.0.0.1")
        ]
    );
}

#[test]
fn nxdomain() {
    let mut c = udp();
    c.bytes(Egress, 1, &query(7, "nope.example", 1, false));
    c.bytes(Ingress, 2, &response(7, "nope.example", 3, &[]));
    let ex = drain(&mut c);
    assert_eq!(dns(&ex[0]).rcode, Some(3));
    assert_eq!(rcode_name(3), "NXDOMAIN");
    assert!(dns(&ex[0]).answers.is_empty());
}

#[test]
fn pairs_by_id_and_question_and_counts_orphans() {
    let mut c = udp();
    c.bytes(Egress, 1, &query(1, "a.example", 1, false));
    c.bytes(Egress, 2, &query(2, "b.example", 1, false));
    c.bytes(Ingress, 3, &response(2, "b.example", 0, &[[1, 1, 1, 1]]));
    c.bytes(Ingress, 4, &response(1, "other.example", 0, &[]));
    c.bytes(Ingress, 5, &response(1, "a.example", 0, &[[2, 2, 2, 2]]));
    let ex = drain(&mut c);
    let got: Vec<_> = ex.iter().map(|e| (dns(e).id, e.response_end_ns)).collect();
    assert_eq!(got, vec![(2, Some(3)), (1, Some(5))]);
    assert_eq!(c.stats().orphan_responses, 1);
    c.bytes(Egress, 6, &query(3, "c.example", 28, false));
    c.expire(100, 10);
    let ex = drain(&mut c);
    assert_eq!(ex[0].flags, vec![ExchangeFlag::NoResponse]);
    assert_eq!(dns(&ex[0]).rcode, None);
}

#[test]
fn edns_extended_rcode() {
    let mut r = response(9, "x.example", 0, &[]);
    r[11] = 1; // ARCOUNT = 1
               // OPT: extended rcode 1 (→ 16 = BADVERS), version 0, DO set, payload 4096.
    r.extend_from_slice(&[0, 0, 41, 0x10, 0x00, 1, 0, 0x80, 0, 0, 0]);
    let m = Message::parse(&r).unwrap();
    assert_eq!(m.rcode, 16);
    assert_eq!(rcode_name(m.rcode), "BADVERS");
    assert_eq!(
        m.edns,
        Some(Edns {
            udp_payload_size: 4096,
            version: 0,
            dnssec_ok: true
        })
    );
    let q = Message::parse(&query(9, "x.example", 65, true)).unwrap();
    assert_eq!(
        q.edns,
        Some(Edns {
            udp_payload_size: 1232,
            version: 0,
            dnssec_ok: true
        })
    );
    assert_eq!(qtype_name(65), Some("HTTPS"));
}

#[test]
fn compression_loop_is_rejected() {
    // Header, 1 question whose name is a pointer to itself.
    let m = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
    assert_eq!(Message::parse(&m), Err(DnsError::CompressionLoop));
    // Two labels pointing at each other through a backward chain.
    let m2 = [
        0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0xc0, 12, 0, 1, 0, 1,
    ];
    assert_eq!(Message::parse(&m2), Err(DnsError::CompressionLoop));
}

#[test]
fn record_data_rendering() {
    let mut m = vec![0, 5, 0x81, 0x80, 0, 1, 0, 4, 0, 0, 0, 0];
    m.extend(name("ex.org"));
    m.extend_from_slice(&[0, 255, 0, 1]);
    let rr = |m: &mut Vec<u8>, t: u16, data: &[u8]| {
        m.extend_from_slice(&[0xc0, 12]);
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        m.extend_from_slice(&(data.len() as u16).to_be_bytes());
        m.extend_from_slice(data);
    };
    rr(&mut m, 5, &[3, b'w', b'w', b'w', 0xc0, 12]);
    rr(&mut m, 15, &[0, 10, 2, b'm', b'x', 0xc0, 12]);
    rr(&mut m, 16, b"\x05hi \"x");
    rr(
        &mut m,
        28,
        &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    );
    let msg = Message::parse(&m).unwrap();
    let data: Vec<_> = msg.answers.iter().map(|a| a.data.as_str()).collect();
    assert_eq!(
        data,
        vec![
            "www.ex.org.",
            "10 mx.ex.org.",
            "\"hi \\\"x\"",
            "2001:db8::1"
        ]
    );
}

#[test]
fn tcp_length_prefixed_split_and_batched() {
    let mut c = Conversation::new(
        Hints {
            transport: Transport::Tcp,
            local_port: 0,
            remote_port: 0,
        },
        Config::default(),
    );
    let frame = |m: Vec<u8>| {
        let mut f = (m.len() as u16).to_be_bytes().to_vec();
        f.extend(m);
        f
    };
    let mut q = frame(query(1, "a.example", 1, false));
    q.extend(frame(query(2, "b.example", 1, false)));
    for (i, b) in q.chunks(3).enumerate() {
        c.bytes(Egress, i as u64, b);
    }
    assert_eq!(c.protocol(), Some(Protocol::Dns));
    let mut r = frame(response(1, "a.example", 0, &[[1, 2, 3, 4]]));
    r.extend(frame(response(2, "b.example", 2, &[])));
    c.bytes(Ingress, 100, &r);
    let ex = drain(&mut c);
    let got: Vec<_> = ex
        .iter()
        .map(|e| (dns(e).id, dns(e).rcode, e.request_direction))
        .collect();
    assert_eq!(got, vec![(1, Some(0), Egress), (2, Some(2), Egress)]);
    assert_eq!(c.stats().parse_errors, 0);
}

#[test]
fn truncated_and_garbage_messages_are_errors() {
    let q = query(1, "a.example", 1, false);
    for n in 0..q.len() {
        assert!(Message::parse(&q[..n]).is_err(), "prefix {n}");
    }
    assert_eq!(
        Message::parse(&[0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0]),
        Err(DnsError::BadCounts)
    );
}
