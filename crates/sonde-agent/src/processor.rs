//! Stage 2: decodes records and runs them through the process table, on its
//! own thread; passes each batch's events to the store writer through a
//! bounded queue.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use sonde_bpf::decode::{decode, Record};
use sonde_event::{Event, TcpEnd};

use crate::network_events::NetworkEvents;
use crate::process_table::ProcessTable;
use crate::record_batch::RecordBatch;
use crate::stats::Stats;
use crate::udp_flows::UdpReporter;

const GC_EVERY: Duration = Duration::from_secs(30);

pub fn run(
    mut table: ProcessTable,
    network: NetworkEvents,
    mut udp: UdpReporter,
    udp_every: Duration,
    records: Receiver<RecordBatch>,
    events: Sender<Vec<Event>>,
    stats: Arc<Stats>,
) {
    let mut last_gc = Instant::now();
    let mut last_udp = Instant::now();
    loop {
        match records.recv_timeout(udp_every.min(Duration::from_secs(1))) {
            Ok(batch) => {
                let out: Vec<Event> = batch
                    .iter()
                    .filter_map(|r| handle(&mut table, &network, r, &stats))
                    .collect();
                forward(&events, out, &stats);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if last_udp.elapsed() >= udp_every {
            let flows: Vec<Event> = udp.report(&table).into_iter().map(Event::UdpFlow).collect();
            stats.udp_events.fetch_add(flows.len() as u64, Relaxed);
            forward(&events, flows, &stats);
            last_udp = Instant::now();
        }
        if last_gc.elapsed() >= GC_EVERY {
            let dropped = table.collect_garbage();
            if dropped > 0 {
                tracing::debug!(dropped, "process table entries whose exit was missed");
            }
            last_gc = Instant::now();
        }
        stats
            .process_table_size
            .store(table.entry_count() as u64, Relaxed);
    }
}

fn handle(
    table: &mut ProcessTable,
    network: &NetworkEvents,
    bytes: &[u8],
    stats: &Stats,
) -> Option<Event> {
    match decode(bytes) {
        Ok(Record::Fork(fork)) => {
            table.on_fork(&fork);
            None
        }
        Ok(Record::Exec(rec)) => {
            let exec = table.on_exec(&rec);
            if exec.process.argv_truncated {
                stats.argv_truncated.fetch_add(1, Relaxed);
            }
            stats.exec_events.fetch_add(1, Relaxed);
            Some(Event::ProcessExec(exec))
        }
        Ok(Record::Exit(exit)) => {
            let (exit, known) = table.on_exit(&exit);
            if !known {
                stats.exits_unknown_process.fetch_add(1, Relaxed);
            }
            stats.exit_events.fetch_add(1, Relaxed);
            Some(Event::ProcessExit(exit))
        }
        Ok(Record::Tcp(tcp)) => {
            stats.tcp_events.fetch_add(1, Relaxed);
            let connection = network.tcp(table, &tcp);
            if connection.end != TcpEnd::Open {
                stats.count_closed_connection(&connection);
            }
            Some(Event::TcpConnection(connection))
        }
        Ok(Record::Drop(drop)) => {
            stats.drop_events.fetch_add(1, Relaxed);
            Some(Event::PacketDrop(network.drop(table, &drop)))
        }
        Err(e) => {
            tracing::debug!(error = %e, "undecodable ring buffer record");
            stats.count_decode_error(&e);
            None
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
