use std::net::{IpAddr, Ipv4Addr};

use sonde_event::{
    AppProtocol, Endpoint, PacketDrop, Request, SeenBy, Timestamp, Transport, UdpFlow,
};
use sonde_tsdb::is_stale;

use super::*;
use crate::metrics::compile::compile;
use crate::metrics::config::MetricsConfig;

fn deriver(yaml: &str) -> Deriver {
    let config: MetricsConfig = serde_yaml_ng::from_str(yaml).unwrap();
    Deriver::new(config.metrics.iter().map(|m| compile(m).unwrap()).collect())
}

fn endpoint(port: u16) -> Endpoint {
    Endpoint {
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
    }
}

fn drop_event(reason: &str, protocol: &str) -> Event {
    Event::PacketDrop(PacketDrop {
        time: Timestamp(1_700_000_000_000_000_000),
        reason: reason.into(),
        reason_code: 2,
        protocol: protocol.into(),
        source: Some(endpoint(1)),
        destination: Some(endpoint(2)),
        interface: None,
        process: None,
        location: None,
        length: 60,
        netns: 1,
    })
}

fn request(status: Option<u16>, latency_ns: Option<u64>) -> Event {
    Event::Request(Box::new(Request {
        time: Timestamp(1_700_000_000_000_000_000),
        protocol: AppProtocol::Http,
        tls: false,
        transport: Transport::Tcp,
        client: endpoint(40000),
        server: endpoint(80),
        netns: 1,
        conn_id: None,
        client_process: None,
        server_process: None,
        seen_by: SeenBy::Client,
        method: "GET".into(),
        target: "/".into(),
        status,
        latency_ns,
        server_latency_ns: None,
        request_bytes: 100,
        response_bytes: 200,
        http: None,
        dns: None,
        flags: vec![],
    }))
}

fn udp(first_seen: u64, bytes_sent: u64) -> Event {
    Event::UdpFlow(UdpFlow {
        time: Timestamp(1_700_000_000_000_000_000),
        local: endpoint(5353),
        remote: endpoint(53),
        process: None,
        first_seen: Timestamp(first_seen),
        last_seen: Timestamp(first_seen),
        bytes_sent,
        bytes_received: 0,
        packets_sent: 1,
        packets_received: 0,
        netns: 1,
    })
}

/// (labels as `k=v,…` without the name, value) per series named `name`.
fn series(samples: &[Sample], name: &str) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = samples
        .iter()
        .filter(|s| s.labels.metric_name() == Some(name))
        .map(|s| {
            let labels: Vec<String> = s
                .labels
                .iter()
                .filter(|(n, _)| *n != METRIC_NAME)
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            (labels.join(","), s.v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

const DROPS: &str = "metrics:
  - name: drops_total
    type: counter
    event: packet_drop
    filter: {protocol: {not: icmp}}
    labels: {reason: reason, proto: protocol}
";

#[test]
fn counts_filter_and_label_events() {
    let mut d = deriver(DROPS);
    d.observe_all(&[
        drop_event("NO_SOCKET", "tcp"),
        drop_event("NO_SOCKET", "tcp"),
        drop_event("NO_SOCKET", "udp"),
        drop_event("NETFILTER_DROP", "tcp"),
        drop_event("NO_SOCKET", "icmp"),
    ]);
    let samples = d.collect(1000);
    assert!(samples.iter().all(|s| s.t == 1000));
    assert_eq!(
        series(&samples, "drops_total"),
        [
            ("proto=tcp,reason=NETFILTER_DROP".to_owned(), 1.0),
            ("proto=tcp,reason=NO_SOCKET".to_owned(), 2.0),
            ("proto=udp,reason=NO_SOCKET".to_owned(), 1.0),
        ]
    );
    // Cumulative: the next flush still holds the totals.
    d.observe(&drop_event("NO_SOCKET", "udp"));
    let again = d.collect(2000);
    assert!(series(&again, "drops_total").contains(&("proto=udp,reason=NO_SOCKET".into(), 2.0)));
    assert_eq!(d.counters()[0].1.events.load(Relaxed), 5);
}

#[test]
fn the_budget_folds_the_rest_into_one_overflow_series() {
    let mut d = deriver(&DROPS.replace("proto: protocol}", "proto: protocol}\n    max_series: 10"));
    for i in 0..1000 {
        d.observe(&drop_event(&format!("R{i}"), "tcp"));
    }
    let s = series(&d.collect(1), "drops_total");
    assert_eq!(s.len(), 11);
    let overflow: Vec<_> = s
        .iter()
        .filter(|(l, _)| l == "sonde_overflow=true")
        .collect();
    assert_eq!(overflow, [&("sonde_overflow=true".to_owned(), 990.0)]);
    assert_eq!(s.iter().map(|(_, v)| v).sum::<f64>(), 1000.0);
    let counts = &d.counters()[0].1;
    assert_eq!(counts.overflow_events.load(Relaxed), 990);
    assert_eq!(counts.events.load(Relaxed), 1000);
    // A known series still counts into itself once the budget is spent.
    d.observe(&drop_event("R0", "tcp"));
    assert!(series(&d.collect(2), "drops_total").contains(&("proto=tcp,reason=R0".into(), 2.0)));
}

#[test]
fn histograms_have_cumulative_le_buckets_sum_and_count() {
    let mut d = deriver(
        "metrics:
  - name: lat_seconds
    type: histogram
    event: request
    labels: {status: status}
    value: latency_ns
    scale: 0.000000001
    buckets: [0.1, 0.5, 1]
",
    );
    for ns in [50_000_000, 100_000_000, 300_000_000, 2_000_000_000] {
        d.observe(&request(Some(200), Some(ns)));
    }
    d.observe(&request(None, None));
    let samples = d.collect(5);
    assert_eq!(
        series(&samples, "lat_seconds_bucket"),
        [
            ("le=+Inf,status=200".to_owned(), 4.0),
            ("le=0.1,status=200".to_owned(), 2.0), // 0.1 is ≤ 0.1
            ("le=0.5,status=200".to_owned(), 3.0),
            ("le=1,status=200".to_owned(), 3.0),
        ]
    );
    assert_eq!(
        series(&samples, "lat_seconds_count"),
        [("status=200".into(), 4.0)]
    );
    let sum = series(&samples, "lat_seconds_sum")[0].1;
    assert!((sum - 2.45).abs() < 1e-9, "{sum}");
    assert_eq!(d.counters()[0].1.skipped_no_value.load(Relaxed), 1);
    assert!(samples.iter().all(|s| !is_stale(s.v)));
}

#[test]
fn counter_values_from_fields_and_absent_labels() {
    let mut d = deriver(
        "metrics:
  - name: resp_bytes_total
    type: counter
    event: request
    labels: {status: status, method: method}
    value: response_bytes
",
    );
    d.observe(&request(Some(404), Some(1)));
    d.observe(&request(None, None));
    assert_eq!(
        series(&d.collect(1), "resp_bytes_total"),
        [
            ("method=GET".to_owned(), 200.0),
            ("method=GET,status=404".to_owned(), 200.0),
        ]
    );
}

#[test]
fn cumulative_fields_count_each_reports_increase() {
    let mut d = deriver(
        "metrics:
  - name: udp_bytes_total
    type: counter
    event: udp_flow
    value: bytes_sent
    cumulative: {key: [local.port, remote.port, first_seen], max_tracked: 2}
",
    );
    d.observe_all(&[udp(1, 100), udp(1, 250), udp(2, 40), udp(1, 300)]);
    assert_eq!(
        series(&d.collect(1), "udp_bytes_total"),
        [(String::new(), 340.0)]
    );
    // A third flow past max_tracked counts whole, and is counted as such.
    d.observe_all(&[udp(3, 10), udp(3, 15)]);
    assert_eq!(
        series(&d.collect(2), "udp_bytes_total"),
        [(String::new(), 365.0)]
    );
    assert_eq!(d.counters()[0].1.untracked.load(Relaxed), 2);
}

#[test]
fn le_is_printed_as_prometheus_clients_do() {
    assert_eq!(format_le(1.0), "1");
    assert_eq!(format_le(0.005), "0.005");
    assert_eq!(format_le(2.5), "2.5");
}

/// The built-in set over a realistic mix counts every event exactly, and
/// prints the deriver's throughput (a figure, not an assertion; run with
/// `--release` for the real rate).
#[test]
fn builtin_set_counts_a_mixed_stream_exactly() {
    let all = crate::metrics::compile::compile_all(&MetricsConfig::default()).unwrap();
    let mut d = Deriver::new(all);
    let events: Vec<Event> = (0..10_000)
        .map(|i| match i % 3 {
            0 => request(Some(200 + (i % 5) as u16), Some(1_000_000 + i)),
            1 => drop_event(["NO_SOCKET", "TCP_CSUM"][(i % 2) as usize], "tcp"),
            _ => udp(i % 100, i),
        })
        .collect();
    let started = std::time::Instant::now();
    let rounds = 5;
    for _ in 0..rounds {
        d.observe_all(&events);
    }
    let per_sec = (rounds * events.len()) as f64 / started.elapsed().as_secs_f64();
    println!("deriver: {per_sec:.0} events/s on one core (built-in set)");
    let samples = d.collect(1_700_000_000_000);
    let total = |name: &str| -> f64 {
        samples
            .iter()
            .filter(|s| s.labels.metric_name() == Some(name))
            .map(|s| s.v)
            .sum()
    };
    assert_eq!(
        total("sonde_requests_by_status_total"),
        (rounds * 3334) as f64
    );
    assert_eq!(
        total("sonde_packet_drop_records_total"),
        (rounds * 3333) as f64
    );
}
