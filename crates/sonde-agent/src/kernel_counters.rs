//! The kernel programs' own counters, read into [`Stats`] once a second.

use std::sync::atomic::Ordering::Relaxed;

use sonde_bpf::{DropReasons, PerCpuCounters, PerCpuHashCounters, SkippedRuns};

use crate::stats::Stats;

pub struct KernelCounters {
    /// Ring-buffer reserve failures of each loaded object, by record type.
    pub lost: Vec<PerCpuCounters>,
    /// The network programs' counters (`abi::NET_*`).
    pub net: PerCpuCounters,
    /// Every drop by reason code.
    pub drop_reasons: PerCpuHashCounters,
    pub names: DropReasons,
    /// Runs of each object's programs the kernel skipped.
    pub skipped: Vec<SkippedRuns>,
    /// The capture programs' counters (`abi::CAP_*`).
    pub capture: PerCpuCounters,
    /// The file and security programs' counters (`abi::SECC_*`).
    pub security: PerCpuCounters,
}

impl KernelCounters {
    pub fn read_into(&self, stats: &Stats) {
        if let Err(e) = self.try_read_into(stats) {
            tracing::warn!(error = %e, "cannot read kernel counters");
        }
    }

    fn try_read_into(&self, stats: &Stats) -> Result<(), sonde_bpf::BpfError> {
        let mut lost = vec![0u64; stats.kernel_lost.len()];
        for counter in &self.lost {
            for (total, n) in lost.iter_mut().zip(counter.read()?) {
                *total += n;
            }
        }
        for (slot, n) in stats.kernel_lost.iter().zip(lost) {
            slot.store(n, Relaxed);
        }
        for (slot, n) in stats.net.iter().zip(self.net.read()?) {
            slot.store(n, Relaxed);
        }
        for (slot, n) in stats.requests.capture.iter().zip(self.capture.read()?) {
            slot.store(n, Relaxed);
        }
        for (slot, n) in stats.security.kernel.iter().zip(self.security.read()?) {
            slot.store(n, Relaxed);
        }
        if let Ok(mut map) = stats.kernel_skipped_runs.lock() {
            for (program, n) in self.skipped.iter().flat_map(SkippedRuns::read) {
                map.insert(program, n);
            }
        }
        let by_reason = self.drop_reasons.read()?;
        if let Ok(mut map) = stats.drops_by_reason.lock() {
            map.clear();
            for (code, n) in by_reason {
                *map.entry(self.names.name(code)).or_default() += n;
            }
        }
        Ok(())
    }
}
