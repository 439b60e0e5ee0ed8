//! Drains a profiler's ring buffer into a [`Collector`] until told to stop.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use libbpf_rs::RingBufferBuilder;
use sonde_bpf::abi::EVENT_SAMPLE;
use sonde_bpf::decode::{decode, DecodeError, Record};
use sonde_bpf::{BpfError, ProfileProgram};

use super::collector::Collector;
use crate::stats::Stats;

/// Samples below the ring's wake-up mark wait at most this long.
const DRAIN_EVERY: Duration = Duration::from_millis(100);

/// Feeds every sample of `program` to `collector`, calling `tick` after each
/// drain until it breaks.
pub fn run(
    program: &ProfileProgram,
    collector: &RefCell<Collector>,
    stats: &Stats,
    mut tick: impl FnMut(&mut Collector) -> ControlFlow<()>,
) -> Result<(), BpfError> {
    let ring = program.events()?;
    let mut builder = RingBufferBuilder::new();
    builder
        .add(&ring, |bytes| {
            stats.records[usize::from(EVENT_SAMPLE)].fetch_add(1, Relaxed);
            match decode(bytes) {
                Ok(Record::Sample(sample)) => collector.borrow_mut().add(&sample),
                // Only samples are written to this ring.
                Ok(_) => stats.count_decode_error(&DecodeError::UnknownType(EVENT_SAMPLE)),
                Err(e) => stats.count_decode_error(&e),
            }
            0
        })
        .map_err(|source| BpfError::Map {
            map: "events",
            source,
        })?;
    let ring = builder.build().map_err(|source| BpfError::Map {
        map: "events",
        source,
    })?;
    loop {
        // A wake-up (a process's first sample, or a backlog) ends the wait
        // early; otherwise what is waiting is taken on the timer.
        let drained = ring.poll(DRAIN_EVERY).and_then(|()| ring.consume());
        if let Err(e) = drained {
            tracing::warn!(error = %e, "reading the profiler's ring buffer");
        }
        if tick(&mut collector.borrow_mut()).is_break() {
            let _ = ring.consume();
            return Ok(());
        }
    }
}

/// Copies the kernel's counters of `program` into `stats`.
pub fn read_kernel_counters(program: &ProfileProgram, stats: &Stats) {
    if let Ok(counters) = program.counters().and_then(|c| c.read()) {
        for (slot, n) in stats.profiler.kernel.iter().zip(counters) {
            slot.store(n, Relaxed);
        }
    }
    if let Ok(lost) = program.lost_counter().and_then(|c| c.read()) {
        let n = lost.get(usize::from(EVENT_SAMPLE)).copied().unwrap_or(0);
        stats.kernel_lost[usize::from(EVENT_SAMPLE)].store(n, Relaxed);
    }
}
