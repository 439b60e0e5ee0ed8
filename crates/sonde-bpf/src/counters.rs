//! Reading the kernel programs' per-CPU counters.

use libbpf_rs::{MapCore, MapFlags, MapHandle};

use crate::BpfError;

/// A per-CPU array of `u64` counters, summed over CPUs on read.
pub struct PerCpuCounters {
    map: MapHandle,
    name: &'static str,
    len: u32,
}

fn sum(per_cpu: &[Vec<u8>]) -> u64 {
    per_cpu
        .iter()
        .filter_map(|v| v.get(..8)?.try_into().ok())
        .map(u64::from_ne_bytes)
        .sum()
}

impl PerCpuCounters {
    pub(crate) fn new(map: MapHandle, name: &'static str, len: u32) -> Self {
        PerCpuCounters { map, name, len }
    }

    /// Each counter, indexed as in the kernel.
    pub fn read(&self) -> Result<Vec<u64>, BpfError> {
        (0..self.len)
            .map(|i| {
                let per_cpu = self
                    .map
                    .lookup_percpu(&i.to_ne_bytes(), MapFlags::ANY)
                    .map_err(|source| BpfError::Map {
                        map: self.name,
                        source,
                    })?
                    .unwrap_or_default();
                Ok(sum(&per_cpu))
            })
            .collect()
    }
}

/// A per-CPU hash of `u32` key to `u64` count (drops by reason).
pub struct PerCpuHashCounters {
    map: MapHandle,
    name: &'static str,
}

impl PerCpuHashCounters {
    pub(crate) fn new(map: MapHandle, name: &'static str) -> Self {
        PerCpuHashCounters { map, name }
    }

    /// Every key seen, with its count summed over CPUs.
    pub fn read(&self) -> Result<Vec<(u32, u64)>, BpfError> {
        let mut out = Vec::new();
        for key in self.map.keys() {
            let Some(id) = key
                .get(..4)
                .and_then(|k| k.try_into().ok())
                .map(u32::from_ne_bytes)
            else {
                continue;
            };
            let per_cpu = self
                .map
                .lookup_percpu(&key, MapFlags::ANY)
                .map_err(|source| BpfError::Map {
                    map: self.name,
                    source,
                })?
                .unwrap_or_default();
            out.push((id, sum(&per_cpu)));
        }
        Ok(out)
    }
}

/// Runs of sonde's programs the kernel skipped: a tracepoint program does
/// not run while another BPF program is running on the same CPU, and the
/// kernel only counts it (`recursion_misses`). Each skipped run may be a lost
/// record.
pub struct SkippedRuns {
    programs: Vec<(String, std::os::fd::OwnedFd)>,
}

impl SkippedRuns {
    pub(crate) fn of(object: &libbpf_rs::Object) -> Result<Self, BpfError> {
        let programs = object
            .progs()
            .map(|p| {
                let name = p.name().to_string_lossy().into_owned();
                std::os::fd::AsFd::as_fd(&p)
                    .try_clone_to_owned()
                    .map(|fd| (name, fd))
                    .map_err(|e| BpfError::Map {
                        map: "program info",
                        source: libbpf_rs::Error::from(e),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(SkippedRuns { programs })
    }

    /// (program, runs skipped since it was loaded).
    pub fn read(&self) -> Vec<(String, u64)> {
        use std::os::fd::{AsFd, AsRawFd};
        self.programs
            .iter()
            .map(|(name, handle)| {
                let mut info = libbpf_rs::libbpf_sys::bpf_prog_info::default();
                let mut len = std::mem::size_of_val(&info) as u32;
                // SAFETY: `info` is a bpf_prog_info of the size `len` says,
                // and the descriptor is a live program's.
                let ret = unsafe {
                    libbpf_rs::libbpf_sys::bpf_obj_get_info_by_fd(
                        handle.as_fd().as_raw_fd(),
                        (&mut info as *mut libbpf_rs::libbpf_sys::bpf_prog_info).cast(),
                        &mut len,
                    )
                };
                (
                    name.clone(),
                    if ret == 0 { info.recursion_misses } else { 0 },
                )
            })
            .collect()
    }
}
