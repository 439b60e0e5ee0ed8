//! The capability probe behind `sonde doctor`: what this kernel really lets
//! sonde do, found by loading (and where harmless, attaching) one trivial
//! program of each type from bpf/probe.bpf.c.

use std::mem::MaybeUninit;
use std::path::Path;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, MapType, TracepointCategory, UprobeOpts};
use serde::Serialize;

use crate::mounts::{MountState, BPFFS, TRACEFS};
use crate::skel::probe::{OpenProbeSkel, ProbeProgs, ProbeSkelBuilder};

/// One thing the kernel can or cannot do, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Capability {
    pub name: &'static str,
    pub available: bool,
    pub detail: String,
}

/// Everything `doctor` learned about the running kernel.
#[derive(Debug, Clone, Serialize)]
pub struct KernelReport {
    pub kernel: String,
    pub root: bool,
    pub btf: Capability,
    pub tracefs: MountState,
    pub bpffs: MountState,
    pub ring_buffer: Capability,
    pub program_types: Vec<Capability>,
}

impl KernelReport {
    pub fn has(&self, capability: &str) -> bool {
        self.program_types
            .iter()
            .any(|c| c.name == capability && c.available)
    }

    pub fn capability(&self, name: &str) -> Option<&Capability> {
        self.program_types.iter().find(|c| c.name == name)
    }
}

/// How a probe program is tried.
type Attach = fn(&ProbeProgs<'_>) -> libbpf_rs::Result<Option<Link>>;

/// (capability, program in probe.bpf.c, how to attach it; `None` = load only).
const PROBES: [(&str, &str, Option<Attach>); 12] = [
    (
        "tracepoint",
        "probe_tracepoint",
        Some(|p| {
            p.probe_tracepoint
                .attach_tracepoint(TracepointCategory::Syscalls, "sys_enter_getppid")
                .map(Some)
        }),
    ),
    (
        "raw_tracepoint",
        "probe_raw_tracepoint",
        Some(|p| {
            p.probe_raw_tracepoint
                .attach_raw_tracepoint("sys_enter")
                .map(Some)
        }),
    ),
    (
        "kprobe",
        "probe_kprobe",
        Some(|p| p.probe_kprobe.attach_kprobe(false, "vfs_read").map(Some)),
    ),
    (
        "fentry",
        "probe_fentry",
        Some(|p| p.probe_fentry.attach_trace().map(Some)),
    ),
    (
        "lsm",
        "probe_lsm",
        Some(|p| p.probe_lsm.attach_lsm().map(Some)),
    ),
    (
        "uprobe",
        "probe_uprobe",
        Some(|p| {
            let opts = UprobeOpts {
                func_name: Some("getppid".into()),
                ..Default::default()
            };
            p.probe_uprobe
                .attach_uprobe_with_opts(0, "libc.so.6", 0, opts)
                .map(Some)
        }),
    ),
    ("perf_event", "probe_perf_event", Some(attach_cpu_clock)),
    ("tc", "probe_tc", None),
    ("xdp", "probe_xdp", None),
    ("cgroup_skb", "probe_cgroup_skb", None),
    ("sock_ops", "probe_sockops", None),
    ("cgroup_sock_addr", "probe_cgroup_sock_addr", None),
];

/// Probes the running kernel. Mounts tracefs and bpffs when running as root.
pub fn probe_kernel() -> KernelReport {
    let root = nix::unistd::geteuid().is_root();
    let tracefs = TRACEFS.ensure(root);
    let bpffs = BPFFS.ensure(root);
    let btf_path = Path::new("/sys/kernel/btf/vmlinux");
    let btf = Capability {
        name: "btf",
        available: btf_path.exists(),
        detail: if btf_path.exists() {
            "/sys/kernel/btf/vmlinux: CO-RE relocations resolve against the running kernel".into()
        } else {
            "no /sys/kernel/btf/vmlinux: the kernel lacks CONFIG_DEBUG_INFO_BTF".into()
        },
    };
    let ring_buffer = match MapType::RingBuf.is_supported() {
        Ok(true) => Capability {
            name: "ring_buffer",
            available: true,
            detail: "BPF_MAP_TYPE_RINGBUF".into(),
        },
        Ok(false) => Capability {
            name: "ring_buffer",
            available: false,
            detail: "needs Linux 5.8+".into(),
        },
        Err(e) => Capability {
            name: "ring_buffer",
            available: false,
            detail: e.to_string(),
        },
    };
    let program_types = if root && btf.available {
        // libbpf narrates every failed load on stderr; the report says it better.
        let previous = libbpf_rs::set_print(None);
        let probes = PROBES
            .iter()
            .map(|(name, prog, attach)| probe_one(name, prog, *attach))
            .collect();
        libbpf_rs::set_print(previous);
        probes
    } else {
        let why = if root {
            "no BTF"
        } else {
            "not probed: needs root"
        };
        PROBES
            .iter()
            .map(|(name, ..)| Capability {
                name,
                available: false,
                detail: why.into(),
            })
            .collect()
    };
    let kernel = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_else(|e| format!("unknown ({e})"));
    KernelReport {
        kernel,
        root,
        btf,
        tracefs,
        bpffs,
        ring_buffer,
        program_types,
    }
}

fn probe_one(name: &'static str, prog: &str, attach: Option<Attach>) -> Capability {
    let result = (|| -> Result<String, String> {
        let mut storage = MaybeUninit::uninit();
        let mut open = ProbeSkelBuilder::default()
            .open(&mut storage)
            .map_err(|e| format!("open: {e}"))?;
        only_autoload(&mut open, prog);
        let skel = open
            .load()
            .map_err(|e| format!("load refused: {}", errno_text(&e)))?;
        match attach {
            None => Ok("loads (attach not tried: it would change the host's network setup)".into()),
            Some(attach) => attach(&skel.progs)
                .map(|_| "loads and attaches".into())
                .map_err(|e| format!("loads, but attach refused: {}", errno_text(&e))),
        }
    })();
    match result {
        Ok(detail) => Capability {
            name,
            available: true,
            detail,
        },
        Err(detail) => Capability {
            name,
            available: false,
            detail,
        },
    }
}

fn only_autoload(open: &mut OpenProbeSkel<'_>, keep: &str) {
    for mut prog in open.open_object_mut().progs_mut() {
        let wanted = prog.name().to_str() == Some(keep);
        prog.set_autoload(wanted);
    }
}

fn errno_text(e: &libbpf_rs::Error) -> String {
    e.to_string().lines().last().unwrap_or_default().to_string()
}

/// Attaches to a software cpu-clock event on CPU 0 (the profiler's hook).
fn attach_cpu_clock(p: &ProbeProgs<'_>) -> libbpf_rs::Result<Option<Link>> {
    use std::os::fd::IntoRawFd;

    let event = crate::profile::open_cpu_clock(0, 100).map_err(libbpf_rs::Error::from)?;
    // The link owns the event from here: libbpf closes it on detach.
    p.probe_perf_event
        .attach_perf_event(event.into_raw_fd())
        .map(Some)
}
