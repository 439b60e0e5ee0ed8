//! Loads the CPU profiler (bpf/profile.bpf.c) and attaches it to one software
//! cpu-clock perf event per online CPU, so it needs no hardware counters.

use std::io;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};

use libbpf_rs::libbpf_sys;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapHandle};

use crate::abi::PROF_COUNTER_MAX;
use crate::counters::PerCpuCounters;
use crate::process::{map_handle, preflight, ring_geometry, ring_losses, skeleton_storage};
use crate::skel::profile::{ProfileSkel, ProfileSkelBuilder};
use crate::BpfError;

/// What to sample, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileOptions {
    /// Samples per second on each CPU.
    pub hz: u32,
    /// Only this process (thread group); `None` samples every process.
    pub pid: Option<u32>,
    /// Copy the top of each user stack, for unwinding code built without
    /// frame pointers from its `.eh_frame` tables in user space.
    pub copy_stack: bool,
    pub ring_bytes: u32,
}

/// The loaded profiler and its perf events. Dropping it stops sampling.
pub struct ProfileProgram {
    // Links first: each owns its perf event, and detaches before the object goes.
    _links: Vec<Link>,
    skel: ProfileSkel<'static>,
    cpus: Vec<u32>,
}

impl ProfileProgram {
    /// Loads the program and starts sampling every online CPU at `options.hz`.
    ///
    /// Each load leaks the few bytes of its skeleton's storage (see
    /// `skeleton_storage`): an on-demand profile costs eight bytes for good.
    pub fn load(options: ProfileOptions) -> Result<Self, BpfError> {
        preflight()?;
        let load_err = |source| BpfError::Load {
            object: "profile",
            source,
        };
        let mut open = ProfileSkelBuilder::default()
            .open(skeleton_storage())
            .map_err(load_err)?;
        let possible = libbpf_rs::num_possible_cpus().map_err(load_err)?;
        open.maps
            .scratch
            .set_max_entries(possible as u32)
            .map_err(load_err)?;
        let (ring, wakeup) = ring_geometry(options.ring_bytes);
        open.maps.events.set_max_entries(ring).map_err(load_err)?;
        if let Some(rodata) = open.maps.rodata_data.as_deref_mut() {
            rodata.wakeup_bytes = wakeup;
            rodata.target_tgid = options.pid.unwrap_or(0);
            rodata.copy_stack = u8::from(options.copy_stack);
        }
        let skel = open.load().map_err(load_err)?;
        let cpus = online_cpus().map_err(|e| BpfError::Attach {
            hook: "perf_event cpu-clock".into(),
            source: libbpf_rs::Error::from(e),
        })?;
        let mut links = Vec::with_capacity(cpus.len());
        for &cpu in &cpus {
            let attach_err = |source| BpfError::Attach {
                hook: format!("perf_event cpu-clock at {} Hz on CPU {cpu}", options.hz),
                source,
            };
            let event = open_cpu_clock(cpu, options.hz)
                .map_err(|e| attach_err(libbpf_rs::Error::from(e)))?;
            // The link owns the perf event from here: libbpf closes it on detach.
            let link = skel
                .progs
                .sample
                .attach_perf_event(event.into_raw_fd())
                .map_err(attach_err)?;
            links.push(link);
        }
        Ok(ProfileProgram {
            _links: links,
            skel,
            cpus,
        })
    }

    /// The CPUs being sampled.
    pub fn cpus(&self) -> &[u32] {
        &self.cpus
    }

    pub fn events(&self) -> Result<MapHandle, BpfError> {
        map_handle(&self.skel.maps.events, "events")
    }

    /// Samples the ring buffer had no room for (index `EVENT_SAMPLE`).
    pub fn lost_counter(&self) -> Result<PerCpuCounters, BpfError> {
        ring_losses(&self.skel.maps.lost)
    }

    /// `abi::PROF_*` counters.
    pub fn counters(&self) -> Result<PerCpuCounters, BpfError> {
        Ok(PerCpuCounters::new(
            map_handle(&self.skel.maps.counters, "counters")?,
            "counters",
            PROF_COUNTER_MAX,
        ))
    }

    /// Forgets which processes were seen, so the next sample of each wakes
    /// user space again (after it dropped what it knew of them).
    pub fn forget_process(&self, pid: u32) {
        // Absent already is fine.
        let _ = self.skel.maps.known.delete(&pid.to_ne_bytes());
    }
}

/// A software cpu-clock event on `cpu`, for every task, sampling `hz` times a
/// second (frequency mode: the kernel adjusts the period).
pub(crate) fn open_cpu_clock(cpu: u32, hz: u32) -> io::Result<OwnedFd> {
    // SAFETY: perf_event_attr is plain old data; all zeroes is its default.
    let mut attr: libbpf_sys::perf_event_attr = unsafe { std::mem::zeroed() };
    attr.type_ = libbpf_sys::PERF_TYPE_SOFTWARE;
    attr.size = std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32;
    attr.config = u64::from(libbpf_sys::PERF_COUNT_SW_CPU_CLOCK);
    attr.__bindgen_anon_1.sample_freq = u64::from(hz);
    attr.set_freq(1);
    // SAFETY: attr is a valid perf_event_attr that outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const libbpf_sys::perf_event_attr,
            -1,
            cpu as libc::c_int,
            -1,
            libbpf_sys::PERF_FLAG_FD_CLOEXEC as libc::c_ulong,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// The online CPUs, from `/sys/devices/system/cpu/online` (`0-3,5,7-8`).
fn online_cpus() -> io::Result<Vec<u32>> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online")?;
    parse_cpu_list(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unreadable CPU list {text:?}"),
        )
    })
}

fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.parse::<u32>().ok()?..=b.parse::<u32>().ok()?),
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0-3,5,7-8"), Some(vec![0, 1, 2, 3, 5, 7, 8]));
        assert_eq!(parse_cpu_list("4"), Some(vec![4]));
        assert_eq!(parse_cpu_list("x"), None);
    }
}
