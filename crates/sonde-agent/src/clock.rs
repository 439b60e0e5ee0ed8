//! Kernel timestamps are CLOCK_BOOTTIME; events carry wall-clock time.

use nix::time::{clock_gettime, ClockId};
use sonde_event::Timestamp;

/// Converts CLOCK_BOOTTIME nanoseconds to wall-clock time.
#[derive(Debug, Clone, Copy)]
pub struct BootClock {
    /// Wall-clock time of boot, in nanoseconds since the epoch.
    boot_wall_ns: u64,
}

fn now_ns(clock: ClockId) -> u64 {
    let t = clock_gettime(clock).expect("CLOCK_REALTIME and CLOCK_BOOTTIME always exist");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

impl BootClock {
    pub fn new() -> Self {
        let wall = now_ns(ClockId::CLOCK_REALTIME);
        let boot = now_ns(ClockId::CLOCK_BOOTTIME);
        BootClock {
            boot_wall_ns: wall.saturating_sub(boot),
        }
    }

    pub fn now_boot_ns() -> u64 {
        now_ns(ClockId::CLOCK_BOOTTIME)
    }

    pub fn to_wall(self, boot_ns: u64) -> Timestamp {
        Timestamp(self.boot_wall_ns + boot_ns)
    }
}

impl Default for BootClock {
    fn default() -> Self {
        Self::new()
    }
}
