//! `net-storm bulk`: one loopback connection sending as fast as possible,
//! and with `--server`: whether sonde's two final records report exactly
//! the bytes sent and received.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};

use crate::api::TcpRecord;
use crate::cli::BulkArgs;
use crate::probe::{self, Probe};
use crate::report;
use bench_support::time::now_ns;

const SLACK_NS: u64 = 1_000_000_000;

struct Transfer {
    client: SocketAddr,
    server: SocketAddr,
    sent: u64,
    received: u64,
    elapsed: Duration,
    start_ns: u64,
    end_ns: u64,
}

pub fn run(args: &BulkArgs) -> anyhow::Result<()> {
    let probe = Probe::new(&args.agent);
    let before = probe.as_ref().map(Probe::sample).transpose()?;
    let t = transfer(Duration::from_secs_f64(args.duration), args.buffer.max(1))?;
    let run_end_ticks = probe.as_ref().map(Probe::ticks).transpose()?;
    let elapsed_s = t.elapsed.as_secs_f64();
    let agent = match (&probe, &before, run_end_ticks) {
        (Some(probe), Some(before), Some(ticks)) => {
            let (after, settled) = probe.wait_idle()?;
            let mut m = probe::measure(before, &after, ticks, elapsed_s);
            m["settled"] = settled.into();
            m["records"] = records(probe, &t)?;
            Some(m)
        }
        _ => None,
    };
    let result = json!({
        "kind": "bulk",
        "label": args.output.label,
        "buffer": args.buffer,
        "duration_s": args.duration,
        "elapsed_s": elapsed_s,
        "client": t.client.to_string(),
        "server": t.server.to_string(),
        "bytes_sent": t.sent,
        "bytes_received": t.received,
        "gbytes_per_s": t.sent as f64 / 1e9 / elapsed_s,
        "agent": agent,
    });
    report::emit(&result, args.output.json);
    Ok(())
}

fn transfer(duration: Duration, buffer: usize) -> anyhow::Result<Transfer> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let server = listener.local_addr()?;
    let start_ns = now_ns();
    let start = Instant::now();
    let receiver = std::thread::spawn(move || -> std::io::Result<u64> {
        let (mut stream, _) = listener.accept()?;
        let mut buf = vec![0u8; buffer];
        let mut received = 0u64;
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Ok(received), // the client's FIN; then close
                Ok(n) => received += n as u64,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    });
    let mut stream = TcpStream::connect(server)?;
    let client = stream.local_addr()?;
    let buf = vec![0x5au8; buffer];
    let end = start + duration;
    let mut sent = 0u64;
    while Instant::now() < end {
        match stream.write(&buf) {
            Ok(n) => sent += n as u64,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("bulk write"),
        }
    }
    drop(stream);
    let received = receiver
        .join()
        .map_err(|_| anyhow::anyhow!("the receiver panicked"))?
        .context("bulk read")?;
    Ok(Transfer {
        client,
        server,
        sent,
        received,
        elapsed: start.elapsed(),
        start_ns,
        end_ns: now_ns(),
    })
}

/// sonde's final records of the transfer's connection, checked against the
/// bytes the program wrote and read.
fn records(probe: &Probe, t: &Transfer) -> anyhow::Result<Value> {
    let mut finals: Vec<TcpRecord> = Vec::new();
    let mut interim = 0;
    let (since, until) = (t.start_ns - SLACK_NS, t.end_ns + SLACK_NS);
    probe
        .api
        .tcp_events(t.server.port(), since, until, &mut |r| {
            if !r.is_final() {
                interim += 1;
            } else {
                finals.push(r);
            }
        })?;
    let side = |direction: &str, local: SocketAddr| {
        finals
            .iter()
            .filter(|r| r.direction == direction)
            .filter(|r| SocketAddr::new(r.local.ip, r.local.port) == local)
            .collect::<Vec<_>>()
    };
    let connect = side("connect", t.client);
    let accept = side("accept", t.server);
    let one = |records: &[&TcpRecord]| {
        (records.len() == 1).then(|| {
            json!({"bytes_sent": records[0].bytes_sent, "bytes_received": records[0].bytes_received,
                   "end": records[0].end, "retransmits": records[0].retransmits})
        })
    };
    let exact = connect.len() == 1
        && accept.len() == 1
        && (connect[0].bytes_sent, connect[0].bytes_received) == (t.sent, 0)
        && (accept[0].bytes_sent, accept[0].bytes_received) == (0, t.received)
        && t.sent == t.received;
    Ok(json!({
        "finals": finals.len(),
        "interim": interim,
        "connect": one(&connect),
        "accept": one(&accept),
        "exact": exact,
    }))
}
