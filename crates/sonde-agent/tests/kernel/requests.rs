//! Request tracing against real servers on loopback: nginx (HTTP, HTTPS
//! through OpenSSL) with curl and a Python client, unbound with dig. Each
//! request must be seen exactly once, joined from both ends, with the right
//! status, and match the server's own log.

use std::process::Command;
use std::sync::Arc;

use sonde_event::{AppProtocol, Event, Request, SeenBy};

use crate::harness::{self, TestAgent};
use crate::servers::{installed, Nginx, Unbound};

/// Requests to `port` whose target starts with `prefix`, once `count` arrived.
fn requests_to(agent: &mut TestAgent, port: u16, prefix: &str, count: usize) -> Vec<Request> {
    let pick = |events: &[Arc<Event>]| -> Vec<Request> {
        events
            .iter()
            .filter_map(|e| match &**e {
                Event::Request(r) if r.server.port == port && r.target.starts_with(prefix) => {
                    Some((**r).clone())
                }
                _ => None,
            })
            .collect()
    };
    agent.wait_for(&format!("{count} requests for {prefix}"), |events| {
        (pick(events).len() >= count).then_some(())
    });
    // Anything more would be a duplicate: give it time to show up.
    std::thread::sleep(std::time::Duration::from_millis(800));
    let all = agent.wait_for("settled", |events| Some(pick(events)));
    assert_eq!(all.len(), count, "exactly once each: {all:#?}");
    all
}

fn curl(args: &[&str]) -> String {
    let mut argv = vec!["-s", "-w", "%{http_code}"];
    for a in args {
        if a.starts_with("http") {
            argv.extend(["-o", "/dev/null"]);
        }
        argv.push(a);
    }
    let out = Command::new("curl").args(argv).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn nginx_requests_from_curl_are_seen_once_from_both_ends() {
    if !installed("nginx") || !installed("curl") {
        return;
    }
    let Some(mut agent) = harness::start() else {
        return;
    };
    let nginx = Nginx::start();
    let base = format!("http://127.0.0.1:{}", nginx.port);
    // Keep-alive: three requests on one connection.
    assert_eq!(
        curl(&[
            &format!("{base}/index.html"),
            &format!("{base}/missing"),
            &format!("{base}/fail")
        ]),
        "200404500"
    );
    let chunked_body = "x".repeat(5000);
    assert_eq!(
        curl(&[
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            &chunked_body,
            &format!("{base}/upload")
        ]),
        "200"
    );
    assert_eq!(
        curl(&["-H", "Accept-Encoding: gzip", &format!("{base}/text.txt")]),
        "200"
    );
    assert_eq!(curl(&[&format!("{base}/big.bin")]), "200");
    assert_eq!(curl(&["-I", &format!("{base}/index.html")]), "200");

    let all = requests_to(&mut agent, nginx.port, "/", 7);
    let find = |method: &str, target: &str| -> &Request {
        all.iter()
            .find(|r| r.method == method && r.target == target)
            .unwrap_or_else(|| panic!("{method} {target} not in {all:#?}"))
    };
    for r in &all {
        assert_eq!(r.protocol, AppProtocol::Http);
        assert_eq!(r.seen_by, SeenBy::Both, "{r:#?}");
        assert_eq!(r.client_process.as_ref().unwrap().comm, "curl");
        assert_eq!(r.server_process.as_ref().unwrap().comm, "nginx");
        assert!(r.latency_ns.is_some());
        assert!(r.flags.is_empty(), "{r:#?}");
    }
    assert_eq!(find("GET", "/index.html").status, Some(200));
    assert_eq!(find("GET", "/missing").status, Some(404));
    assert_eq!(find("GET", "/fail").status, Some(500));
    let upload = find("POST", "/upload");
    assert_eq!(upload.status, Some(200));
    assert!(upload.http.as_ref().unwrap().request_chunked);
    assert_eq!(upload.http.as_ref().unwrap().request_body_bytes, 5000);
    let gz = find("GET", "/text.txt");
    assert!(gz.http.as_ref().unwrap().response_chunked, "{gz:#?}");
    let big = find("GET", "/big.bin");
    assert_eq!(
        big.http.as_ref().unwrap().response_body_bytes,
        10 * 1024 * 1024
    );
    assert_eq!(
        find("HEAD", "/index.html")
            .http
            .as_ref()
            .unwrap()
            .response_body_bytes,
        0
    );
    // The three keep-alive requests share one connection.
    let conn = &find("GET", "/index.html").conn_id;
    assert_eq!(&find("GET", "/missing").conn_id, conn);
    assert_eq!(nginx.access_log().len(), all.len());
    agent.assert_no_loss();
}

#[test]
fn https_through_openssl_is_read_as_plaintext() {
    if !installed("nginx") || !installed("curl") {
        return;
    }
    let Some(mut agent) = harness::start() else {
        return;
    };
    let nginx = Nginx::start();
    let base = format!("https://127.0.0.1:{}", nginx.tls_port);
    assert_eq!(
        curl(&[
            "-k",
            &format!("{base}/index.html"),
            &format!("{base}/missing")
        ]),
        "200404"
    );
    let all = requests_to(&mut agent, nginx.tls_port, "/", 2);
    for r in &all {
        assert!(r.tls, "{r:#?}");
        assert_eq!(r.seen_by, SeenBy::Both, "{r:#?}");
    }
    assert_eq!(all.iter().filter(|r| r.status == Some(404)).count(), 1);
    assert_eq!(nginx.access_log().len(), 2);
}

/// The latency sonde reports is what the client measured, within 1 ms.
#[test]
fn latency_matches_what_the_client_measured() {
    if !installed("nginx") {
        return;
    }
    let Some(mut agent) = harness::start() else {
        return;
    };
    let nginx = Nginx::start();
    let script = format!(
        "import socket,time\n\
         s=socket.create_connection(('127.0.0.1',{}))\n\
         for i in range(5):\n\
         \x20 t0=time.monotonic_ns(); s.sendall(b'GET /index.html?n=%d HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' % i)\n\
         \x20 buf=b''\n\
         \x20 while not (b'\\r\\n\\r\\n' in buf and len(buf.split(b'\\r\\n\\r\\n',1)[1])>=17): buf+=s.recv(65536)\n\
         \x20 print(time.monotonic_ns()-t0)\n",
        nginx.port
    );
    let out = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let measured: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let mut all = requests_to(&mut agent, nginx.port, "/index.html?n=", 5);
    all.sort_by_key(|r| r.target.clone());
    for (r, m) in all.iter().zip(&measured) {
        let ours = r.latency_ns.unwrap();
        assert!(
            ours.abs_diff(*m) < 1_000_000,
            "{}: sonde {ours} ns, client {m} ns",
            r.target
        );
    }
}

#[test]
fn dns_over_udp_and_tcp_with_rcodes() {
    if !installed("unbound") || !installed("dig") {
        return;
    }
    let Some(mut agent) = harness::start() else {
        return;
    };
    let unbound = Unbound::start();
    let port = unbound.port.to_string();
    let dig = |args: &[&str]| {
        let out = Command::new("dig")
            .args(["@127.0.0.1", "-p", &port, "+tries=1", "+time=2"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
    };
    dig(&["www.sonde.test", "A"]);
    dig(&["nothere.sonde.test", "A"]);
    dig(&["+tcp", "www.sonde.test", "A"]);
    let all = requests_to(&mut agent, unbound.port, "", 3);
    for r in &all {
        assert_eq!(r.protocol, AppProtocol::Dns);
        assert_eq!(r.seen_by, SeenBy::Both, "{r:#?}");
    }
    let www: Vec<&Request> = all
        .iter()
        .filter(|r| r.target == "www.sonde.test.")
        .collect();
    assert_eq!(www.len(), 2);
    for r in &www {
        assert_eq!(r.status, Some(0));
        let dns = r.dns.as_ref().unwrap();
        assert_eq!(dns.answers[0].data, "10.1.2.3");
    }
    assert_eq!(www.iter().map(|r| r.transport).collect::<Vec<_>>().len(), 2);
    let nx = all
        .iter()
        .find(|r| r.target == "nothere.sonde.test.")
        .unwrap();
    assert_eq!(
        nx.dns.as_ref().unwrap().rcode_name.as_deref(),
        Some("NXDOMAIN")
    );
}

/// Hostile and odd traffic on real sockets: garbage and a binary protocol
/// on an HTTP port are given up on and muted (counted), a request written
/// one byte at a time parses whole, and a response whose request came
/// before sonde started is counted as an orphan, not invented.
#[test]
fn garbage_split_writes_and_orphans_are_counted_not_invented() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A connection opened, and a request sent, before the agent starts.
    let mut early = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut early_server, _) = listener.accept().unwrap();
    early
        .write_all(b"GET /before HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let _ = early_server.read(&mut buf).unwrap();
    let Some(mut agent) = harness::start() else {
        return;
    };
    early_server
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        .unwrap();
    let _ = early.read(&mut buf).unwrap();

    // Garbage: 64 KiB of binary, well past the inference limit.
    let mut garbage = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut garbage_server, _) = listener.accept().unwrap();
    let noise: Vec<u8> = (0..65536u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    for round in 0..2 {
        for chunk in noise.chunks(4096) {
            garbage.write_all(chunk).unwrap();
            garbage_server.read_exact(&mut buf[..chunk.len()]).unwrap();
        }
        if round == 0 {
            // User space gives up on both ends and tells the kernel; the
            // second round is then muted. (A fixed wait lost on a loaded
            // machine.)
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while agent.handle.stats().snapshot().requests.streams_given_up < 2 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the garbage streams were never given up"
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }

    // One byte per write.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut slow_server, _) = listener.accept().unwrap();
    let request = b"GET /one-byte-at-a-time HTTP/1.1\r\nHost: x\r\n\r\n";
    for b in request.iter() {
        slow.write_all(&[*b]).unwrap();
    }
    let mut got = Vec::new();
    while got.len() < request.len() {
        let n = slow_server.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    slow_server
        .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
        .unwrap();
    let _ = slow.read(&mut buf).unwrap();

    let found = requests_to(&mut agent, port, "/one-byte", 1);
    // Kernel counters are read once a second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(found[0].status, Some(204));
    assert_eq!(found[0].seen_by, SeenBy::Both);
    let stats = agent.handle.stats().snapshot().requests;
    assert!(stats.streams_given_up >= 2, "garbage given up: {stats:?}");
    assert!(stats.capture["muted_calls"] > 0, "garbage muted: {stats:?}");
    assert!(stats.orphan_responses >= 1, "{stats:?}");
    let invented = agent.wait_for("no /before", |events| {
        Some(
            events
                .iter()
                .filter(|e| matches!(&***e, Event::Request(r) if r.target == "/before"))
                .count(),
        )
    });
    assert_eq!(invented, 0);
}
