//! Finds the OpenSSL libraries (libssl) that processes map, so the capture's
//! uprobes can be attached to each: once per file, for every process that
//! maps it now or later. A process in a container maps its own copy, found
//! through /proc/PID/root.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sonde_bpf::CaptureProgram;

use crate::stats::Stats;

/// Attaches the capture's OpenSSL uprobes to every libssl found, once each.
pub struct TlsWatcher {
    capture: Arc<CaptureProgram>,
    /// Paths tried already (attached, the same file under another name, or failed).
    tried: BTreeSet<PathBuf>,
}

impl TlsWatcher {
    pub fn new(capture: Arc<CaptureProgram>) -> Self {
        TlsWatcher {
            capture,
            tried: BTreeSet::new(),
        }
    }

    /// Looks for libssl in the system's directories and in every process's
    /// mappings, and attaches to each new one.
    pub fn scan(&mut self, stats: &Stats) {
        let found = system_libraries()
            .into_iter()
            .chain(mapped_libraries(Path::new("/proc")));
        for path in found {
            if !self.tried.insert(path.clone()) {
                continue;
            }
            match self.capture.attach_openssl(&path) {
                Ok(true) => tracing::info!(library = %path.display(), "TLS capture attached"),
                Ok(false) => {}
                Err(e) => {
                    stats.requests.tls_attach_failures.fetch_add(1, Relaxed);
                    tracing::warn!(library = %path.display(), error = %e, "cannot attach TLS capture");
                }
            }
        }
        stats
            .requests
            .tls_libraries
            .store(self.capture.openssl_libraries().len() as u64, Relaxed);
    }
}

/// Where Debian and others keep the system's libssl, attached at start even
/// before any process maps it.
const SYSTEM_DIRS: [&str; 4] = [
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
];

/// Whether a file name is a libssl shared object (`libssl.so.3`, `libssl.so.1.1`).
fn is_libssl(name: &str) -> bool {
    name.starts_with("libssl.so")
}

/// libssl files in the system's library directories.
pub fn system_libraries() -> BTreeSet<PathBuf> {
    SYSTEM_DIRS
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(is_libssl))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect()
}

/// libssl files mapped by any running process, as paths this process can
/// open (through the mapping process's root).
pub fn mapped_libraries(proc: &Path) -> BTreeSet<PathBuf> {
    let Ok(entries) = std::fs::read_dir(proc) else {
        return BTreeSet::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .flat_map(|e| {
            let maps = std::fs::read_to_string(e.path().join("maps")).unwrap_or_default();
            libssl_paths(&maps)
                .into_iter()
                .map(|p| e.path().join("root").join(p.trim_start_matches('/')))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The libssl paths in the text of one /proc/PID/maps.
fn libssl_paths(maps: &str) -> BTreeSet<String> {
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| path.starts_with('/') && path.rsplit('/').next().is_some_and(is_libssl))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libssl_mappings_are_found_and_others_are_not() {
        let maps = "\
7f1c2a000000-7f1c2a05f000 r--p 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libssl.so.3
7f1c2a05f000-7f1c2a0c0000 r-xp 0005f000 08:01 1234 /usr/lib/x86_64-linux-gnu/libssl.so.3
7f1c2b000000-7f1c2b100000 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libcrypto.so.3
7f1c2c000000-7f1c2c001000 rw-p 00000000 00:00 0
7ffd1000000-7ffd1021000 rw-p 00000000 00:00 0 [stack]
7f1c2d000000-7f1c2d001000 r-xp 00000000 08:01 7 /opt/app/libssl.so.1.1 (deleted)
";
        let found: Vec<String> = libssl_paths(maps).into_iter().collect();
        assert_eq!(
            found,
            [
                "/opt/app/libssl.so.1.1",
                "/usr/lib/x86_64-linux-gnu/libssl.so.3"
            ]
        );
    }
}
