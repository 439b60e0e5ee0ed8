//! On-demand profiles: one process, one container or every process, at up
//! to 999 Hz, for a given time; answered directly, not stored.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sonde_bpf::{BpfError, ProfileOptions, ProfileProgram};
use sonde_event::{ExecIds, Profile, Timestamp};

use super::collector::Collector;
use super::identity::Identities;
use super::sampler;
use super::target::Target;
use crate::clock::BootClock;
use crate::stats::Stats;

pub const MAX_HZ: u32 = 999;
pub const MAX_DURATION: Duration = Duration::from_secs(300);
/// Sessions that may run at once (each samples every CPU).
const MAX_SESSIONS: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRequest {
    pub target: Target,
    pub duration: Duration,
    pub hz: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("hz must be between 1 and {MAX_HZ}, not {0}")]
    Hz(u32),
    #[error("duration must be between 1 ms and {} s", MAX_DURATION.as_secs())]
    Duration,
    #[error("no process with pid {0}")]
    NoSuchProcess(u32),
    #[error("{MAX_SESSIONS} profiles are being taken already; try again when one ends")]
    Busy,
    #[error(transparent)]
    Bpf(#[from] BpfError),
    #[error(transparent)]
    Symbolizer(#[from] sonde_symbolize::SymbolizeError),
}

impl SessionError {
    /// Whether the request itself was wrong (rather than the agent).
    pub fn is_bad_request(&self) -> bool {
        matches!(
            self,
            SessionError::Hz(_) | SessionError::Duration | SessionError::NoSuchProcess(_)
        )
    }
}

/// Takes on-demand profiles; shared by the API's request handlers.
pub struct Sessions {
    ids: ExecIds,
    clock: BootClock,
    table_seeded_before_ns: u64,
    copy_stack: bool,
    ring_bytes: u32,
    stats: Arc<Stats>,
    active: AtomicUsize,
}

impl Sessions {
    pub fn new(
        ids: ExecIds,
        clock: BootClock,
        table_seeded_before_ns: u64,
        copy_stack: bool,
        stats: Arc<Stats>,
    ) -> Self {
        Sessions {
            ids,
            clock,
            table_seeded_before_ns,
            copy_stack,
            ring_bytes: 16 << 20,
            stats,
            active: AtomicUsize::new(0),
        }
    }

    /// Samples for `request.duration` (blocking), then returns one profile
    /// per process sampled.
    pub fn take(&self, request: &ProfileRequest) -> Result<Vec<Profile>, SessionError> {
        if !(1..=MAX_HZ).contains(&request.hz) {
            return Err(SessionError::Hz(request.hz));
        }
        if request.duration.is_zero() || request.duration > MAX_DURATION {
            return Err(SessionError::Duration);
        }
        if let Target::Pid(pid) = request.target {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                return Err(SessionError::NoSuchProcess(pid));
            }
        }
        let _slot = Slot::take(&self.active).ok_or(SessionError::Busy)?;
        self.stats.profiler.sessions.fetch_add(1, Relaxed);
        let taken = self.sample(request);
        if taken.is_err() {
            self.stats.profiler.session_failures.fetch_add(1, Relaxed);
        }
        taken
    }

    fn sample(&self, request: &ProfileRequest) -> Result<Vec<Profile>, SessionError> {
        let program = ProfileProgram::load(ProfileOptions {
            hz: request.hz,
            pid: request.target.pid(),
            copy_stack: self.copy_stack,
            ring_bytes: self.ring_bytes,
        })?;
        let identities = Identities::new(self.ids.clone(), self.clock, self.table_seeded_before_ns);
        let collector = RefCell::new(Collector::new(
            request.hz,
            request.target.clone(),
            identities,
            self.stats.clone(),
        )?);
        let end = Instant::now() + request.duration;
        sampler::run(&program, &collector, &self.stats, |_| {
            if Instant::now() >= end {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        // Sampling stops before the window is closed and symbolized.
        drop(program);
        let (profiles, _) = collector.borrow_mut().finish(Timestamp::now());
        Ok(profiles)
    }
}

/// One of the session slots, given back on drop.
struct Slot<'a>(&'a AtomicUsize);

impl<'a> Slot<'a> {
    fn take(active: &'a AtomicUsize) -> Option<Self> {
        active
            .fetch_update(Relaxed, Relaxed, |n| (n < MAX_SESSIONS).then_some(n + 1))
            .ok()
            .map(|_| Slot(active))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}
