//! What the profiler counted: the kernel program's own counters, and what
//! user space resolved, cut short or could not name.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::{Deserialize, Serialize};
use sonde_bpf::abi::PROF_COUNTER_MAX;

use crate::stats::write_family;

/// `abi::PROF_*` counters, as metric labels.
pub const KERNEL_COUNTERS: [&str; PROF_COUNTER_MAX as usize] = [
    "samples",
    "idle",
    "filtered",
    "kernel_stack_failed",
    "user_stack_failed",
    "stack_copy_short",
];

#[derive(Default)]
pub struct ProfilerStats {
    /// The continuous profiler's kernel counters (last reading).
    pub kernel: [AtomicU64; PROF_COUNTER_MAX as usize],
    /// Samples aggregated into windows, continuous and on demand.
    pub samples: AtomicU64,
    /// Samples of kernel threads (no user stack).
    pub kernel_thread_samples: AtomicU64,
    pub user_stacks_truncated: AtomicU64,
    pub user_stacks_unwound_dwarf: AtomicU64,
    pub unknown_frames: AtomicU64,
    /// Samples of stacks past the per-window budget of distinct stacks.
    pub stacks_over_budget: AtomicU64,
    /// Stacks deeper than the kernel unwinds (127 frames): the outermost are missing.
    pub stacks_depth_limited: AtomicU64,
    /// Sampled processes, once per window, whose mappings were read (or
    /// known already) at their first sample in the window.
    pub processes_observed: AtomicU64,
    /// The same, for mappings that could not be read (gone, or kernel threads).
    pub processes_unobserved: AtomicU64,
    pub profiles_written: AtomicU64,
    /// Profiles dropped because the queue to the store writer was full.
    pub profiles_dropped: AtomicU64,
    pub sessions: AtomicU64,
    pub session_failures: AtomicU64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProfilerSnapshot {
    pub kernel: std::collections::BTreeMap<String, u64>,
    pub samples: u64,
    pub kernel_thread_samples: u64,
    pub user_stacks_truncated: u64,
    pub user_stacks_unwound_dwarf: u64,
    pub unknown_frames: u64,
    pub stacks_over_budget: u64,
    pub stacks_depth_limited: u64,
    pub processes_observed: u64,
    pub processes_unobserved: u64,
    pub profiles_written: u64,
    pub profiles_dropped: u64,
    pub sessions: u64,
    pub session_failures: u64,
}

impl ProfilerStats {
    pub fn snapshot(&self) -> ProfilerSnapshot {
        ProfilerSnapshot {
            kernel: KERNEL_COUNTERS
                .iter()
                .zip(&self.kernel)
                .map(|(k, n)| (k.to_string(), n.load(Relaxed)))
                .collect(),
            samples: self.samples.load(Relaxed),
            kernel_thread_samples: self.kernel_thread_samples.load(Relaxed),
            user_stacks_truncated: self.user_stacks_truncated.load(Relaxed),
            user_stacks_unwound_dwarf: self.user_stacks_unwound_dwarf.load(Relaxed),
            unknown_frames: self.unknown_frames.load(Relaxed),
            stacks_over_budget: self.stacks_over_budget.load(Relaxed),
            stacks_depth_limited: self.stacks_depth_limited.load(Relaxed),
            processes_observed: self.processes_observed.load(Relaxed),
            processes_unobserved: self.processes_unobserved.load(Relaxed),
            profiles_written: self.profiles_written.load(Relaxed),
            profiles_dropped: self.profiles_dropped.load(Relaxed),
            sessions: self.sessions.load(Relaxed),
            session_failures: self.session_failures.load(Relaxed),
        }
    }
}

impl ProfilerSnapshot {
    /// Samples and profiles lost on their way to the store.
    pub fn lost(&self) -> u64 {
        self.profiles_dropped + self.stacks_over_budget
    }

    pub fn write_prometheus(&self, out: &mut String) {
        let one = |n: u64| vec![(String::new(), n)];
        let kernel: Vec<(String, u64)> = self
            .kernel
            .iter()
            .map(|(k, n)| (format!("{{counter=\"{k}\"}}"), *n))
            .collect();
        write_family(
            out,
            "sonde_profiler_kernel_total",
            "counter",
            "The continuous profiler's kernel counters: samples taken, of idle CPUs, stacks that could not be read.",
            &kernel,
        );
        for (name, help, n) in [
            (
                "sonde_profiler_samples_total",
                "Samples aggregated into profiles.",
                self.samples,
            ),
            (
                "sonde_profiler_kernel_thread_samples_total",
                "Samples of kernel threads.",
                self.kernel_thread_samples,
            ),
            (
                "sonde_profiler_user_stacks_truncated_total",
                "User stacks whose outermost frame is not a thread entry point.",
                self.user_stacks_truncated,
            ),
            (
                "sonde_profiler_user_stacks_unwound_dwarf_total",
                "User stacks unwound from .eh_frame.",
                self.user_stacks_unwound_dwarf,
            ),
            (
                "sonde_profiler_unknown_frames_total",
                "Frames no symbol was found for.",
                self.unknown_frames,
            ),
            (
                "sonde_profiler_stacks_over_budget_total",
                "Samples of stacks past the per-window budget of distinct stacks (not stored).",
                self.stacks_over_budget,
            ),
            (
                "sonde_profiler_stacks_depth_limited_total",
                "Stacks cut at the kernel's depth limit of 127 frames.",
                self.stacks_depth_limited,
            ),
            (
                "sonde_profiler_processes_observed_total",
                "Sampled processes per window whose mappings were read or known.",
                self.processes_observed,
            ),
            (
                "sonde_profiler_processes_unobserved_total",
                "Sampled processes per window whose mappings could not be read.",
                self.processes_unobserved,
            ),
            (
                "sonde_profiler_profiles_written_total",
                "Profiles (one process, one window) sent to the store.",
                self.profiles_written,
            ),
            (
                "sonde_profiler_profiles_dropped_total",
                "Profiles dropped because the store queue was full.",
                self.profiles_dropped,
            ),
            (
                "sonde_profiler_sessions_total",
                "On-demand profiles taken.",
                self.sessions,
            ),
            (
                "sonde_profiler_session_failures_total",
                "On-demand profiles that failed.",
                self.session_failures,
            ),
        ] {
            write_family(out, name, "counter", help, &one(n));
        }
    }
}
