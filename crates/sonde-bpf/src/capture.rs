//! Loads and attaches the request capture programs (bpf/capture.bpf.c), and
//! attaches their OpenSSL uprobes to each libssl that user space finds.

use std::collections::HashSet;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, MapHandle, UprobeOpts};

use crate::abi::{CaptureCtl, CAP_COUNTER_MAX};
use crate::counters::{PerCpuCounters, SkippedRuns};
use crate::hooks::{attach_all, CAPTURE_HOOKS};
use crate::network::NetworkProgram;
use crate::process::{map_handle, preflight, ring_geometry, ring_losses, skeleton_storage};
use crate::skel::capture::{CaptureSkel, CaptureSkelBuilder};
use crate::BpfError;

/// OpenSSL functions and the entry program each gets; every one also gets
/// `ssl_return` on its return.
const OPENSSL_PROBES: [(&str, &str); 4] = [
    ("SSL_write", "ssl_write_enter"),
    ("SSL_write_ex", "ssl_write_ex_enter"),
    ("SSL_read", "ssl_read_enter"),
    ("SSL_read_ex", "ssl_read_ex_enter"),
];

/// The loaded, attached capture programs. Dropping it detaches them.
pub struct CaptureProgram {
    _links: Vec<Link>,
    // Attaching a program needs it mutably; the uprobes are attached from
    // another thread as libraries are found.
    skel: Mutex<CaptureSkel<'static>>,
    uprobes: Mutex<Uprobes>,
}

#[derive(Default)]
struct Uprobes {
    links: Vec<Link>,
    /// (device, inode) of each library attached, however many paths name it.
    attached: HashSet<(u64, u64)>,
    libraries: Vec<PathBuf>,
}

impl CaptureProgram {
    /// Loads the programs sharing `network`'s connection table, so requests
    /// carry the id their connection has in TCP records.
    pub fn load(ring_bytes: u32, network: &NetworkProgram) -> Result<Self, BpfError> {
        preflight()?;
        let load_err = |source| BpfError::Load {
            object: "capture",
            source,
        };
        let mut open = CaptureSkelBuilder::default()
            .open(skeleton_storage())
            .map_err(load_err)?;
        let cpus = libbpf_rs::num_possible_cpus().map_err(load_err)?;
        open.maps
            .scratch
            .set_max_entries(cpus as u32)
            .map_err(load_err)?;
        let (ring, wakeup) = ring_geometry(ring_bytes);
        open.maps.events.set_max_entries(ring).map_err(load_err)?;
        open.maps
            .conns
            .reuse_fd(network.conns().as_fd())
            .map_err(load_err)?;
        if let Some(rodata) = open.maps.rodata_data.as_deref_mut() {
            rodata.wakeup_bytes = wakeup;
        }
        let mut skel = open.load().map_err(load_err)?;
        let links = attach_all(skel.object_mut(), &CAPTURE_HOOKS)?;
        Ok(CaptureProgram {
            _links: links,
            skel: Mutex::new(skel),
            uprobes: Mutex::default(),
        })
    }

    /// Attaches the OpenSSL probes to `library` (every process that maps it,
    /// now or later). Returns false if that file was attached before.
    pub fn attach_openssl(&self, library: &Path) -> Result<bool, BpfError> {
        let meta = std::fs::metadata(library).map_err(|e| BpfError::Attach {
            hook: library.display().to_string(),
            source: libbpf_rs::Error::from(e),
        })?;
        let id = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        let mut uprobes = self.uprobes.lock().unwrap_or_else(|e| e.into_inner());
        if uprobes.attached.contains(&id) {
            return Ok(false);
        }
        let mut skel = self.skel();
        let object = skel.object_mut();
        let mut links = Vec::new();
        for (function, entry) in OPENSSL_PROBES {
            let attach_err = |source| BpfError::Attach {
                hook: format!("{}:{function}", library.display()),
                source,
            };
            for (program_name, retprobe) in [(entry, false), ("ssl_return", true)] {
                let program = object
                    .progs_mut()
                    .find(|p| p.name().to_str() == Some(program_name));
                let Some(program) = program else {
                    return Err(attach_err(libbpf_rs::Error::from_raw_os_error(
                        libc::ENOENT,
                    )));
                };
                let opts = UprobeOpts {
                    retprobe,
                    func_name: Some(function.into()),
                    ..Default::default()
                };
                links.push(
                    program
                        .attach_uprobe_with_opts(-1, library, 0, opts)
                        .map_err(attach_err)?,
                );
            }
        }
        uprobes.links.extend(links);
        uprobes.attached.insert(id);
        uprobes.libraries.push(library.to_path_buf());
        Ok(true)
    }

    /// The OpenSSL libraries the probes are attached to.
    pub fn openssl_libraries(&self) -> Vec<PathBuf> {
        let uprobes = self.uprobes.lock().unwrap_or_else(|e| e.into_inner());
        uprobes.libraries.clone()
    }

    fn skel(&self) -> std::sync::MutexGuard<'_, CaptureSkel<'static>> {
        self.skel.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn events(&self) -> Result<MapHandle, BpfError> {
        map_handle(&self.skel().maps.events, "events")
    }

    /// Runs of these programs the kernel skipped.
    pub fn skipped_runs(&self) -> Result<SkippedRuns, BpfError> {
        SkippedRuns::of(self.skel().object())
    }

    pub fn lost_counter(&self) -> Result<PerCpuCounters, BpfError> {
        ring_losses(&self.skel().maps.lost)
    }

    /// `abi::CAP_*` counters.
    pub fn counters(&self) -> Result<PerCpuCounters, BpfError> {
        Ok(PerCpuCounters::new(
            map_handle(&self.skel().maps.counters, "counters")?,
            "counters",
            CAP_COUNTER_MAX,
        ))
    }

    /// Where user space steers the capture of each socket.
    pub fn control(&self) -> Result<CaptureControl, BpfError> {
        Ok(CaptureControl(map_handle(
            &self.skel().maps.capture_ctl,
            "capture_ctl",
        )?))
    }
}

/// Tells the kernel what not to copy, per socket (`capture_ctl`).
pub struct CaptureControl(MapHandle);

impl CaptureControl {
    /// Sets what the capture does with the socket at kernel address `sock`.
    pub fn set(&self, sock: u64, ctl: &CaptureCtl) -> Result<(), BpfError> {
        self.0
            .update(&sock.to_ne_bytes(), ctl.as_bytes(), MapFlags::ANY)
            .map_err(|source| BpfError::Map {
                map: "capture_ctl",
                source,
            })
    }

    /// Forgets a socket (it closed).
    pub fn remove(&self, sock: u64) {
        // Absent already is fine: only some sockets are ever steered.
        let _ = self.0.delete(&sock.to_ne_bytes());
    }
}
