//! TCP connections and drops across two network namespaces joined by a
//! veth pair: exact byte counts, owners of both ends, resets, drop reasons.

use std::net::IpAddr;
use std::time::Duration;

use sonde_event::{Direction, Endpoint, TcpConnection, TcpEnd};

use crate::harness::{start, start_with};
use crate::netns::{client, client_closing, server, NetPair, A4, A6, B4, B6};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn is_final(c: &TcpConnection) -> bool {
    c.end != TcpEnd::Open
}

/// The final reports of both ends of the connection `client_pid` made.
fn both_ends(
    agent: &mut crate::harness::TestAgent,
    client_pid: u32,
    server_port: u16,
) -> (TcpConnection, TcpConnection) {
    let reports = agent.tcp_reports(
        "both ends' final reports",
        |c| is_final(c) && (c.local.port == server_port || c.remote.port == server_port),
        |found| found.len() >= 2,
    );
    let client = reports
        .iter()
        .find(|c| c.direction == Direction::Connect)
        .expect("client side")
        .clone();
    let server = reports
        .iter()
        .find(|c| c.direction == Direction::Accept)
        .expect("server side")
        .clone();
    assert_eq!(
        client.process.as_ref().map(|p| p.pid),
        Some(client_pid),
        "client owner"
    );
    (client, server)
}

fn exact_transfer(a: &str, b: &str, port: u16) {
    let Some(mut agent) = start() else { return };
    let net = NetPair::create();
    let mut srv = server(&net.b, b, port, 1_000_000, 12_345);
    let (client_pid, received) = client(&net.a, b, port, 1_000_000, 1, 0.0);
    assert_eq!(received, 12_345);
    assert!(srv.wait().unwrap().success());

    let (c, s) = both_ends(&mut agent, client_pid, port);
    assert_eq!(
        (c.bytes_sent, c.bytes_received),
        (1_000_000, 12_345),
        "client: {c:?}"
    );
    assert_eq!(
        (s.bytes_sent, s.bytes_received),
        (12_345, 1_000_000),
        "server: {s:?}"
    );
    assert_eq!(c.remote, Endpoint { ip: ip(b), port });
    assert_eq!(c.local.ip, ip(a));
    assert_eq!(s.local, Endpoint { ip: ip(b), port });
    assert_eq!(s.remote, c.local, "the same connection seen from both ends");
    assert_eq!(
        s.process.as_ref().map(|p| p.pid),
        Some(srv.id()),
        "server owner"
    );
    assert_eq!(s.process.as_ref().map(|p| p.comm.as_str()), Some("python3"));
    // Final reports may follow the owners' exits; the owners are still named.
    for side in [&c, &s] {
        assert_eq!(
            side.process.as_ref().map(|p| p.binary.as_str()),
            Some("/usr/bin/python3"),
            "{side:?}"
        );
    }
    assert_eq!((c.end, s.end), (TcpEnd::Closed, TcpEnd::Closed));
    assert!(c.segments_sent > 0 && s.segments_received > 0);
    assert!(c.duration_ns.is_some() && c.start_time.is_some());
    assert_ne!(c.netns, s.netns, "each end in its own namespace");
    // Flow metrics count both ends (other tests' connections may add to them).
    let stats = agent.handle.stats().snapshot();
    for key in ["connect/closed", "accept/closed"] {
        assert!(
            stats.tcp_closed.get(key).is_some_and(|n| *n >= 1),
            "{key}: {:?}",
            stats.tcp_closed
        );
    }
    assert!(stats.tcp_bytes_sent >= 1_012_345 && stats.tcp_bytes_received >= 1_012_345);
    // One series per end's view: the client workload to the server address, and
    // the client address to the server workload.
    let series = |labels: [&str; 3]| {
        stats
            .tcp_by_workload
            .iter()
            .any(|(l, n)| l.iter().zip(labels).all(|(a, b)| a == b) && *n >= 1)
    };
    let port_label = port.to_string();
    assert!(
        series(["python3", b, &port_label]),
        "{:?}",
        stats.tcp_by_workload
    );
    assert!(
        series([a, "python3", &port_label]),
        "{:?}",
        stats.tcp_by_workload
    );
    assert!(stats
        .to_prometheus()
        .contains("sonde_tcp_connections_closed_total{direction=\"connect\",end=\"closed\"}"));
    agent.assert_no_loss();
}

#[test]
fn a_million_bytes_one_way_and_12345_back_counted_exactly() {
    exact_transfer(A4, B4, 8080);
}

#[test]
fn ipv6_connection_counted_exactly() {
    exact_transfer(A6, B6, 8086);
}

#[test]
fn connect_to_a_closed_port_is_reset_and_dropped_as_no_socket() {
    let Some(mut agent) = start() else { return };
    let net = NetPair::create();
    let status = NetPair::command(
        &net.a,
        "/usr/bin/python3",
        &["-c", &format!("import socket\ntry: socket.create_connection(('{B4}', 9))\nexcept ConnectionRefusedError: exit(3)")],
    )
    .status()
    .unwrap();
    assert_eq!(status.code(), Some(3), "refused");

    let refused = agent
        .tcp_reports(
            "the refused connect",
            |c| c.remote.port == 9,
            |f| !f.is_empty(),
        )
        .remove(0);
    assert_eq!(refused.end, TcpEnd::ConnectFailed);
    assert_eq!(refused.resets_received, 1);
    assert_eq!(refused.direction, Direction::Connect);
    assert_eq!((refused.bytes_sent, refused.bytes_received), (0, 0));

    let drop = agent.drop_matching("the NO_SOCKET drop", |d| {
        d.reason == "NO_SOCKET"
            && d.destination
                == Some(Endpoint {
                    ip: ip(B4),
                    port: 9,
                })
    });
    assert_eq!(
        drop.source,
        Some(refused.local),
        "the SYN from the refused client"
    );
    assert_eq!(drop.protocol, "tcp");
    assert!(
        drop.location
            .as_deref()
            .is_some_and(|l| l.starts_with("tcp_v4_rcv")),
        "{drop:?}"
    );
    agent.assert_no_loss();
}

#[test]
fn nft_drop_rule_yields_netfilter_drop_with_the_tuple() {
    let Some(mut agent) = start() else { return };
    let net = NetPair::create();
    let nft = |rule: &str| {
        let ok = NetPair::command(&net.b, "nft", &[rule])
            .status()
            .unwrap()
            .success();
        assert!(ok, "nft {rule}");
    };
    nft("add table inet sonde_test");
    nft("add chain inet sonde_test input { type filter hook input priority 0; }");
    nft("add rule inet sonde_test input tcp dport 9999 drop");
    let status = NetPair::command(
        &net.a,
        "/usr/bin/python3",
        &["-c", &format!("import socket\ntry: socket.create_connection(('{B4}', 9999), timeout=1.5)\nexcept TimeoutError: exit(4)")],
    )
    .status()
    .unwrap();
    assert_eq!(status.code(), Some(4), "timed out behind the drop rule");

    let drop = agent.drop_matching("the NETFILTER_DROP", |d| d.reason == "NETFILTER_DROP");
    assert_eq!(
        drop.destination,
        Some(Endpoint {
            ip: ip(B4),
            port: 9999
        })
    );
    assert_eq!(drop.source.map(|s| s.ip), Some(ip(A4)));
    assert!(drop.source.is_some_and(|s| s.port >= 1024));
    assert_eq!(drop.protocol, "tcp");
    let failed = agent
        .tcp_reports(
            "the timed-out connect",
            |c| c.remote.port == 9999,
            |f| !f.is_empty(),
        )
        .remove(0);
    assert_eq!(failed.end, TcpEnd::ConnectFailed);
    assert!(failed.retransmits >= 1, "SYNs were retried: {failed:?}");
    agent.assert_no_loss();
}

#[test]
fn long_lived_connection_reports_before_it_closes() {
    let Some(mut agent) = start_with(|c| c.tcp_report_interval = Duration::from_millis(500)) else {
        return;
    };
    let net = NetPair::create();
    let mut srv = server(&net.b, B4, 8081, 30_000, 10);
    // 30 KB in 10 pieces, 250 ms apart: several report intervals.
    let (client_pid, _) = client(&net.a, B4, 8081, 30_000, 10, 0.25);
    assert!(srv.wait().unwrap().success());
    let reports = agent.tcp_reports(
        "interim and final reports of the client",
        |c| c.process.as_ref().is_some_and(|p| p.pid == client_pid),
        |found| found.iter().any(is_final),
    );
    let interim: Vec<&TcpConnection> = reports.iter().filter(|c| c.end == TcpEnd::Open).collect();
    assert!(interim.len() >= 2, "reported while open: {}", interim.len());
    assert!(
        interim
            .windows(2)
            .all(|w| w[0].bytes_sent <= w[1].bytes_sent),
        "totals only grow"
    );
    let last = reports.iter().find(|c| is_final(c)).unwrap();
    assert!(interim
        .iter()
        .all(|c| c.bytes_sent < last.bytes_sent && c.time < last.time));
    assert_eq!(last.bytes_sent, 30_000);
    agent.assert_no_loss();
}

#[test]
fn udp_echo_counted_per_packet_with_both_owners() {
    let Some(mut agent) = start_with(|c| c.udp_report_interval = Duration::from_millis(300)) else {
        return;
    };
    let net = NetPair::create();
    let echo = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('10.200.0.2', 5300))\nprint('ready', flush=True)\nfor _ in range(5):\n    data, peer = s.recvfrom(2048)\n    s.sendto(data, peer)\n";
    let mut server = NetPair::command(&net.b, "/usr/bin/python3", &["-c", echo])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let ask = "import socket\nc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nc.settimeout(2)\nfor i in range(5):\n    c.sendto(b'q' * 100, ('10.200.0.2', 5300))\n    assert len(c.recvfrom(2048)[0]) == 100\n";
    let mut client = NetPair::command(&net.a, "/usr/bin/python3", &["-c", ask])
        .spawn()
        .unwrap();
    let client_pid = client.id();
    assert!(client.wait().unwrap().success());
    assert!(server.wait().unwrap().success());

    let flows = agent.wait_for("both ends' UDP flows with 5 packets each way", |events| {
        let mut latest: Vec<sonde_event::UdpFlow> = Vec::new();
        for e in events {
            if let sonde_event::Event::UdpFlow(u) = &**e {
                if u.local.port == 5300 || u.remote.port == 5300 {
                    latest.retain(|x| (x.local, x.remote) != (u.local, u.remote));
                    latest.push(u.clone());
                }
            }
        }
        let done = latest.len() == 2
            && latest
                .iter()
                .all(|u| u.packets_sent == 5 && u.packets_received == 5);
        done.then_some(latest)
    });
    let client_side = flows.iter().find(|u| u.remote.port == 5300).unwrap();
    let server_side = flows.iter().find(|u| u.local.port == 5300).unwrap();
    for side in [client_side, server_side] {
        assert_eq!(
            (side.bytes_sent, side.bytes_received),
            (500, 500),
            "{side:?}"
        );
    }
    assert_eq!(client_side.local.ip, ip(A4));
    assert_eq!(server_side.remote, client_side.local);
    assert_eq!(
        client_side.process.as_ref().map(|p| p.pid),
        Some(client_pid)
    );
    assert_eq!(
        server_side.process.as_ref().map(|p| p.pid),
        Some(server.id())
    );
    assert!(client_side.first_seen <= client_side.last_seen);
    agent.assert_no_loss();
}

/// Regression: the end that closes first, before the peer's FIN, counted one
/// byte too few (close() itself sets RCV_SHUTDOWN).
#[test]
fn the_end_that_closes_first_counts_every_byte() {
    let Some(mut agent) = start() else { return };
    let net = NetPair::create();
    let mut srv = server(&net.b, B4, 8082, 7_919, 104_729);
    let (client_pid, received) = client_closing(&net.a, B4, 8082, 7_919, 1, 0.0, 0.3);
    assert_eq!(received, 104_729);
    assert!(srv.wait().unwrap().success());
    let (c, s) = both_ends(&mut agent, client_pid, 8082);
    assert_eq!(
        (s.bytes_sent, s.bytes_received),
        (104_729, 7_919),
        "server closed first: {s:?}"
    );
    assert_eq!(
        (c.bytes_sent, c.bytes_received),
        (7_919, 104_729),
        "client closed later: {c:?}"
    );
    agent.assert_no_loss();
}
