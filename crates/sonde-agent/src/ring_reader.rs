//! Stage 1: drains the kernel ring buffers on its own thread and hands the
//! records, one batch per drain, to the processor through a bounded queue.
//! Never blocks the kernel side: when the queue is full the batch is dropped
//! and its records counted.
//!
//! Order across rings: a record in any other ring describes a process whose
//! fork and exec records, in the process ring, were written before it. Each
//! drain reads the process ring last and hands on the other rings' records
//! after the process ring's, so the processor always knows a record's
//! process image (an open made right after an exec names the new binary).
//! The other rings' records are merged in time order (their headers'
//! `ktime_ns`): a file open and the connect that followed it reach the
//! detection rules in that order, whichever ring each came from.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use libbpf_rs::{MapHandle, RingBufferBuilder};
use sonde_bpf::DRAIN_EVERY;

use crate::kernel_counters::KernelCounters;
use crate::record_batch::RecordBatch;
use crate::stats::Stats;

const COUNTERS_READ_EVERY: Duration = Duration::from_secs(1);
/// A batch is handed on once it holds this many records, even mid-drain.
const BATCH_RECORDS: usize = 4096;

struct Batcher {
    /// The process ring's records: handed on as they fill a batch.
    batch: RecordBatch,
    /// The other rings' records: held to the drain's end.
    late: RecordBatch,
    queue: Sender<RecordBatch>,
    stats: Arc<Stats>,
}

impl Batcher {
    fn push(&mut self, record: &[u8], late: bool) {
        let kind = record.first().copied().unwrap_or(0) as usize;
        if let Some(n) = self.stats.records.get(kind) {
            n.fetch_add(1, Relaxed);
        }
        if late {
            self.late.push(record);
        } else {
            self.batch.push(record);
            if self.batch.len() >= BATCH_RECORDS {
                let batch = std::mem::take(&mut self.batch);
                self.send(batch);
            }
        }
    }

    /// The drain's end: the process ring's records, then the others.
    fn flush(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        self.send(batch);
        let late = std::mem::take(&mut self.late).sorted_by_time();
        self.send(late);
    }

    fn send(&self, batch: RecordBatch) {
        if batch.is_empty() {
            return;
        }
        if let Err(TrySendError::Full(batch) | TrySendError::Disconnected(batch)) =
            self.queue.try_send(batch)
        {
            self.stats
                .queue_dropped
                .fetch_add(batch.len() as u64, Relaxed);
        }
    }
}

/// `process_ring` carries fork, exec and exit records; `rings` the rest.
pub fn run(
    process_ring: MapHandle,
    rings: Vec<MapHandle>,
    counters: KernelCounters,
    queue: Sender<RecordBatch>,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
) {
    let batcher = Rc::new(RefCell::new(Batcher {
        batch: RecordBatch::default(),
        late: RecordBatch::default(),
        queue,
        stats: stats.clone(),
    }));
    let mut builder = RingBufferBuilder::new();
    // libbpf consumes rings in the order they were added: the process ring last.
    let ordered = rings.iter().map(|r| (r, true));
    for (ring, late) in ordered.chain([(&process_ring, false)]) {
        let sink = batcher.clone();
        if let Err(e) = builder.add(ring, move |record: &[u8]| {
            sink.borrow_mut().push(record, late);
            0
        }) {
            tracing::error!(error = %e, "cannot read a kernel ring buffer");
            return;
        }
    }
    let rb = match builder.build() {
        Ok(rb) => rb,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the kernel ring buffers");
            return;
        }
    };
    // Once now, so that every counter series exists from the first scrape.
    counters.read_into(&stats);
    let mut last_counters_read = Instant::now();
    while !stop.load(Relaxed) {
        // The kernel wakes us only for a backlog; the timeout drains the rest.
        let drained = rb.poll(DRAIN_EVERY).and_then(|()| rb.consume());
        if let Err(e) = drained {
            if e.kind() != libbpf_rs::ErrorKind::Interrupted {
                tracing::error!(error = %e, "ring buffer poll failed");
                break;
            }
        }
        batcher.borrow_mut().flush();
        if last_counters_read.elapsed() >= COUNTERS_READ_EVERY {
            counters.read_into(&stats);
            last_counters_read = Instant::now();
        }
    }
    // Whatever the kernel wrote before the stop is still delivered.
    let _ = rb.consume();
    batcher.borrow_mut().flush();
    counters.read_into(&stats);
}
