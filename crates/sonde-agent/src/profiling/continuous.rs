//! Continuous profiling: every process, at a low rate, one profile per
//! process per window, stored like every other event.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use sonde_bpf::ProfileProgram;
use sonde_event::{Event, Timestamp};

use super::collector::Collector;
use super::sampler;
use crate::stats::Stats;

/// Runs until `stop`; the window in progress is written out on the way.
pub fn run(
    program: ProfileProgram,
    collector: Collector,
    window: Duration,
    events: Sender<Vec<Event>>,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
) {
    let collector = RefCell::new(collector);
    let mut window_end = Instant::now() + window;
    let result = sampler::run(&program, &collector, &stats, |collector| {
        let stopping = stop.load(Relaxed);
        if stopping || Instant::now() >= window_end {
            // From now: a window that took long to build does not make the
            // next ones short.
            window_end = Instant::now() + window;
            sampler::read_kernel_counters(&program, &stats);
            let (profiles, released) = collector.finish(Timestamp::now());
            for pid in released {
                program.forget_process(pid);
            }
            send(profiles, &events, &stats);
        }
        if stopping {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    if let Err(e) = result {
        tracing::error!(error = %e, "the continuous profiler stopped");
    }
}

fn send(profiles: Vec<sonde_event::Profile>, events: &Sender<Vec<Event>>, stats: &Stats) {
    if profiles.is_empty() {
        return;
    }
    let n = profiles.len() as u64;
    let batch = profiles
        .into_iter()
        .map(|p| Event::Profile(Box::new(p)))
        .collect();
    match events.try_send(batch) {
        Ok(()) => stats.profiler.profiles_written.fetch_add(n, Relaxed),
        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
            stats.profiler.profiles_dropped.fetch_add(n, Relaxed)
        }
    };
}
