//! `exec_id`: a host-unique, stable name for one process image.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Builds exec ids as base64url(`<boot id>:<boot-time ns>:<pid>`), in the
/// manner of Tetragon. The boot id makes ids unique across reboots; the
/// CLOCK_BOOTTIME nanosecond at which the image began (exec, fork, or the
/// /proc start time for processes already running) and the pid make them
/// unique within a boot. Deterministic, so the same inputs give the same id
/// in every agent run.
#[derive(Debug, Clone)]
pub struct ExecIds {
    boot_id: String,
}

impl ExecIds {
    pub fn new(boot_id: &str) -> Self {
        // The first group of the UUID is plenty to tell boots of one host apart.
        let short = boot_id.trim().split('-').next().unwrap_or_default();
        ExecIds {
            boot_id: short.to_string(),
        }
    }

    /// Reads the kernel's boot id.
    pub fn for_this_boot() -> std::io::Result<Self> {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|id| Self::new(&id))
    }

    pub fn id(&self, boot_ns: u64, pid: u32) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{boot_ns}:{pid}", self.boot_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let ids = ExecIds::new("9f8a2c1d-0000-4000-8000-000000000000\n");
        assert_eq!(ids.id(5, 42), ids.id(5, 42));
        assert_ne!(ids.id(5, 42), ids.id(6, 42));
        assert_ne!(ids.id(5, 42), ids.id(5, 43));
        let decoded = URL_SAFE_NO_PAD.decode(ids.id(123, 7)).unwrap();
        assert_eq!(decoded, b"9f8a2c1d:123:7");
    }
}
