//! Behaviour of `Conversation` on HTTP/1.x traffic, with exact expected values.

use sonde_proto::{
    Config, Conversation, Detail, Direction::*, Exchange, ExchangeFlag, Hints, HttpExchange,
    Protocol, Transport,
};

fn conv() -> Conversation {
    conv_with(Config::default())
}

fn conv_with(config: Config) -> Conversation {
    Conversation::new(
        Hints {
            transport: Transport::Tcp,
            local_port: 40000,
            remote_port: 80,
        },
        config,
    )
}

fn drain(c: &mut Conversation) -> Vec<Exchange> {
    let mut out = Vec::new();
    c.drain(&mut out);
    out
}

fn http(e: &Exchange) -> &HttpExchange {
    match &e.detail {
        Detail::Http(h) => h,
        Detail::Dns(_) => panic!("not HTTP"),
    }
}

const GET: &[u8] = b"GET /a?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n\r\n";
const OK5: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";

#[test]
fn simple_exchange_fields() {
    let mut c = conv();
    c.bytes(Egress, 10, GET);
    c.bytes(Ingress, 20, OK5);
    assert_eq!(c.protocol(), Some(Protocol::Http1));
    let ex = drain(&mut c);
    assert_eq!(ex.len(), 1);
    let e = &ex[0];
    assert_eq!(e.request_direction, Egress);
    assert_eq!((e.request_start_ns, e.request_end_ns), (10, 10));
    assert_eq!(
        (e.response_start_ns, e.response_end_ns),
        (Some(20), Some(20))
    );
    assert_eq!(e.request_bytes, GET.len() as u64);
    assert_eq!(e.response_bytes, OK5.len() as u64);
    assert!(e.flags.is_empty());
    let h = http(e);
    assert_eq!(h.method, "GET");
    assert_eq!(h.target, "/a?x=1");
    assert_eq!(h.version, "1.1");
    assert_eq!(h.host.as_deref(), Some("example.com"));
    assert_eq!(h.user_agent.as_deref(), Some("t/1"));
    assert_eq!(h.content_type.as_deref(), Some("text/plain"));
    assert_eq!(h.status, Some(200));
    assert_eq!(h.reason.as_deref(), Some("OK"));
    assert_eq!(h.response_body_bytes, 5);
    assert_eq!(c.stats().exchanges, 1);
}

#[test]
fn server_side_request_direction_is_ingress() {
    let mut c = conv();
    c.bytes(Ingress, 1, GET);
    c.bytes(Egress, 2, OK5);
    let ex = drain(&mut c);
    assert_eq!(ex[0].request_direction, Ingress);
    assert_eq!(http(&ex[0]).status, Some(200));
}

#[test]
fn pipelining_pairs_fifo() {
    let mut c = conv();
    let reqs = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /3 HTTP/1.1\r\nHost: h\r\n\r\n";
    c.bytes(Egress, 1, reqs);
    let resps = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nBBHTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    c.bytes(Ingress, 2, resps);
    let ex = drain(&mut c);
    let got: Vec<_> = ex
        .iter()
        .map(|e| {
            (
                http(e).target.clone(),
                http(e).status,
                http(e).response_body_bytes,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("/1".into(), Some(200), 1),
            ("/2".into(), Some(404), 2),
            ("/3".into(), Some(200), 0)
        ]
    );
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let mut c = conv();
    let req = b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b;c=\"d e\"\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
    c.bytes(Egress, 1, req);
    c.bytes(
        Ingress,
        2,
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    let ex = drain(&mut c);
    assert_eq!(ex.len(), 1);
    let h = http(&ex[0]);
    assert!(h.request_chunked && h.response_chunked);
    assert_eq!((h.request_body_bytes, h.response_body_bytes), (11, 3));
    assert_eq!(ex[0].request_bytes, req.len() as u64);
}

#[test]
fn continue_100_does_not_complete() {
    let mut c = conv();
    c.bytes(
        Egress,
        1,
        b"PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    );
    c.bytes(Ingress, 2, b"HTTP/1.1 100 Continue\r\n\r\n");
    assert!(drain(&mut c).is_empty());
    c.bytes(Egress, 3, b"data");
    c.bytes(Ingress, 4, b"HTTP/1.1 204 No Content\r\n\r\n");
    let ex = drain(&mut c);
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].flags, vec![ExchangeFlag::Continue100]);
    assert_eq!(ex[0].request_end_ns, 3);
    assert_eq!(ex[0].response_start_ns, Some(4));
    assert_eq!(ex[0].response_bytes, 25 + 27);
    assert_eq!(http(&ex[0]).status, Some(204));
}

#[test]
fn head_and_204_304_have_no_body() {
    let mut c = conv();
    c.bytes(Egress, 1, b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    c.bytes(
        Ingress,
        2,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    );
    let st: Vec<_> = drain(&mut c)
        .iter()
        .map(|e| (http(e).status, http(e).response_body_bytes))
        .collect();
    assert_eq!(st, vec![(Some(200), 0), (Some(304), 0), (Some(204), 0)]);
}

#[test]
fn upgrade_101_stops_parsing() {
    let mut c = conv();
    c.bytes(
        Egress,
        1,
        b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    );
    c.bytes(Ingress, 2, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello");
    c.bytes(Egress, 3, b"\x81\x85garbage");
    let ex = drain(&mut c);
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].flags, vec![ExchangeFlag::Upgraded]);
    assert_eq!(http(&ex[0]).upgrade.as_deref(), Some("websocket"));
    assert_eq!(c.stats().parse_errors, 0);
}

#[test]
fn connect_2xx_is_upgraded() {
    let mut c = conv();
    c.bytes(
        Egress,
        1,
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    );
    c.bytes(Ingress, 2, b"HTTP/1.1 200 Connection established\r\n\r\n");
    c.bytes(Egress, 3, b"\x16\x03\x01\x00\x05hello");
    let ex = drain(&mut c);
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].flags, vec![ExchangeFlag::Upgraded]);
    assert_eq!(http(&ex[0]).upgrade.as_deref(), Some("CONNECT"));
    assert_eq!(c.stats().parse_errors, 0);
}

#[test]
fn one_byte_split_parses_identically() {
    let req = b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let mut whole = conv();
    whole.bytes(Egress, 1, req);
    whole.bytes(Ingress, 2, resp);
    let mut split = conv();
    for b in req.chunks(1) {
        split.bytes(Egress, 1, b);
    }
    for b in resp.chunks(1) {
        split.bytes(Ingress, 2, b);
    }
    assert_eq!(drain(&mut whole), drain(&mut split));
    assert_eq!(whole.stats(), split.stats());
}

#[test]
fn skipped_inside_body_keeps_framing_in_o1() {
    let mut c = conv();
    c.bytes(
        Egress,
        1,
        b"POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000000\r\n\r\nabc",
    );
    assert_eq!(c.skippable(Egress), 1_000_000_000 - 3);
    c.skipped(Egress, 2, 1_000_000_000 - 3);
    assert_eq!(c.skippable(Egress), 0);
    c.bytes(Ingress, 3, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let ex = drain(&mut c);
    assert_eq!(ex.len(), 1);
    assert!(ex[0].flags.is_empty());
    assert_eq!(ex[0].request_end_ns, 2);
    assert_eq!(http(&ex[0]).request_body_bytes, 1_000_000_000);
    assert_eq!(c.stats().skipped_in_body, 1_000_000_000 - 3);
    assert_eq!(c.stats().skipped_lost, 0);
}

#[test]
fn skipped_inside_head_resyncs() {
    let mut c = conv();
    c.bytes(Egress, 1, b"GET /long HTTP/1.1\r\nHost: h\r\nCookie: aaaa");
    c.skipped(Egress, 1, 500);
    c.bytes(Egress, 2, b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    c.bytes(
        Ingress,
        3,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    let ex = drain(&mut c);
    assert_eq!(ex.len(), 2);
    assert_eq!(http(&ex[0]).target, "/long");
    assert_eq!(ex[0].flags, vec![ExchangeFlag::Truncated]);
    assert_eq!(http(&ex[1]).target, "/next");
    assert!(ex[1].flags.is_empty());
    assert_eq!(c.stats().resyncs, 1);
    assert_eq!(c.stats().skipped_lost, 500);
}

#[test]
fn orphan_response_mid_connection() {
    let mut c = conv();
    c.bytes(
        Ingress,
        1,
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    assert_eq!(c.protocol(), Some(Protocol::Http1));
    c.bytes(Egress, 2, GET);
    c.bytes(Ingress, 3, OK5);
    let ex = drain(&mut c);
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].request_direction, Egress);
    assert_eq!(c.stats().orphan_responses, 1);
}

#[test]
fn garbage_gives_up_after_infer_limit() {
    let mut c = conv();
    let mut x = 0x9e37_79b9u32;
    let junk: Vec<u8> = (0..5000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    for part in junk.chunks(1000) {
        assert!(!c.gave_up());
        c.bytes(Egress, 1, part);
    }
    assert!(c.gave_up());
    assert_eq!(c.protocol(), None);
    assert_eq!(c.stats().parse_errors, 1);
    assert!(drain(&mut c).is_empty());
}

#[test]
fn tls_is_recognised_and_given_up() {
    let mut c = conv();
    c.bytes(Egress, 1, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
    assert_eq!(c.protocol(), Some(Protocol::Tls));
    assert!(c.gave_up());
}

#[test]
fn max_head_bytes_is_a_parse_error() {
    let mut c = conv_with(Config {
        max_head_bytes: 256,
        ..Config::default()
    });
    c.bytes(Egress, 1, b"GET / HTTP/1.1\r\n");
    for _ in 0..100 {
        c.bytes(Egress, 1, b"X-Filler: 0123456789\r\n");
    }
    assert_eq!(c.stats().parse_errors, 1);
    c.bytes(Egress, 2, b"\r\nGET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
    c.bytes(
        Ingress,
        3,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    let ex = drain(&mut c);
    let got: Vec<_> = ex
        .iter()
        .map(|e| (http(e).target.clone(), e.flags.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/".into(), vec![ExchangeFlag::ParseError]),
            ("/ok".into(), vec![])
        ]
    );
}

#[test]
fn read_until_close_finishes_at_close() {
    let mut c = conv();
    c.bytes(Egress, 1, b"GET / HTTP/1.0\r\n\r\n");
    c.bytes(Ingress, 2, b"HTTP/1.0 200 OK\r\n\r\nabc");
    c.bytes(Ingress, 3, b"defg");
    assert!(drain(&mut c).is_empty());
    c.close(9);
    let ex = drain(&mut c);
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].response_end_ns, Some(9));
    assert_eq!(http(&ex[0]).response_body_bytes, 7);
}

#[test]
fn close_and_expire_flush_no_response() {
    let mut c = conv();
    c.bytes(Egress, 100, b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n");
    c.bytes(Egress, 200, b"GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    c.expire(150, 40);
    let ex = drain(&mut c);
    assert_eq!(ex.len(), 1);
    assert_eq!(
        (http(&ex[0]).target.as_str(), ex[0].flags.clone()),
        ("/1", vec![ExchangeFlag::NoResponse])
    );
    c.close(300);
    let ex = drain(&mut c);
    assert_eq!(
        (http(&ex[0]).target.as_str(), ex[0].flags.clone()),
        ("/2", vec![ExchangeFlag::NoResponse])
    );
}

#[test]
fn pending_overflow_is_counted() {
    let mut c = conv_with(Config {
        max_pending: 2,
        ..Config::default()
    });
    for _ in 0..3 {
        c.bytes(Egress, 1, GET);
    }
    assert_eq!(c.stats().pending_overflow, 1);
    let ex = drain(&mut c);
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].flags, vec![ExchangeFlag::NoResponse]);
}
