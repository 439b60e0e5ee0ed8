//! Loads and attaches the file and security programs (bpf/security.bpf.c)
//! and fills their watched-prefix map.
//!
//! # The prefix filter
//!
//! `watch_prefixes` is an LPM trie keyed by path bytes (`WatchKey`: a bit
//! length and 256 bytes). At a file syscall's entry the kernel reads the path
//! the caller passed, looks up the longest watched prefix of it, and keeps the
//! call only when that prefix ends at a component boundary (`/etc` covers
//! `/etc` and `/etc/passwd`, not `/etcetera`); when it does not, the next
//! shorter watched prefix is tried, up to 8 times. An unwatched absolute path
//! costs one bounded string read and one trie lookup. Limits: a prefix is at
//! most 255 bytes (the kernel caps LPM keys at 256 bytes; longer prefixes are
//! refused with an error), at most 1024 prefixes, and only the first 255
//! bytes of a path take part in the match.
//!
//! A prefix given as `PATH:write` reports only modifications under it:
//! read-only opens (no `O_WRONLY`, `O_RDWR`, `O_CREAT` or `O_TRUNC`) are
//! dropped in the kernel too. The most specific prefix decides.
//!
//! Relative paths (not starting with `/`) cannot be placed without walking
//! the working directory or the dirfd's dentries, so the kernel keeps them
//! with a `relative` flag; user space resolves them against
//! `/proc/PID/cwd` or `/proc/PID/fd/N` and filters them again.

use std::path::Path;

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, MapHandle};

use crate::abi::{WatchKey, WatchValue, SECC_COUNTER_MAX, WATCH_KEY_MAX, WATCH_READS};
use crate::counters::{PerCpuCounters, SkippedRuns};
use crate::decode::bytes_of;
use crate::hooks::{attach, Hook, HookKind, SECURITY_HOOKS};
use crate::mounts::TRACEFS;
use crate::process::{map_handle, preflight, ring_geometry, ring_losses, skeleton_storage};
use crate::skel::security::{SecuritySkel, SecuritySkelBuilder};
use crate::BpfError;

/// Most prefixes the kernel map holds.
pub const MAX_WATCH_PATHS: usize = 1024;

/// What the security collector watches.
#[derive(Debug, Clone)]
pub struct SecurityOptions {
    pub ring_bytes: u32,
    /// Report file operations on these path prefixes; empty: no file events.
    pub watch_paths: Vec<String>,
}

/// The loaded, attached programs. Dropping it detaches them.
pub struct SecurityProgram {
    // Links first: they detach before the object that owns the programs goes.
    _links: Vec<Link>,
    skel: SecuritySkel<'static>,
    skipped: Vec<&'static str>,
    attached: Vec<Hook>,
}

/// Suffix of a `--watch-path` that reports modifications only (no read-only opens).
pub const WRITE_ONLY_SUFFIX: &str = ":write";

/// One watched prefix: `PATH` reports every operation under it, `PATH:write`
/// only those that modify (opens for writing or creating, unlink, rename,
/// chmod, chown). The most specific prefix decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchPrefix {
    /// Absolute, without a trailing slash (except `/` itself).
    pub path: String,
    pub reads: bool,
}

impl WatchPrefix {
    pub fn parse(spec: &str) -> Result<Self, BpfError> {
        let (path, reads) = match spec.strip_suffix(WRITE_ONLY_SUFFIX) {
            Some(p) => (p, false),
            None => (spec, true),
        };
        let err = |reason: String| BpfError::WatchPath {
            path: spec.into(),
            reason,
        };
        if !path.starts_with('/') {
            return Err(err("must be an absolute path".into()));
        }
        if path.as_bytes().contains(&0) {
            return Err(err("contains a NUL byte".into()));
        }
        let trimmed = match path.trim_end_matches('/') {
            "" => "/",
            t => t,
        };
        if trimmed.len() >= WATCH_KEY_MAX {
            return Err(err(format!(
                "{} bytes is longer than the kernel's prefix limit of {} bytes",
                trimmed.len(),
                WATCH_KEY_MAX - 1
            )));
        }
        Ok(WatchPrefix {
            path: trimmed.into(),
            reads,
        })
    }

    /// The kernel map's key and value.
    pub fn entry(&self) -> (WatchKey, WatchValue) {
        let mut key = WatchKey {
            prefixlen: (self.path.len() * 8) as u32,
            path: [0; WATCH_KEY_MAX],
        };
        key.path[..self.path.len()].copy_from_slice(self.path.as_bytes());
        let value = WatchValue {
            len: self.path.len() as u32,
            flags: if self.reads { WATCH_READS } else { 0 },
        };
        (key, value)
    }

    /// Whether this prefix covers `path` (at a component boundary).
    pub fn covers(&self, path: &str) -> bool {
        self.path == "/"
            || path
                .strip_prefix(self.path.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// Whether the hook's tracepoint exists on this kernel (its tracefs event).
fn present(hook: &Hook) -> bool {
    match (hook.kind, hook.name.split_once(':')) {
        (HookKind::Tracepoint, Some((category, name))) => {
            let root = TRACEFS.mounted_at().unwrap_or_else(|| TRACEFS.path.into());
            Path::new(&root)
                .join("events")
                .join(category)
                .join(name)
                .exists()
        }
        _ => true,
    }
}

/// The security hooks whose syscall this kernel lacks.
pub(crate) fn absent_hooks() -> Vec<&'static str> {
    SECURITY_HOOKS
        .iter()
        .filter(|h| !present(h))
        .map(|h| h.name)
        .collect()
}

fn is_file_hook(hook: &Hook) -> bool {
    hook.program == "exit_file" || FILE_ENTRIES.contains(&hook.program)
}

const FILE_ENTRIES: [&str; 16] = [
    "enter_open",
    "enter_openat",
    "enter_openat2",
    "enter_creat",
    "enter_unlink",
    "enter_unlinkat",
    "enter_rmdir",
    "enter_rename",
    "enter_renameat",
    "enter_renameat2",
    "enter_chmod",
    "enter_fchmodat",
    "enter_fchmodat2",
    "enter_chown",
    "enter_lchown",
    "enter_fchownat",
];

impl SecurityProgram {
    /// Loads the programs, fills the watched prefixes and attaches every hook
    /// of [`SECURITY_HOOKS`] this kernel has. File hooks are attached only
    /// when `watch_paths` is not empty.
    pub fn load(options: &SecurityOptions) -> Result<Self, BpfError> {
        preflight()?;
        if options.watch_paths.len() > MAX_WATCH_PATHS {
            return Err(BpfError::WatchPath {
                path: options.watch_paths[MAX_WATCH_PATHS].clone(),
                reason: format!("more than {MAX_WATCH_PATHS} watched paths"),
            });
        }
        let keys = options
            .watch_paths
            .iter()
            .map(|p| WatchPrefix::parse(p).map(|w| w.entry()))
            .collect::<Result<Vec<_>, _>>()?;
        let load_err = |source| BpfError::Load {
            object: "security",
            source,
        };
        let mut open = SecuritySkelBuilder::default()
            .open(skeleton_storage())
            .map_err(load_err)?;
        let (ring, wakeup) = ring_geometry(options.ring_bytes);
        open.maps.events.set_max_entries(ring).map_err(load_err)?;
        if let Some(rodata) = open.maps.rodata_data.as_deref_mut() {
            rodata.wakeup_bytes = wakeup;
        }
        let mut skel = open.load().map_err(load_err)?;
        for (key, value) in &keys {
            skel.maps
                .watch_prefixes
                .update(bytes_of(key), bytes_of(value), MapFlags::ANY)
                .map_err(|source| BpfError::Map {
                    map: "watch_prefixes",
                    source,
                })?;
        }
        let mut links = Vec::new();
        let mut skipped = Vec::new();
        let mut attached = Vec::new();
        for hook in &SECURITY_HOOKS {
            if keys.is_empty() && is_file_hook(hook) {
                continue;
            }
            if !present(hook) {
                tracing::info!(hook = hook.name, "syscall absent on this kernel, skipped");
                skipped.push(hook.name);
                continue;
            }
            links.push(attach(skel.object_mut(), hook)?);
            attached.push(*hook);
        }
        Ok(SecurityProgram {
            _links: links,
            skel,
            skipped,
            attached,
        })
    }

    /// Hooks not attached because this kernel lacks their syscall.
    pub fn skipped(&self) -> &[&'static str] {
        &self.skipped
    }

    /// The hooks attached.
    pub fn attached(&self) -> &[Hook] {
        &self.attached
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

    /// Calls not reported (indexed by `SECC_*`): no room to park, or stale.
    pub fn counters(&self) -> Result<PerCpuCounters, BpfError> {
        Ok(PerCpuCounters::new(
            map_handle(&self.skel.maps.sec_counters, "sec_counters")?,
            "sec_counters",
            SECC_COUNTER_MAX,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(spec: &str) -> WatchKey {
        WatchPrefix::parse(spec).unwrap().entry().0
    }

    #[test]
    fn prefixes_are_normalised() {
        let k = key("/etc/");
        assert_eq!(k.prefixlen, 32);
        assert_eq!(&k.path[..5], b"/etc\0");
        assert_eq!(key("/").prefixlen, 8);
        assert_eq!(key("///").prefixlen, 8);
        let w = WatchPrefix::parse("/usr/lib/:write").unwrap();
        assert_eq!((w.path.as_str(), w.reads), ("/usr/lib", false));
        assert_eq!(w.entry().1, WatchValue { len: 8, flags: 0 });
        assert_eq!(
            WatchPrefix::parse("/etc").unwrap().entry().1.flags,
            WATCH_READS
        );
    }

    #[test]
    fn prefixes_cover_at_component_boundaries() {
        let etc = WatchPrefix::parse("/etc").unwrap();
        assert!(etc.covers("/etc") && etc.covers("/etc/shadow"));
        assert!(!etc.covers("/etcetera"));
        assert!(WatchPrefix::parse("/").unwrap().covers("/x"));
    }

    #[test]
    fn bad_prefixes_are_refused_with_the_reason() {
        let long = format!("/{}", "a".repeat(255));
        let e = WatchPrefix::parse(&long).unwrap_err().to_string();
        assert!(
            e.contains("longer than the kernel's prefix limit of 255"),
            "{e}"
        );
        assert!(WatchPrefix::parse(&long[..255]).is_ok());
        let e = WatchPrefix::parse("etc").unwrap_err().to_string();
        assert!(e.contains("absolute"), "{e}");
    }

    #[test]
    fn every_file_entry_is_a_hook() {
        for p in FILE_ENTRIES {
            assert!(SECURITY_HOOKS.iter().any(|h| h.program == p), "{p}");
        }
    }
}
