//! Loads and attaches the process lifecycle programs (bpf/process.bpf.c).

use std::mem::MaybeUninit;
use std::path::Path;

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Link, MapHandle};

use crate::abi::EVENT_TYPE_MAX;
use crate::counters::{PerCpuCounters, SkippedRuns};
use crate::hooks::{attach_all, PROCESS_HOOKS};
use crate::mounts::TRACEFS;
use crate::skel::process::{ProcessSkel, ProcessSkelBuilder};
use crate::BpfError;

const BTF: &str = "/sys/kernel/btf/vmlinux";

/// The kernel wakes the reader once this fraction of the ring is waiting;
/// below it the reader drains on its timer (see [`DRAIN_EVERY`]).
const WAKEUP_FRACTION: u32 = 8;

/// How often a reader must drain a ring: records below the wake-up threshold
/// wait at most this long.
pub const DRAIN_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// The ring size the kernel gets for `bytes` (a power of two, at least a
/// page) and the backlog at which it wakes the reader.
pub(crate) fn ring_geometry(bytes: u32) -> (u32, u64) {
    let ring = bytes.max(4096).next_power_of_two();
    (ring, u64::from(ring / WAKEUP_FRACTION))
}

/// libbpf-rs skeletons borrow their object storage for their whole life;
/// the agent keeps its programs until it exits, so the few bytes of storage
/// are leaked rather than made self-referential.
pub(crate) fn skeleton_storage<T>() -> &'static mut MaybeUninit<T> {
    Box::leak(Box::new(MaybeUninit::uninit()))
}

pub(crate) fn map_handle<T: std::fmt::Debug>(
    map: &libbpf_rs::MapImpl<'_, T>,
    name: &'static str,
) -> Result<MapHandle, BpfError> {
    MapHandle::try_from(map).map_err(|source| BpfError::Map { map: name, source })
}

/// The per-CPU `lost` array every object keeps: records its ring buffer had
/// no room for, by event type.
pub(crate) fn ring_losses<T: std::fmt::Debug>(
    lost: &libbpf_rs::MapImpl<'_, T>,
) -> Result<PerCpuCounters, BpfError> {
    Ok(PerCpuCounters::new(
        map_handle(lost, "lost")?,
        "lost",
        EVENT_TYPE_MAX,
    ))
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

/// The loaded, attached process programs. Dropping it detaches them.
pub struct ProcessProgram {
    // Links first: they detach before the object that owns the programs goes.
    _links: Vec<Link>,
    skel: ProcessSkel<'static>,
}

impl ProcessProgram {
    /// Loads the programs with a ring buffer of `ring_bytes` (rounded up to a
    /// power of two) and attaches them to [`PROCESS_HOOKS`].
    pub fn load(ring_bytes: u32) -> Result<Self, BpfError> {
        preflight()?;
        let load_err = |source| BpfError::Load {
            object: "process",
            source,
        };
        let mut open = ProcessSkelBuilder::default()
            .open(skeleton_storage())
            .map_err(load_err)?;
        let cpus = libbpf_rs::num_possible_cpus().map_err(load_err)?;
        open.maps
            .exec_scratch
            .set_max_entries(cpus as u32)
            .map_err(load_err)?;
        let (ring, wakeup) = ring_geometry(ring_bytes);
        open.maps.events.set_max_entries(ring).map_err(load_err)?;
        if let Some(rodata) = open.maps.rodata_data.as_deref_mut() {
            rodata.wakeup_bytes = wakeup;
        }
        let mut skel = open.load().map_err(load_err)?;
        let links = attach_all(skel.object_mut(), &PROCESS_HOOKS)?;
        Ok(ProcessProgram {
            _links: links,
            skel,
        })
    }

    /// A handle on the ring buffer, to be drained on another thread.
    pub fn events(&self) -> Result<MapHandle, BpfError> {
        map_handle(&self.skel.maps.events, "events")
    }

    /// Runs of these programs the kernel skipped.
    pub fn skipped_runs(&self) -> Result<SkippedRuns, BpfError> {
        SkippedRuns::of(self.skel.object())
    }

    /// Records the ring buffer had no room for, by event type.
    pub fn lost_counter(&self) -> Result<PerCpuCounters, BpfError> {
        ring_losses(&self.skel.maps.lost)
    }
}
