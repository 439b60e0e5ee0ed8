//! `sonde analyze --pcap`: request records rebuilt from capture files built
//! here byte by byte, a truncated one, and a real tcpdump capture.

use std::io::{BufRead, BufReader};
use std::net::SocketAddrV4;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::capture::{dns, pcap, tcp, udp, Packet};
use crate::harness::{run, stderr};

/// 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000_000_000_000;

fn addr(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

/// An HTTP exchange on a whole TCP connection (2.5 ms from request to
/// response), then a DNS query answered NXDOMAIN after 812 µs.
fn http_and_dns() -> Vec<Packet> {
    let (c, s) = (addr("10.0.0.1:40000"), addr("10.0.0.2:80"));
    let request = b"GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n";
    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let (req_end, resp_end) = (1001 + request.len() as u32, 5001 + response.len() as u32);
    let (dns_client, resolver) = (addr("10.0.0.1:5353"), addr("10.0.0.3:53"));
    let frames = [
        (0, tcp(c, s, 1000, 0, "S", b"")),
        (100_000, tcp(s, c, 5000, 1001, "SA", b"")),
        (200_000, tcp(c, s, 1001, 5001, "A", b"")),
        (1_000_000, tcp(c, s, 1001, 5001, "A", request)),
        (3_500_000, tcp(s, c, 5001, req_end, "A", response)),
        (4_000_000, tcp(c, s, req_end, resp_end, "FA", b"")),
        (4_100_000, tcp(s, c, resp_end, req_end + 1, "FA", b"")),
        (4_200_000, tcp(c, s, req_end + 1, resp_end + 1, "A", b"")),
        (
            10_000_000,
            udp(
                dns_client,
                resolver,
                &dns(0x1234, 0x0100, "nope.example.com", 1),
            ),
        ),
        (
            10_812_000,
            udp(
                resolver,
                dns_client,
                &dns(0x1234, 0x8183, "nope.example.com", 1),
            ),
        ),
    ];
    frames
        .into_iter()
        .map(|(at, data)| Packet {
            time_ns: T0 + at,
            data,
        })
        .collect()
}

fn analyze(file: &Path) -> (Output, Vec<Value>) {
    let out = run(&["analyze", "--pcap", file.to_str().unwrap()]);
    let records = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out, records)
}

/// The fields a test pins down, from one `{"request": …}` line.
fn brief(record: &Value) -> Value {
    let r = &record["request"];
    json!({
        "time": r["time"], "protocol": r["protocol"], "transport": r["transport"],
        "client": r["client"], "server": r["server"], "seen_by": r["seen_by"],
        "method": r["method"], "target": r["target"], "status": r["status"],
        "latency_ns": r["latency_ns"], "rcode": r["dns"]["rcode_name"], "flags": r["flags"],
    })
}

fn http_brief() -> Value {
    json!({
        "time": "2023-11-14T22:13:20.001000000Z", "protocol": "http", "transport": "tcp",
        "client": {"ip": "10.0.0.1", "port": 40000}, "server": {"ip": "10.0.0.2", "port": 80},
        "seen_by": "client", "method": "GET", "target": "/index.html", "status": 200,
        "latency_ns": 2_500_000, "rcode": null, "flags": [],
    })
}

#[test]
fn rebuilds_http_and_dns_requests_from_a_capture() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("http-dns.pcap");
    std::fs::write(&file, pcap(&http_and_dns()).0).unwrap();
    let (out, records) = analyze(&file);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let briefs: Vec<Value> = records.iter().map(brief).collect();
    let dns = json!({
        "time": "2023-11-14T22:13:20.010000000Z", "protocol": "dns", "transport": "udp",
        "client": {"ip": "10.0.0.1", "port": 5353}, "server": {"ip": "10.0.0.3", "port": 53},
        "seen_by": "client", "method": "QUERY", "target": "nope.example.com.", "status": 3,
        "latency_ns": 812_000, "rcode": "NXDOMAIN", "flags": [],
    });
    assert_eq!(briefs, [http_brief(), dns]);
    let http = &records[0]["request"];
    assert_eq!(http["http"]["response_body_bytes"], 5);
    assert_eq!(
        (http["netns"].clone(), http["conn_id"].clone()),
        (json!(0), json!(null))
    );
    let summary = stderr(&out);
    assert!(
        summary.starts_with("sonde analyze: 10 packets, 2 flows (0 not HTTP or DNS), 2 requests\n"),
        "{summary}"
    );
    assert!(
        summary.contains(" parse_errors=0 resyncs=0 orphan_responses=0 "),
        "{summary}"
    );
}

#[test]
fn a_truncated_capture_prints_what_came_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cut.pcap");
    let (bytes, offsets) = pcap(&http_and_dns());
    // The cut falls inside the last record, the DNS response.
    let last = offsets[9];
    std::fs::write(&file, &bytes[..last + 10]).unwrap();
    let (out, records) = analyze(&file);
    assert_eq!(out.status.code(), Some(1));
    let briefs: Vec<Value> = records.iter().map(brief).collect();
    assert_eq!(briefs[0], http_brief());
    assert_eq!(briefs.len(), 2, "{briefs:?}");
    assert_eq!(
        (briefs[1]["target"].clone(), briefs[1]["status"].clone()),
        (json!("nope.example.com."), json!(null))
    );
    assert_eq!(briefs[1]["flags"], json!(["no_response"]));
    let text = stderr(&out);
    assert_eq!(
        text.lines().last().unwrap(),
        format!(
            "sonde: error: {}: capture file ends inside the record at byte offset {last} (packet 10)",
            file.display()
        )
    );
}

#[test]
fn a_missing_file_is_one_line_and_exit_1() {
    let out = run(&["analyze", "--pcap", "/nonexistent/capture.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("sonde: error: cannot open /nonexistent/capture.pcap: "),
        "{text}"
    );
}

/// Why a real capture cannot be made here, if it cannot.
fn cannot_capture() -> Option<&'static str> {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        return Some("tcpdump is not installed");
    }
    if Command::new("curl").arg("--version").output().is_err() {
        return Some("curl is not installed");
    }
    if Command::new("python3").arg("--version").output().is_err() {
        return Some("python3 is not installed");
    }
    if !nix::unistd::geteuid().is_root() {
        return Some("capturing needs root");
    }
    None
}

/// Starts `command` and returns it with the first stream line that holds
/// `marker`.
fn start_until(command: &mut Command, stderr_marker: bool, marker: &str) -> (Child, String) {
    let mut child = if stderr_marker {
        command.stderr(Stdio::piped()).stdout(Stdio::null())
    } else {
        command.stdout(Stdio::piped()).stderr(Stdio::null())
    }
    .spawn()
    .unwrap();
    let stream: Box<dyn std::io::Read + Send> = if stderr_marker {
        Box::new(child.stderr.take().unwrap())
    } else {
        Box::new(child.stdout.take().unwrap())
    };
    let mut lines = BufReader::new(stream).lines();
    let line = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no `{marker}` from {command:?}"));
    // Keep draining, so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, line)
}

#[test]
fn a_real_capture_of_curl_and_python_http_server() {
    if let Some(reason) = cannot_capture() {
        eprintln!("SKIP a_real_capture_of_curl_and_python_http_server: {reason}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut server, line) = start_until(
        Command::new("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
            .current_dir(dir.path()),
        false,
        "Serving HTTP",
    );
    // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
    let port = line.split_whitespace().nth(5).unwrap().to_string();
    let file = dir.path().join("real.pcap");
    let (mut tcpdump, _) = start_until(
        Command::new("tcpdump")
            .args(["-i", "lo", "-n", "-U", "--immediate-mode", "-w"])
            .arg(&file)
            .args(["tcp", "port", &port]),
        true,
        "listening on",
    );
    let curl = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            &format!("http://127.0.0.1:{port}/"),
        ])
        .status()
        .unwrap();
    assert!(curl.success());
    std::thread::sleep(Duration::from_millis(500));
    let tcpdump_pid = nix::unistd::Pid::from_raw(tcpdump.id() as i32);
    nix::sys::signal::kill(tcpdump_pid, nix::sys::signal::SIGINT).unwrap();
    tcpdump.wait().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    let (out, records) = analyze(&file);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0]["request"];
    assert_eq!(
        (&r["method"], &r["target"], &r["status"], &r["protocol"]),
        (&json!("GET"), &json!("/"), &json!(200), &json!("http"))
    );
    assert_eq!(r["server"]["port"].to_string(), port);
    assert!(r["latency_ns"].as_u64().unwrap() > 0, "{r}");
}
