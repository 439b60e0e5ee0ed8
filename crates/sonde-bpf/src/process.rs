//! Loads and attaches the process lifecycle programs (bpf/process.bpf.c).

use std::mem::MaybeUninit;
use std::path::Path;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, MapHandle, TracepointCategory};

use crate::abi::EVENT_TYPE_MAX;
use crate::hooks::{HookKind, PROCESS_HOOKS};
use crate::mounts::TRACEFS;
use crate::skel::process::{ProcessSkel, ProcessSkelBuilder};
use crate::BpfError;

const BTF: &str = "/sys/kernel/btf/vmlinux";

/// The kernel wakes the reader once this fraction of the ring is waiting;
/// below it the reader drains on its timer (see [`ProcessProgram::DRAIN_EVERY`]).
const WAKEUP_FRACTION: u32 = 8;

/// The loaded, attached process programs. Dropping it detaches them.
pub struct ProcessProgram {
    // Links first: they detach before the object that owns the programs goes.
    _links: Vec<Link>,
    skel: ProcessSkel<'static>,
}

/// Reads the kernel's per-CPU counts of records the ring buffer had no room for.
pub struct LostCounter(MapHandle);

impl LostCounter {
    /// Lost records per event type (indexed by `abi::EVENT_*`), summed over CPUs.
    pub fn read(&self) -> Result<[u64; EVENT_TYPE_MAX as usize], BpfError> {
        let mut totals = [0u64; EVENT_TYPE_MAX as usize];
        for (kind, total) in totals.iter_mut().enumerate() {
            let per_cpu = self
                .0
                .lookup_percpu(&(kind as u32).to_ne_bytes(), MapFlags::ANY)
                .map_err(|source| BpfError::Map {
                    map: "lost",
                    source,
                })?
                .unwrap_or_default();
            *total = per_cpu
                .iter()
                .filter_map(|v| v.get(..8)?.try_into().ok())
                .map(u64::from_ne_bytes)
                .sum();
        }
        Ok(totals)
    }
}

/// Checks what every kernel collector needs before anything is loaded, so
/// the error names the missing piece instead of a libbpf errno.
pub fn preflight() -> Result<(), BpfError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(BpfError::NotRoot);
    }
    if !Path::new(BTF).exists() {
        return Err(BpfError::NoBtf(BTF.into()));
    }
    TRACEFS.require(true).map(|_| ())
}

impl ProcessProgram {
    /// How often the reader must drain the ring: records below the wake-up
    /// threshold wait at most this long.
    pub const DRAIN_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

    /// Loads the programs with a ring buffer of `ring_bytes` (rounded up to a
    /// power of two) and attaches them to [`PROCESS_HOOKS`].
    pub fn load(ring_bytes: u32) -> Result<Self, BpfError> {
        preflight()?;
        let load_err = |source| BpfError::Load {
            object: "process",
            source,
        };
        // libbpf-rs skeletons borrow their object storage for their whole
        // life; the agent keeps the programs until it exits, so the few bytes
        // of storage are leaked rather than made self-referential.
        let storage = Box::leak(Box::new(MaybeUninit::uninit()));
        let mut open = ProcessSkelBuilder::default()
            .open(storage)
            .map_err(load_err)?;
        let cpus = libbpf_rs::num_possible_cpus().map_err(load_err)?;
        open.maps
            .exec_scratch
            .set_max_entries(cpus as u32)
            .map_err(load_err)?;
        let ring = ring_bytes.max(4096).next_power_of_two();
        open.maps.events.set_max_entries(ring).map_err(load_err)?;
        if let Some(rodata) = open.maps.rodata_data.as_deref_mut() {
            rodata.wakeup_bytes = u64::from(ring / WAKEUP_FRACTION);
        }
        let skel = open.load().map_err(load_err)?;

        let progs = &skel.progs;
        let mut links = Vec::with_capacity(PROCESS_HOOKS.len());
        for hook in PROCESS_HOOKS {
            let attach_err = |source| BpfError::Attach {
                hook: hook.name.into(),
                source,
            };
            let link = match (hook.kind, hook.name) {
                (HookKind::RawTracepoint, "sched_process_fork") => {
                    progs.handle_fork.attach_raw_tracepoint(hook.name)
                }
                (HookKind::Tracepoint, "sched:sched_process_exec") => progs
                    .handle_exec
                    .attach_tracepoint(TracepointCategory::Sched, "sched_process_exec"),
                (HookKind::Tracepoint, "sched:sched_process_exit") => progs
                    .handle_exit
                    .attach_tracepoint(TracepointCategory::Sched, "sched_process_exit"),
                _ => unreachable!("PROCESS_HOOKS lists a hook with no program"),
            };
            links.push(link.map_err(attach_err)?);
        }
        Ok(ProcessProgram {
            _links: links,
            skel,
        })
    }

    /// A handle on the ring buffer, to be drained on another thread.
    pub fn events(&self) -> Result<MapHandle, BpfError> {
        MapHandle::try_from(&self.skel.maps.events).map_err(|source| BpfError::Map {
            map: "events",
            source,
        })
    }

    pub fn lost_counter(&self) -> Result<LostCounter, BpfError> {
        MapHandle::try_from(&self.skel.maps.lost)
            .map(LostCounter)
            .map_err(|source| BpfError::Map {
                map: "lost",
                source,
            })
    }
}
