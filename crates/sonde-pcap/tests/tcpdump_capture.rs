//! Real captures: tcpdump records a TCP exchange on the loopback interface,
//! and the rebuilt streams must equal exactly the bytes sent.
//!
//! Needs `tcpdump` (Debian package `tcpdump`) and root; skips with a printed
//! reason without them.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use sonde_pcap::{Direction, StreamEvent, Transport};
use support::{read_all, stream};

/// Captures tried per variant when the kernel drops packets.
const ATTEMPTS: u32 = 3;
/// How long tcpdump may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

#[test]
fn tcpdump_captures_rebuild_to_the_bytes_sent() {
    if let Some(reason) = missing_prerequisite() {
        eprintln!("SKIPPED tcpdump_captures_rebuild_to_the_bytes_sent: {reason}");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || serve(listener));
    let dir = tempfile::tempdir().unwrap();

    let mut variants: Vec<(&str, Vec<&str>)> = vec![
        ("pcap, microseconds, lo", vec!["-i", "lo"]),
        (
            "pcap, nanoseconds, lo",
            vec!["-i", "lo", "--time-stamp-precision", "nano"],
        ),
        ("pcap, Linux cooked (SLL2), any", vec!["-i", "any"]),
    ];
    if tcpdump_writes_pcapng() {
        variants.push(("pcapng, lo", vec!["-i", "lo", "--pcapng"]));
    } else {
        eprintln!(
            "SKIPPED the pcapng variant: this tcpdump cannot write pcapng (no --pcapng option)"
        );
    }
    for (i, (name, args)) in variants.into_iter().enumerate() {
        let file = dir.path().join(format!("capture-{i}"));
        let request = pattern(i, 200_000);
        for attempt in 1..=ATTEMPTS {
            let tcpdump = Tcpdump::start(&args, &file, port);
            let (client_port, response) = exchange(port, &request);
            let dropped = tcpdump.stop(&file);
            let expected: Vec<u8> = request.iter().rev().copied().collect();
            assert!(response == expected, "{name}: the server's answer is wrong");
            if dropped > 0 {
                // The capture itself is incomplete: nothing to check it against.
                eprintln!("{name}: the kernel dropped {dropped} packets (attempt {attempt})");
                assert!(
                    attempt < ATTEMPTS,
                    "{name}: the kernel dropped packets on every attempt"
                );
                continue;
            }
            check(name, &file, client_port, port, &request, &response);
            break;
        }
    }
    // An empty connection stops the server.
    drop(TcpStream::connect(("127.0.0.1", port)).map(|s| s.shutdown(Shutdown::Write)));
    server.join().unwrap();
}

/// Why the test cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        return Some("tcpdump is not installed (Debian package `tcpdump`)".into());
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned));
    if uid.as_deref() != Some("0") {
        return Some(format!("capturing needs root; effective uid is {uid:?}"));
    }
    None
}

fn tcpdump_writes_pcapng() -> bool {
    Command::new("tcpdump")
        .arg("--help")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).contains("--pcapng"))
        .unwrap_or(false)
}

/// Bytes that differ per position and per variant.
fn pattern(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed * 7) % 251) as u8)
        .collect()
}

/// A running tcpdump.
struct Tcpdump {
    child: Child,
    /// What it prints on stderr after "listening on".
    stderr: thread::JoinHandle<String>,
}

impl Tcpdump {
    /// Starts tcpdump writing `file` for traffic on `port`, and waits until
    /// it listens.
    fn start(args: &[&str], file: &Path, port: u16) -> Tcpdump {
        let mut child = Command::new("tcpdump")
            .args(args)
            // Immediate mode: packets reach the file as they come, not when
            // a kernel buffer block fills or times out; a 32 MiB buffer so
            // loopback bursts of 64 KiB segments are not dropped.
            .args(["-n", "--immediate-mode", "-U", "-B", "32768", "-w"])
            .arg(file)
            .args(["tcp", "port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcpdump");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let stderr = thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = tx.send(Ok(()));
                    break;
                }
                let _ = tx.send(Err(line));
            }
            // Keep reading so tcpdump never blocks on a full pipe.
            lines.map_while(Result::ok).collect::<Vec<_>>().join("\n")
        });
        loop {
            match rx.recv_timeout(START_TIMEOUT) {
                Ok(Ok(())) => return Tcpdump { child, stderr },
                Ok(Err(line)) => eprintln!("tcpdump: {line}"),
                Err(_) => {
                    let _ = child.kill();
                    panic!("tcpdump did not start listening within {START_TIMEOUT:?}");
                }
            }
        }
    }

    /// Waits until `file` stops growing, then stops tcpdump with SIGINT (so
    /// it flushes the file), waits for it, and returns how many packets it
    /// says the kernel dropped.
    fn stop(mut self, file: &Path) -> u64 {
        let size = || std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        let mut last = size();
        for _ in 0..50 {
            thread::sleep(Duration::from_millis(200));
            let now = size();
            if now == last && now > 0 {
                break;
            }
            last = now;
        }
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(
            exit.success() || exit.code().is_none(),
            "tcpdump exited with {exit}"
        );
        let stderr = self.stderr.join().unwrap();
        stderr
            .lines()
            .find_map(|l| l.strip_suffix(" packets dropped by kernel"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no drop count in tcpdump's output: {stderr}"))
    }
}

/// The server: for each connection, reads the request until the client's
/// FIN, sends it back reversed, then closes. A connection that sends nothing
/// stops it.
fn serve(listener: TcpListener) {
    for conn in listener.incoming() {
        let mut conn = conn.unwrap();
        let mut request = Vec::new();
        conn.read_to_end(&mut request).unwrap();
        if request.is_empty() {
            return;
        }
        request.reverse();
        conn.write_all(&request).unwrap();
    }
}

/// Sends `request`, half-closes, reads the whole response, and returns the
/// client's port.
fn exchange(port: u16, request: &[u8]) -> (u16, Vec<u8>) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let client_port = conn.local_addr().unwrap().port();
    conn.write_all(request).unwrap();
    conn.shutdown(Shutdown::Write).unwrap();
    let mut response = Vec::new();
    conn.read_to_end(&mut response).unwrap();
    (client_port, response)
}

/// Reads the capture and compares its one flow with what was sent.
fn check(name: &str, file: &Path, client_port: u16, port: u16, request: &[u8], response: &[u8]) {
    let bytes = std::fs::read(file).unwrap();
    let (events, error, stats) = read_all(&bytes);
    assert!(error.is_none(), "{name}: {error:?}");
    let opens: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Open { flow, key, .. } => Some((*flow, *key)),
            _ => None,
        })
        .collect();
    assert_eq!(opens.len(), 1, "{name}: {opens:?}");
    let (flow, key) = opens[0];
    assert_eq!(key.transport, Transport::Tcp, "{name}");
    assert_eq!(
        (key.initiator.port(), key.responder.port()),
        (client_port, port),
        "{name}"
    );
    let sent = stream(&events, flow, Direction::Egress);
    let received = stream(&events, flow, Direction::Ingress);
    assert!(
        sent == request,
        "{name}: egress stream differs ({} of {} bytes)",
        sent.len(),
        request.len()
    );
    assert!(
        received == response,
        "{name}: ingress stream differs ({} of {} bytes)",
        received.len(),
        response.len()
    );
    assert!(
        !events.iter().any(|e| matches!(e, StreamEvent::Gap { .. })),
        "{name}"
    );
    assert!(
        matches!(events.last(), Some(StreamEvent::Close { .. })),
        "{name}"
    );
    assert_eq!(
        (stats.malformed, stats.tcp_gap_bytes, stats.flows),
        (0, 0, 1),
        "{name}: {stats:?}"
    );
    eprintln!(
        "{name}: {} packets, {} bytes each way rebuilt",
        stats.packets,
        request.len()
    );
}
