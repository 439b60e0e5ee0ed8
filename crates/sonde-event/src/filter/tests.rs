//! `EventFilter` over request events, and request filters over other kinds.

use super::*;
use crate::{
    AppProtocol, Container, ContainerRuntime, Request, SeenBy, Timestamp, Transport, UdpFlow,
    Workload,
};

fn workload(pid: u32, comm: &str, container: Option<&str>) -> Workload {
    Workload {
        exec_id: format!("exec-{pid}"),
        pid,
        comm: comm.into(),
        binary: format!("/usr/bin/{comm}"),
        container: container.map(|id| Container {
            id: id.into(),
            runtime: ContainerRuntime::Docker,
            pod_uid: None,
        }),
    }
}

fn endpoint(text: &str) -> Endpoint {
    let addr: std::net::SocketAddr = text.parse().unwrap();
    Endpoint {
        ip: addr.ip(),
        port: addr.port(),
    }
}

/// curl (pid 10) asks nginx (pid 20, in container abcdef…) for `target`.
fn http(target: &str, status: Option<u16>, latency_ns: Option<u64>) -> Event {
    Event::Request(Box::new(Request {
        time: Timestamp(1_000),
        protocol: AppProtocol::Http,
        tls: false,
        transport: Transport::Tcp,
        client: endpoint("10.0.0.1:40000"),
        server: endpoint("10.0.0.2:80"),
        netns: 0,
        conn_id: None,
        client_process: Some(workload(10, "curl", None)),
        server_process: Some(workload(20, "nginx", Some("abcdef0123"))),
        seen_by: SeenBy::Both,
        method: "GET".into(),
        target: target.into(),
        status,
        latency_ns,
        server_latency_ns: None,
        request_bytes: 100,
        response_bytes: 200,
        http: None,
        dns: None,
        flags: Vec::new(),
    }))
}

fn dns(name: &str, rcode: u16) -> Event {
    let Event::Request(mut r) = http(name, Some(rcode), Some(5_000)) else {
        unreachable!()
    };
    r.protocol = AppProtocol::Dns;
    r.transport = Transport::Udp;
    r.method = "QUERY".into();
    Event::Request(r)
}

fn udp() -> Event {
    Event::UdpFlow(UdpFlow {
        time: Timestamp(1_000),
        local: endpoint("10.0.0.1:5353"),
        remote: endpoint("10.0.0.2:53"),
        process: Some(workload(10, "curl", None)),
        first_seen: Timestamp(0),
        last_seen: Timestamp(1_000),
        bytes_sent: 1,
        bytes_received: 1,
        packets_sent: 1,
        packets_received: 1,
        netns: 0,
    })
}

fn status(s: &str) -> EventFilter {
    EventFilter {
        status: Some(s.parse().unwrap()),
        ..EventFilter::default()
    }
}

#[test]
fn status_matches_http_codes_and_classes_and_dns_rcodes() {
    let ok = http("/", Some(200), Some(1));
    let missing = http("/", Some(404), Some(1));
    let failed = http("/", Some(503), Some(1));
    let unanswered = http("/", None, None);
    let nxdomain = dns("nope.example.", 3);
    let noerror = dns("example.", 0);
    let all = [
        ("200", &ok),
        ("404", &missing),
        ("503", &failed),
        ("none", &unanswered),
        ("NXDOMAIN", &nxdomain),
        ("NOERROR", &noerror),
    ];
    let kept = |s: &str| {
        let f = status(s);
        all.iter()
            .filter(|(_, e)| f.matches(e))
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
    };
    assert_eq!(kept("2xx"), ["200"]);
    assert_eq!(kept("4xx"), ["404"]);
    assert_eq!(kept("5xx"), ["503"]);
    assert_eq!(kept("404"), ["404"]);
    assert_eq!(kept("NXDOMAIN"), ["NXDOMAIN"]);
    assert_eq!(kept("noerror"), ["NOERROR"]);
    assert!(kept("SERVFAIL").is_empty());
}

#[test]
fn path_matches_the_target_by_prefix_or_glob() {
    let users = http("/api/v1/users?id=7", Some(200), Some(1));
    let health = http("/healthz", Some(200), Some(1));
    let name = dns("www.example.com.", 0);
    let path = |p: &str| EventFilter {
        path: Some(p.into()),
        ..EventFilter::default()
    };
    let kept = |f: EventFilter| [&users, &health, &name].map(|e| f.matches(e));
    assert_eq!(kept(path("/api")), [true, false, false]);
    assert_eq!(kept(path("/api/*/users*")), [true, false, false]);
    assert_eq!(kept(path("/api/*/users")), [false, false, false]);
    assert_eq!(kept(path("*.example.com.")), [false, false, true]);
    assert_eq!(kept(path("/")), [true, true, false]);
}

#[test]
fn min_latency_keeps_slow_requests_and_drops_those_without_latency() {
    let filter = EventFilter {
        min_latency_ns: Some(1_000_000),
        ..EventFilter::default()
    };
    assert!(filter.matches(&http("/", Some(200), Some(1_000_000))));
    assert!(filter.matches(&http("/", Some(200), Some(2_000_000))));
    assert!(!filter.matches(&http("/", Some(200), Some(999_999))));
    assert!(!filter.matches(&http("/", None, None)));
}

#[test]
fn request_fields_reject_other_kinds() {
    let filters = [
        status("2xx"),
        EventFilter {
            path: Some("/".into()),
            ..EventFilter::default()
        },
        EventFilter {
            min_latency_ns: Some(0),
            ..EventFilter::default()
        },
    ];
    for f in &filters {
        assert!(!f.matches(&udp()), "{f:?}");
        assert!(f.matches(&http("/", Some(200), Some(1))), "{f:?}");
    }
    assert!(EventFilter::default().matches(&udp()));
}

#[test]
fn process_fields_match_either_end_of_a_request() {
    let request = http("/", Some(200), Some(1));
    let keeps = |f: EventFilter| f.matches(&request);
    let pid = |pid| EventFilter {
        pid: Some(pid),
        ..EventFilter::default()
    };
    assert!(keeps(pid(10)), "the client");
    assert!(keeps(pid(20)), "the server");
    assert!(!keeps(pid(30)));
    let comm = |c: &str| EventFilter {
        comm: Some(c.into()),
        ..EventFilter::default()
    };
    assert!(keeps(comm("curl")));
    assert!(keeps(comm("nginx")));
    assert!(!keeps(comm("sh")));
    let binary = |b: &str| EventFilter {
        binary: Some(b.into()),
        ..EventFilter::default()
    };
    assert!(keeps(binary("/usr/bin/curl")));
    assert!(keeps(binary("nginx")));
    let container = |c: &str| EventFilter {
        container: Some(c.into()),
        ..EventFilter::default()
    };
    assert!(keeps(container("abcdef")));
    assert!(!keeps(container("fedcba")));
    // All process fields must hold for the same end.
    assert!(!keeps(EventFilter {
        pid: Some(10),
        comm: Some("nginx".into()),
        ..EventFilter::default()
    }));
    assert!(keeps(EventFilter {
        pid: Some(20),
        container: Some("abc".into()),
        ..EventFilter::default()
    }));
}

#[test]
fn a_request_seen_by_one_end_matches_only_that_process() {
    let Event::Request(mut r) = http("/", Some(200), Some(1)) else {
        unreachable!()
    };
    r.server_process = None;
    let event = Event::Request(r);
    let pid = |pid| EventFilter {
        pid: Some(pid),
        ..EventFilter::default()
    };
    assert!(pid(10).matches(&event));
    assert!(!pid(20).matches(&event));
}

#[test]
fn protocol_matches_the_application_protocol() {
    let protocol = |p: &str| EventFilter {
        protocol: Some(p.into()),
        ..EventFilter::default()
    };
    let request = http("/", Some(200), Some(1));
    let name = dns("example.", 0);
    assert!(protocol("http").matches(&request));
    assert!(!protocol("dns").matches(&request));
    assert!(protocol("DNS").matches(&name));
    assert!(!protocol("tcp").matches(&request));
}

#[test]
fn new_fields_are_optional_in_json() {
    let f: EventFilter = serde_json::from_str(r#"{"pid": 3}"#).unwrap();
    assert_eq!(f.status, None);
    assert_eq!(f.path, None);
    assert_eq!(f.min_latency_ns, None);
    let f: EventFilter =
        serde_json::from_str(r#"{"status": "5xx", "path": "/api", "min_latency_ns": 250}"#)
            .unwrap();
    assert_eq!(f.status, Some(StatusMatch::HttpClass(5)));
    assert_eq!(f.path.as_deref(), Some("/api"));
    assert_eq!(f.min_latency_ns, Some(250));
}

#[test]
fn a_listener_matches_its_port_address_protocol_and_process_but_no_verdict() {
    let listen = Event::Listen(crate::ListenEvent {
        time: Timestamp(1_000),
        state: crate::ListenState::Listen,
        local: endpoint("[::1]:8080"),
        family: crate::IpFamily::Ipv6,
        process: Some(workload(30, "nc", None)),
        backlog: 128,
        netns: 0,
    });
    let f = |tune: fn(&mut EventFilter)| {
        let mut filter = EventFilter::default();
        tune(&mut filter);
        filter.matches(&listen)
    };
    assert_eq!("listen".parse::<EventKind>(), Ok(EventKind::Listen));
    assert!(f(|x| x.kinds = vec![EventKind::Listen]));
    assert!(!f(|x| x.kinds = vec![EventKind::TcpConnection]));
    assert!(f(|x| x.port = Some(8080)));
    assert!(!f(|x| x.port = Some(8081)));
    assert!(f(|x| x.to_ip = Some("::1".parse().unwrap())));
    assert!(!f(|x| x.from_ip = Some("::1".parse().unwrap())));
    assert!(f(|x| x.protocol = Some("tcp".into())));
    assert!(f(|x| x.pid = Some(30)));
    assert!(!f(|x| x.verdict = Some(Verdict::Forwarded)));
    assert!(!f(|x| x.verdict = Some(Verdict::Dropped)));
}
