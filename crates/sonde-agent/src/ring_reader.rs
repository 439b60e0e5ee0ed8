//! Stage 1: drains the kernel ring buffer on its own thread and hands raw
//! records to the processor through a bounded queue. Never blocks the
//! kernel side: when the queue is full the record is dropped and counted.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use libbpf_rs::{MapHandle, RingBufferBuilder};
use sonde_bpf::LostCounter;

use crate::stats::Stats;

const POLL: Duration = Duration::from_millis(100);
const LOST_READ_EVERY: Duration = Duration::from_secs(1);

pub fn run(
    ring: MapHandle,
    lost: LostCounter,
    queue: Sender<Vec<u8>>,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
) {
    let counts = stats.clone();
    let mut builder = RingBufferBuilder::new();
    let added = builder.add(&ring, move |bytes: &[u8]| {
        let kind = bytes.first().copied().unwrap_or(0) as usize;
        if let Some(n) = counts.records.get(kind) {
            n.fetch_add(1, Relaxed);
        }
        match queue.try_send(bytes.to_vec()) {
            Ok(()) => 0,
            Err(TrySendError::Full(_)) => {
                counts.queue_dropped.fetch_add(1, Relaxed);
                0
            }
            Err(TrySendError::Disconnected(_)) => -1,
        }
    });
    let rb = match added.map(|_| ()).and_then(|()| builder.build()) {
        Ok(rb) => rb,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the kernel ring buffer");
            return;
        }
    };
    let mut last_lost_read = Instant::now();
    while !stop.load(Relaxed) {
        if let Err(e) = rb.poll(POLL) {
            if e.kind() != libbpf_rs::ErrorKind::Interrupted {
                tracing::error!(error = %e, "ring buffer poll failed");
                break;
            }
        }
        if last_lost_read.elapsed() >= LOST_READ_EVERY {
            read_lost(&lost, &stats);
            last_lost_read = Instant::now();
        }
    }
    // Whatever the kernel wrote before the stop is still delivered.
    let _ = rb.consume();
    read_lost(&lost, &stats);
}

fn read_lost(lost: &LostCounter, stats: &Stats) {
    match lost.read() {
        Ok(counts) => {
            for (slot, n) in stats.kernel_lost.iter().zip(counts) {
                slot.store(n, Relaxed);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read kernel loss counters"),
    }
}
