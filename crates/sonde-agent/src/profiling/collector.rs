//! Aggregates samples into counts per distinct stack, per process, over one
//! window; then names every frame and yields one [`Profile`] per process.
//!
//! A process's mappings are read on its first sample (the kernel wakes the
//! reader for it), so a process that exits before its window ends is still
//! symbolized: its files stay open until the profile is built.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sonde_bpf::abi::STACK_DEPTH;
use sonde_bpf::decode::SampleRecord;
use sonde_event::{Frame, Profile, ProfileStats, StackCount, Timestamp, Workload};
use sonde_symbolize::{
    AddressSpaces, SymbolizeError, Symbolizer, Unwinder, UserRegs, THREAD_ENTRIES,
};

use super::identity::Identities;
use super::target::Target;
use crate::process_table::c_string;
use crate::stats::Stats;

/// Distinct stacks kept per window; samples of further stacks are counted
/// as over budget, never stored (a bound on memory, whatever the workload).
const STACKS_PER_WINDOW: usize = 200_000;

/// One thread's stack as sampled; what aggregation keys on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct StackKey {
    thread: String,
    /// Sampled address first.
    kernel: Vec<u64>,
    user: Vec<u64>,
    unwound_by: UserUnwind,
}

/// How the user stack was unwound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum UserUnwind {
    /// By the kernel, following frame pointers.
    FramePointers,
    /// From `.eh_frame` in user space, stopped short (stack copy too small,
    /// an address outside every mapping), yet longer than the kernel's.
    Tables,
    /// From `.eh_frame`, to the end of the stack.
    TablesComplete,
}

struct ProcessSamples {
    process: Workload,
    stacks: HashMap<StackKey, u64>,
}

pub struct Collector {
    hz: u32,
    target: Target,
    window_start: Timestamp,
    processes: HashMap<u32, ProcessSamples>,
    /// Processes outside the target, seen this window.
    ignored: HashSet<u32>,
    stacks: usize,
    identities: Identities,
    spaces: AddressSpaces,
    symbolizer: Symbolizer,
    /// For samples that carry a stack copy.
    unwinder: Unwinder,
    stats: Arc<Stats>,
}

impl Collector {
    pub fn new(
        hz: u32,
        target: Target,
        identities: Identities,
        stats: Arc<Stats>,
    ) -> Result<Self, SymbolizeError> {
        Ok(Collector {
            hz,
            target,
            window_start: Timestamp::now(),
            processes: HashMap::new(),
            ignored: HashSet::new(),
            stacks: 0,
            identities,
            spaces: AddressSpaces::new(),
            symbolizer: Symbolizer::new()?,
            unwinder: Unwinder::new(),
            stats,
        })
    }

    /// Counts one sample.
    pub fn add(&mut self, sample: &SampleRecord<'_>) {
        let ev = &sample.event;
        let pid = ev.pid;
        if self.ignored.contains(&pid) {
            return;
        }
        if !self.processes.contains_key(&pid) {
            let Some(process) = self.first_sight(pid, ev.start_ns, &ev.comm) else {
                self.ignored.insert(pid);
                return;
            };
            self.processes.insert(
                pid,
                ProcessSamples {
                    process,
                    stacks: HashMap::new(),
                },
            );
        }
        let (user, unwound_by) = self.user_stack(sample);
        let key = StackKey {
            thread: c_string(&ev.comm),
            kernel: sample.kernel_stack().collect(),
            user,
            unwound_by,
        };
        if key.user.len() == STACK_DEPTH || key.kernel.len() == STACK_DEPTH {
            self.stats
                .profiler
                .stacks_depth_limited
                .fetch_add(1, Relaxed);
        }
        if key.user.is_empty() && ev.user_sp == 0 {
            self.stats
                .profiler
                .kernel_thread_samples
                .fetch_add(1, Relaxed);
        }
        let Some(samples) = self.processes.get_mut(&pid) else {
            return;
        };
        self.stats.profiler.samples.fetch_add(1, Relaxed);
        if let Some(n) = samples.stacks.get_mut(&key) {
            *n += 1;
        } else if self.stacks < STACKS_PER_WINDOW {
            samples.stacks.insert(key, 1);
            self.stacks += 1;
        } else {
            self.stats.profiler.stacks_over_budget.fetch_add(1, Relaxed);
        }
    }

    /// The user stack: the kernel's frame-pointer walk, or the unwinding of
    /// the stack copy from `.eh_frame` when that reaches the end of the stack
    /// or further than the kernel did.
    fn user_stack(&mut self, sample: &SampleRecord<'_>) -> (Vec<u64>, UserUnwind) {
        let frame_pointers: Vec<u64> = sample.user_stack().collect();
        if sample.stack.is_empty() {
            return (frame_pointers, UserUnwind::FramePointers);
        }
        let ev = &sample.event;
        let regs = UserRegs {
            ip: ev.user_ip,
            sp: ev.user_sp,
            bp: ev.user_bp,
        };
        let unwound =
            self.unwinder
                .unwind(&mut self.spaces, ev.pid, regs, sample.stack, STACK_DEPTH);
        if unwound.complete {
            (unwound.addrs, UserUnwind::TablesComplete)
        } else if unwound.addrs.len() > frame_pointers.len() {
            (unwound.addrs, UserUnwind::Tables)
        } else {
            (frame_pointers, UserUnwind::FramePointers)
        }
    }

    /// Who `pid` is, and its mappings, read while it runs; `None` when the
    /// process is outside the target.
    fn first_sight(&mut self, pid: u32, start_ns: u64, comm: &[u8; 16]) -> Option<Workload> {
        let process = self.identities.get(pid, start_ns, comm);
        if !self.target.matches(&process) {
            return None;
        }
        match self.spaces.observe(pid) {
            Ok(()) => self.stats.profiler.processes_observed.fetch_add(1, Relaxed),
            Err(e) => {
                tracing::debug!(pid, error = %e, "cannot read a sampled process's mappings");
                self.stats
                    .profiler
                    .processes_unobserved
                    .fetch_add(1, Relaxed)
            }
        };
        Some(process)
    }

    /// Ends the window at `end`: one symbolized profile per sampled process.
    /// Returns the profiles and the pids whose mappings were let go (the
    /// kernel should wake the reader again on their next sample).
    pub fn finish(&mut self, end: Timestamp) -> (Vec<Profile>, Vec<u32>) {
        let start = std::mem::replace(&mut self.window_start, end);
        let duration_ns = end.0.saturating_sub(start.0);
        let processes = std::mem::take(&mut self.processes);
        self.ignored.clear();
        self.stacks = 0;
        let mut profiles = Vec::with_capacity(processes.len());
        for (pid, samples) in processes {
            let mut builder = ProfileBuilder::default();
            for (key, n) in &samples.stacks {
                let user = self
                    .symbolizer
                    .user_frames(&mut self.spaces, pid, &key.user);
                let kernel = self.symbolizer.kernel_frames(&key.kernel);
                builder.add(key, &user, &kernel, *n);
            }
            let stats = builder.stats;
            self.stats
                .profiler
                .user_stacks_truncated
                .fetch_add(stats.user_stacks_truncated, Relaxed);
            self.stats
                .profiler
                .unknown_frames
                .fetch_add(stats.unknown_frames, Relaxed);
            self.stats
                .profiler
                .user_stacks_unwound_dwarf
                .fetch_add(stats.user_stacks_unwound_dwarf, Relaxed);
            profiles.push(Profile {
                time: start,
                duration_ns,
                hz: self.hz,
                process: samples.process,
                frames: builder.frames,
                stacks: builder.stacks,
                stats,
            });
        }
        let sampled: HashSet<u32> = profiles.iter().map(|p| p.process.pid).collect();
        let released = self.identities.retain_only(&sampled);
        for &pid in &released {
            self.unwinder.forget(pid);
            self.spaces.release(pid);
        }
        profiles.sort_by_key(|p| std::cmp::Reverse(p.stats.samples));
        (profiles, released)
    }
}

/// One profile's frame table and stacks, built stack by stack.
#[derive(Default)]
struct ProfileBuilder {
    frames: Vec<Frame>,
    index: HashMap<Frame, u32>,
    stacks: Vec<StackCount>,
    stats: ProfileStats,
}

impl ProfileBuilder {
    /// `user` and `kernel` hold each address's frames (outermost first), in
    /// the stack's order (sampled address first).
    fn add(&mut self, key: &StackKey, user: &[Vec<Frame>], kernel: &[Vec<Frame>], samples: u64) {
        let mut ids = Vec::new();
        for frame in user.iter().rev().chain(kernel.iter().rev()).flatten() {
            if frame.function.is_none() {
                self.stats.unknown_frames += samples;
            }
            ids.push(self.intern(frame));
        }
        let outermost = user.last().and_then(|f| f.first());
        // Complete: the tables said the stack ends there, or it ends at a
        // thread's entry point (named, so not in a stripped binary).
        let complete = key.unwound_by == UserUnwind::TablesComplete
            || outermost
                .and_then(|f| f.function.as_deref())
                .is_some_and(|f| THREAD_ENTRIES.contains(&f));
        if key.unwound_by != UserUnwind::FramePointers {
            self.stats.user_stacks_unwound_dwarf += samples;
        }
        if outermost.is_some() && !complete {
            self.stats.user_stacks_truncated += samples;
        }
        self.stats.samples += samples;
        self.stacks.push(StackCount {
            frames: ids,
            thread: key.thread.clone(),
            samples,
        });
    }

    fn intern(&mut self, frame: &Frame) -> u32 {
        if let Some(&i) = self.index.get(frame) {
            return i;
        }
        let i = self.frames.len() as u32;
        self.frames.push(frame.clone());
        self.index.insert(frame.clone(), i);
        i
    }
}
