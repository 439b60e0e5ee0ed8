//! `net-storm oracle`: N loopback connections, the i-th sending i*7919 bytes
//! to the server and receiving i*104729. With both ends still open and all
//! data acknowledged, `ss -tin` is read; then the connections close (odd i:
//! the client first, even i: the server first; the other side reads EOF and
//! closes `--close-gap-ms` later, as a peer that closes later would), and
//! sonde's final records are compared with ss and with the program's counts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::api::TcpRecord;
use crate::cli::OracleArgs;
use crate::probe::{self, Probe};
use crate::{report, ss};
use bench_support::time::now_ns;

const SLACK_NS: u64 = 1_000_000_000;
const UP: u64 = 7919;
const DOWN: u64 = 104_729;

/// One end of one connection.
struct Side {
    conn: u64,
    name: &'static str,
    direction: &'static str,
    local: SocketAddr,
    peer: SocketAddr,
    sent: u64,
    received: u64,
}

pub fn run(args: &OracleArgs) -> anyhow::Result<()> {
    let Some(probe) = Probe::new(&args.agent) else {
        bail!("oracle needs --server and --agent-pid");
    };
    let before = probe.sample()?;
    let start_ns = now_ns();
    let start = Instant::now();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let mut pairs = Vec::new();
    let mut sides = Vec::new();
    for i in 1..=args.connections {
        let (client, server) = exchange(&listener, i * UP, i * DOWN)?;
        let (c, s) = (client.local_addr()?, server.local_addr()?);
        sides.push(side(i, "client", "connect", c, s, i * UP, i * DOWN));
        sides.push(side(i, "server", "accept", s, c, i * DOWN, i * UP));
        pairs.push((i, client, server));
    }
    let snapshot = settled_snapshot(port, sides.len())?;
    close(pairs, Duration::from_millis(args.close_gap_ms))?;
    let run_end_ticks = probe.ticks()?;
    let end_ns = now_ns();
    let (after, settled) = probe.wait_idle()?;
    let mut finals = Vec::new();
    probe
        .api
        .tcp_events(port, start_ns - SLACK_NS, end_ns + SLACK_NS, &mut |r| {
            if r.is_final() {
                finals.push(r);
            }
        })?;
    let rows: Vec<Value> = sides.iter().map(|s| row(s, &snapshot, &finals)).collect();
    let mut agent = probe::measure(
        &before,
        &after,
        run_end_ticks,
        start.elapsed().as_secs_f64(),
    );
    agent["settled"] = settled.into();
    let result = json!({
        "kind": "oracle",
        "label": args.output.label,
        "connections": args.connections,
        "close_gap_ms": args.close_gap_ms,
        "port": port,
        "finals": finals.len(),
        "rows": rows,
        "summary": summary(&rows),
        "agent": agent,
    });
    report::emit(&result, args.output.json);
    Ok(())
}

fn side(
    conn: u64,
    name: &'static str,
    direction: &'static str,
    local: SocketAddr,
    peer: SocketAddr,
    sent: u64,
    received: u64,
) -> Side {
    Side {
        conn,
        name,
        direction,
        local,
        peer,
        sent,
        received,
    }
}

/// A connection: `up` bytes to the server, then `down` bytes back.
fn exchange(listener: &TcpListener, up: u64, down: u64) -> anyhow::Result<(TcpStream, TcpStream)> {
    let mut client = TcpStream::connect(listener.local_addr()?)?;
    let (mut server, _) = listener.accept()?;
    std::thread::scope(|s| {
        let c = s.spawn(|| -> std::io::Result<()> {
            client.write_all(&vec![b'u'; up as usize])?;
            client.read_exact(&mut vec![0; down as usize])
        });
        let r = server
            .read_exact(&mut vec![0; up as usize])
            .and_then(|()| server.write_all(&vec![b'd'; down as usize]));
        let c = c
            .join()
            .map_err(|_| anyhow::anyhow!("client thread panicked"))?;
        c.and(r).context("oracle exchange")
    })?;
    Ok((client, server))
}

/// `ss -tin` once every socket is there and nothing is unacknowledged.
fn settled_snapshot(port: u16, sockets: usize) -> anyhow::Result<Vec<ss::Socket>> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let snapshot = ss::snapshot(port)?;
        let done = snapshot.len() == sockets && snapshot.iter().all(|s| s.get("unacked") == 0);
        if done || Instant::now() >= deadline {
            return Ok(snapshot);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Odd connections: the client closes first; even ones: the server. The
/// other side closes `gap` later, after reading EOF.
fn close(pairs: Vec<(u64, TcpStream, TcpStream)>, gap: Duration) -> anyhow::Result<()> {
    let mut second = Vec::new();
    for (i, client, server) in pairs {
        let (first, later) = if i % 2 == 1 {
            (client, server)
        } else {
            (server, client)
        };
        drop(first);
        second.push(later);
    }
    std::thread::sleep(gap);
    for mut stream in second {
        let n = stream.read(&mut [0u8; 64]).context("reading EOF")?;
        if n != 0 {
            bail!("expected EOF, read {n} bytes");
        }
    }
    Ok(())
}

fn row(side: &Side, snapshot: &[ss::Socket], finals: &[TcpRecord]) -> Value {
    let ss = snapshot
        .iter()
        .find(|s| s.local == side.local && s.peer == side.peer);
    let records: Vec<&TcpRecord> = finals
        .iter()
        .filter(|r| r.direction == side.direction)
        .filter(|r| SocketAddr::new(r.local.ip, r.local.port) == side.local)
        .filter(|r| SocketAddr::new(r.remote.ip, r.remote.port) == side.peer)
        .collect();
    let sonde = (records.len() == 1).then(|| records[0]);
    let diff = |a: Option<u64>, b: Option<u64>| Some(a? as i64 - b? as i64);
    let ss_out = ss.map(|s| s.get("segs_out"));
    let ss_in = ss.map(|s| s.get("segs_in"));
    let sonde_out = sonde.map(|r| r.segments_sent);
    let sonde_in = sonde.map(|r| r.segments_received);
    json!({
        "conn": side.conn,
        "side": side.name,
        "closed_first": (side.conn % 2 == 1) == (side.name == "client"),
        "records": records.len(),
        "sent": side.sent,
        "received": side.received,
        "ss_sent": ss.map(ss::Socket::data_bytes_sent),
        "ss_received": ss.map(|s| s.get("bytes_received")),
        "ss_retrans": ss.map(|s| s.get("bytes_retrans")),
        "sonde_sent": sonde.map(|r| r.bytes_sent),
        "sonde_received": sonde.map(|r| r.bytes_received),
        "ss_segs_out": ss_out,
        "sonde_segs_out": sonde_out,
        "segs_out_diff": diff(sonde_out, ss_out),
        "ss_segs_in": ss_in,
        "sonde_segs_in": sonde_in,
        "segs_in_diff": diff(sonde_in, ss_in),
        "state": sonde.map(|r| r.state.clone()),
        "end": sonde.map(|r| r.end.clone()),
    })
}

fn summary(rows: &[Value]) -> Value {
    let field = |r: &Value, k: &str| r[k].as_u64();
    let exact = |r: &Value| {
        let sent = field(r, "sent");
        let received = field(r, "received");
        field(r, "ss_sent") == sent
            && field(r, "sonde_sent") == sent
            && field(r, "ss_received") == received
            && field(r, "sonde_received") == received
    };
    let mismatched: Vec<String> = rows
        .iter()
        .filter(|r| !exact(r))
        .map(|r| format!("{} {}", r["conn"], r["side"].as_str().unwrap_or("?")))
        .collect();
    let diffs = |k: &str| {
        rows.iter()
            .filter_map(|r| r[k].as_i64())
            .collect::<Vec<_>>()
    };
    let (out, inn) = (diffs("segs_out_diff"), diffs("segs_in_diff"));
    let range = |d: &[i64]| json!([d.iter().min(), d.iter().max()]);
    let teardown = !out.is_empty()
        && out.len() == rows.len()
        && inn.len() == rows.len()
        && out.iter().chain(&inn).all(|d| (0..=2).contains(d));
    json!({
        "sockets": rows.len(),
        "bytes_exact": rows.len() - mismatched.len(),
        "bytes_mismatched": mismatched,
        "without_record": rows.iter().filter(|r| r["records"] != 1).count(),
        "segs_out_diff_range": range(&out),
        "segs_in_diff_range": range(&inn),
        "segs_consistent_with_teardown": teardown,
    })
}
