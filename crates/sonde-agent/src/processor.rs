//! Stage 2: decodes records and runs them through the process table and the
//! request path, on its own thread; passes each batch's events to the store
//! writer through a bounded queue.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use sonde_bpf::decode::{decode, Record};
use sonde_event::{Event, TcpEnd};

use crate::clock::BootClock;
use crate::enforce::{self, RuleNames};
use crate::network_events::NetworkEvents;
use crate::process_table::ProcessTable;
use crate::record_batch::RecordBatch;
use crate::requests::RequestTracker;
use crate::security_events::SecurityEvents;
use crate::stats::Stats;
use crate::tls_libraries::TlsWatcher;
use crate::udp_flows::UdpReporter;

const GC_EVERY: Duration = Duration::from_secs(30);
/// Request timeouts and views waiting for their twin are checked this often.
const REQUESTS_TICK: Duration = Duration::from_millis(100);
/// New OpenSSL libraries are looked for this often.
const TLS_SCAN_EVERY: Duration = Duration::from_secs(5);

/// Everything the processor thread owns.
pub struct Processor {
    pub table: ProcessTable,
    pub network: NetworkEvents,
    pub udp: UdpReporter,
    pub udp_every: Duration,
    pub requests: RequestTracker,
    pub tls: TlsWatcher,
    pub security: SecurityEvents,
    /// Names of the enforcement rules the kernel reports by id.
    pub enforce_names: RuleNames,
    pub clock: BootClock,
}

pub fn run(
    mut p: Processor,
    records: Receiver<RecordBatch>,
    events: Sender<Vec<Event>>,
    stats: Arc<Stats>,
) {
    let mut last_gc = Instant::now();
    let mut last_udp = Instant::now();
    let mut last_tick = Instant::now();
    let mut last_tls = Instant::now();
    loop {
        match records.recv_timeout(REQUESTS_TICK) {
            Ok(batch) => {
                let mut out = Vec::new();
                for r in batch.iter() {
                    handle(&mut p, r, &stats, &mut out);
                }
                forward(&events, out, &stats);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if last_tick.elapsed() >= REQUESTS_TICK {
            let mut out = Vec::new();
            p.requests.tick(&mut out);
            forward(
                &events,
                out.into_iter()
                    .map(|r| Event::Request(Box::new(r)))
                    .collect(),
                &stats,
            );
            last_tick = Instant::now();
        }
        if last_udp.elapsed() >= p.udp_every {
            let flows: Vec<Event> = p
                .udp
                .report(&p.table)
                .into_iter()
                .map(Event::UdpFlow)
                .collect();
            stats.udp_events.fetch_add(flows.len() as u64, Relaxed);
            forward(&events, flows, &stats);
            last_udp = Instant::now();
        }
        if last_tls.elapsed() >= TLS_SCAN_EVERY {
            p.tls.scan(&stats);
            last_tls = Instant::now();
        }
        if last_gc.elapsed() >= GC_EVERY {
            let dropped = p.table.collect_garbage();
            if dropped > 0 {
                tracing::debug!(dropped, "process table entries whose exit was missed");
            }
            last_gc = Instant::now();
        }
        stats
            .process_table_size
            .store(p.table.entry_count() as u64, Relaxed);
    }
}

fn handle(p: &mut Processor, bytes: &[u8], stats: &Stats, out: &mut Vec<Event>) {
    match decode(bytes) {
        Ok(Record::Fork(fork)) => p.table.on_fork(&fork),
        Ok(Record::Exec(rec)) => {
            let exec = p.table.on_exec(&rec);
            if exec.process.argv_truncated {
                stats.argv_truncated.fetch_add(1, Relaxed);
            }
            stats.exec_events.fetch_add(1, Relaxed);
            out.push(Event::ProcessExec(exec));
        }
        Ok(Record::Exit(exit)) => {
            let (exit, known) = p.table.on_exit(&exit);
            if !known {
                stats.exits_unknown_process.fetch_add(1, Relaxed);
            }
            stats.exit_events.fetch_add(1, Relaxed);
            out.push(Event::ProcessExit(exit));
        }
        Ok(Record::Tcp(tcp)) => {
            stats.tcp_events.fetch_add(1, Relaxed);
            let connection = p.network.tcp(&p.table, &tcp);
            if connection.end != TcpEnd::Open {
                stats.count_closed_connection(&connection);
                p.requests.on_tcp_close(tcp.conn_id, tcp.hdr.ktime_ns);
            }
            out.push(Event::TcpConnection(connection));
        }
        Ok(Record::Listen(listen)) => {
            stats.listen_events.fetch_add(1, Relaxed);
            out.push(Event::Listen(p.network.listen(&p.table, &listen)));
        }
        Ok(Record::Drop(drop)) => {
            stats.drop_events.fetch_add(1, Relaxed);
            out.push(Event::PacketDrop(p.network.drop(&p.table, &drop)));
        }
        Ok(Record::File(rec)) => {
            if let Some(e) = p.security.file(&p.table, &rec, &stats.security) {
                out.push(Event::File(Box::new(e)));
            }
        }
        Ok(Record::Security(rec)) => {
            if let Some(e) = p.security.security(&p.table, &rec, &stats.security) {
                out.push(Event::Security(Box::new(e)));
            }
        }
        Ok(Record::Data(data)) => {
            let mut requests = Vec::new();
            p.requests.on_data(&data, &p.table, &mut requests);
            out.extend(requests.into_iter().map(|r| Event::Request(Box::new(r))));
        }
        // Samples have a ring and a thread of their own (`profiling`).
        Ok(Record::Sample(_)) => {
            stats.count_decode_error(&sonde_bpf::decode::DecodeError::UnknownType(
                sonde_bpf::abi::EVENT_SAMPLE,
            ));
        }
        Ok(Record::Enforce(ev)) => {
            match enforce::enforcement(&ev, &p.enforce_names, &p.table, p.clock) {
                Some(e) => {
                    stats.security.count_enforcement(&e);
                    out.push(Event::Enforcement(Box::new(e)));
                }
                None => stats.count_decode_error(&sonde_bpf::decode::DecodeError::UnknownType(
                    sonde_bpf::abi::EVENT_ENFORCE,
                )),
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "undecodable ring buffer record");
            stats.count_decode_error(&e);
        }
    }
}

fn forward(events: &Sender<Vec<Event>>, batch: Vec<Event>, stats: &Stats) {
    if batch.is_empty() {
        return;
    }
    if let Err(TrySendError::Full(batch)) = events.try_send(batch) {
        stats
            .store_queue_dropped
            .fetch_add(batch.len() as u64, Relaxed);
    }
}
