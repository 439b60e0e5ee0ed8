//! Which collector runs on which hooks, given what the kernel can do.

use serde::Serialize;

use crate::hooks::{
    Hook, HookKind, CAPTURE_HOOKS, NETWORK_HOOKS, PROCESS_HOOKS, PROFILE_HOOKS, SECURITY_HOOKS,
};
use crate::KernelReport;

/// Optional accelerators no collector depends on; `doctor` says so when the
/// kernel lacks them, so that their absence is not mistaken for a problem.
const NOT_DEPENDED_ON: [&str; 3] = ["kprobe", "fentry", "lsm"];

#[derive(Debug, Clone, Serialize)]
pub struct CollectorPlan {
    pub name: &'static str,
    pub ready: bool,
    pub hooks: Vec<Hook>,
    /// What the collector needs and this kernel lacks.
    pub missing: Vec<String>,
    pub notes: Vec<String>,
}

/// Every collector and the hooks it attaches.
const COLLECTORS: [(&str, &[Hook]); 5] = [
    ("process", &PROCESS_HOOKS),
    ("network", &NETWORK_HOOKS),
    ("requests", &CAPTURE_HOOKS),
    ("profiler", &PROFILE_HOOKS),
    ("security", &SECURITY_HOOKS),
];

pub fn plan_collectors(report: &KernelReport) -> Vec<CollectorPlan> {
    COLLECTORS
        .iter()
        .map(|(name, hooks)| plan(report, name, hooks))
        .collect()
}

fn plan(report: &KernelReport, name: &'static str, hooks: &[Hook]) -> CollectorPlan {
    let mut missing = Vec::new();
    if !report.btf.available {
        missing.push(format!("btf: {}", report.btf.detail));
    }
    if !report.ring_buffer.available {
        missing.push(format!("ring_buffer: {}", report.ring_buffer.detail));
    }
    if !report.tracefs.is_available() {
        missing.push("tracefs: not mounted".into());
    }
    for hook in hooks {
        let needed = hook.kind.capability();
        if !report.has(needed) && !missing.iter().any(|m| m.starts_with(needed)) {
            let why = report
                .capability(needed)
                .map_or("not probed".into(), |c| c.detail.clone());
            missing.push(format!("{needed}: {why}"));
        }
    }
    let absent: Vec<&str> = NOT_DEPENDED_ON
        .into_iter()
        .filter(|c| !report.has(c))
        .collect();
    let mut notes = vec![if hooks.iter().all(|h| h.kind == HookKind::PerfEvent) {
        "a software cpu-clock event per CPU: no hardware counters needed".to_string()
    } else {
        "tracepoints only: no kprobe, fentry or LSM".to_string()
    }];
    if !absent.is_empty() {
        notes.push(format!(
            "{} unavailable here; nothing falls back because nothing uses them",
            absent.join(", ")
        ));
    }
    if name == "security" {
        let skipped = crate::security::absent_hooks();
        if !skipped.is_empty() {
            notes.push(format!(
                "syscalls this kernel lacks, skipped: {}",
                skipped.join(", ")
            ));
        }
    }
    CollectorPlan {
        name,
        ready: missing.is_empty(),
        hooks: hooks.to_vec(),
        missing,
        notes,
    }
}
