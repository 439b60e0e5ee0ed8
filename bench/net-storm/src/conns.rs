//! `net-storm conns`: the connection storm, and with `--server`: sonde's
//! final records of it, exactly two per connection (connect and accept).

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use crate::api::TcpRecord;
use crate::cli::ConnsArgs;
use crate::probe::{self, Probe};
use crate::{report, storm};

/// Records are looked for this far around the storm (clock conversion).
const SLACK_NS: u64 = 1_000_000_000;

pub fn run(args: &ConnsArgs) -> anyhow::Result<()> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = args.workers.unwrap_or(2 * cpus);
    let acceptors = args.acceptors.unwrap_or(cpus);
    let probe = Probe::new(&args.agent);
    let before = probe.as_ref().map(Probe::sample).transpose()?;
    let outcome = storm::run(Duration::from_secs_f64(args.duration), workers, acceptors)?;
    let run_end_ticks = probe.as_ref().map(Probe::ticks).transpose()?;
    let elapsed_s = outcome.elapsed.as_secs_f64();
    let agent = match (&probe, &before, run_end_ticks) {
        (Some(probe), Some(before), Some(ticks)) => Some(measure(probe, before, ticks, &outcome)?),
        _ => None,
    };
    let result = json!({
        "kind": "conns",
        "label": args.output.label,
        "cpus": cpus,
        "workers": workers,
        "acceptors": acceptors,
        "server": outcome.server.to_string(),
        "duration_s": args.duration,
        "elapsed_s": elapsed_s,
        "connections": outcome.connections,
        "accepted": outcome.accepted,
        "connect_failed": outcome.connect_failed,
        "io_failed": outcome.io_failed,
        "first_error": outcome.first_error,
        "conns_per_s": outcome.connections as f64 / elapsed_s,
        "agent": agent,
    });
    report::emit(&result, args.output.json);
    Ok(())
}

fn measure(
    probe: &Probe,
    before: &probe::Sample,
    run_end_ticks: u64,
    outcome: &storm::Outcome,
) -> anyhow::Result<Value> {
    let (after, settled) = probe.wait_idle()?;
    let mut m = probe::measure(before, &after, run_end_ticks, outcome.elapsed.as_secs_f64());
    let (since, until) = (outcome.start_ns - SLACK_NS, outcome.end_ns + SLACK_NS);
    let mut tally = Tally::new(outcome.server);
    let requests = probe
        .api
        .tcp_events(outcome.server.port(), since, until, &mut |r| tally.add(r))?;
    let expected = 2 * outcome.connections;
    let recorded = tally.connect + tally.accept + tally.unknown;
    let missing = expected.saturating_sub(recorded);
    let bound = m["tcp_loss_bound"].as_u64().unwrap_or(0);
    let cpu_all = m["cpu_s_incl_drain"].as_f64().unwrap_or(0.0);
    let extra = json!({
        "expected": expected,
        "recorded": recorded,
        "recorded_ratio": recorded as f64 / expected.max(1) as f64,
        "missing": missing,
        "unexplained_missing": missing.saturating_sub(bound),
        "surplus": recorded.saturating_sub(expected),
        "final_connect": tally.connect,
        "final_accept": tally.accept,
        "final_unknown_direction": tally.unknown,
        "interim": tally.interim,
        "duplicates": tally.duplicates,
        "foreign": tally.foreign,
        "not_closed_by_fin": tally.not_closed,
        "byte_mismatches": tally.byte_mismatch,
        "byte_mismatch_kinds": tally.mismatch_kinds,
        "byte_mismatch_example": tally.example,
        "without_process": tally.no_process,
        "other_process": tally.other_process,
        "settled": settled,
        "requests": requests,
        "cpu_us_per_conn": 1e6 * cpu_all / outcome.connections.max(1) as f64,
    });
    if let (Some(m), Value::Object(extra)) = (m.as_object_mut(), extra) {
        m.extend(extra);
    }
    Ok(m)
}

/// Final records of the storm, by kind, each counted once.
struct Tally {
    server: SocketAddr,
    seen: HashSet<(String, String, SocketAddr, SocketAddr)>,
    connect: u64,
    accept: u64,
    unknown: u64,
    interim: u64,
    duplicates: u64,
    foreign: u64,
    not_closed: u64,
    byte_mismatch: u64,
    /// `direction sent/received state` -> records, of the mismatches.
    mismatch_kinds: BTreeMap<String, u64>,
    no_process: u64,
    /// Owned by a process other than this one.
    other_process: u64,
    example: Option<String>,
}

impl Tally {
    fn new(server: SocketAddr) -> Tally {
        Tally {
            server,
            seen: HashSet::new(),
            connect: 0,
            accept: 0,
            unknown: 0,
            interim: 0,
            duplicates: 0,
            foreign: 0,
            not_closed: 0,
            byte_mismatch: 0,
            mismatch_kinds: BTreeMap::new(),
            no_process: 0,
            other_process: 0,
            example: None,
        }
    }

    fn add(&mut self, r: TcpRecord) {
        if !r.is_final() {
            self.interim += 1;
            return;
        }
        let local = SocketAddr::new(r.local.ip, r.local.port);
        let remote = SocketAddr::new(r.remote.ip, r.remote.port);
        // The client sent 1 byte and received none; the server the reverse.
        let (ours, bytes_ok) = match r.direction.as_str() {
            "connect" => (
                remote == self.server,
                (r.bytes_sent, r.bytes_received) == (1, 0),
            ),
            "accept" => (
                local == self.server,
                (r.bytes_sent, r.bytes_received) == (0, 1),
            ),
            _ => (local == self.server || remote == self.server, true),
        };
        if !ours {
            self.foreign += 1;
            return;
        }
        if !self
            .seen
            .insert((r.time.clone(), r.direction.clone(), local, remote))
        {
            self.duplicates += 1;
            return;
        }
        match r.direction.as_str() {
            "connect" => self.connect += 1,
            "accept" => self.accept += 1,
            _ => self.unknown += 1,
        }
        self.not_closed += u64::from(r.end != "closed");
        match &r.process {
            None => self.no_process += 1,
            Some(p) if p.pid != std::process::id() => self.other_process += 1,
            Some(_) => {}
        }
        if !bytes_ok {
            self.byte_mismatch += 1;
            let kind = format!(
                "{} sent={} received={} state={}",
                r.direction, r.bytes_sent, r.bytes_received, r.state
            );
            *self.mismatch_kinds.entry(kind).or_default() += 1;
            self.example.get_or_insert_with(|| format!("{r:?}"));
        }
    }
}
