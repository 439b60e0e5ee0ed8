//! Sampled addresses to named frames, for the CPU profiler.
//!
//! The profiler hands over, per stack, a process id and its user-space
//! addresses (and kernel addresses), leaf first. Processes are
//! [observed](AddressSpaces::observe) while alive: their executable mappings
//! are captured and the files they map are opened and kept open, so their
//! samples can still be named at the end of the window after the process
//! exited or its executable was deleted. [`Symbolizer`] then turns addresses
//! into [`sonde_event::Frame`]s, inlined functions included.
//!
//! The data path, file by file:
//! - `maps.rs`: `/proc/PID/maps` text to executable mappings (pure parser).
//! - `files.rs`: the open ELF files, keyed by device and inode, shared by
//!   build id, reference-counted by the processes mapping them, bounded.
//! - `address_space.rs`: [`AddressSpaces`], per process its mappings and
//!   what symbolizes each (file, perf map, vDSO); re-read on a miss.
//! - `perf_map.rs`: `/tmp/perf-PID.map` JIT symbols (pure parser).
//! - `blaze.rs`: blazesym, which is not `Send`, on a thread of its own.
//! - `memo.rs`: the symbols already looked up, so recurring addresses are
//!   asked of blazesym once.
//! - `symbolizer.rs`: [`Symbolizer`], addresses to frames.
//! - `stats.rs`: [`SymbolizeStats`], every address not named, by cause.
//! - `unwind.rs`: [`Unwinder`], user stacks unwound from a sample's
//!   registers and stack copy with the mapped files' `.eh_frame` tables, for
//!   code built without frame pointers; `unwind/tables.rs` reads and places
//!   one file's tables, `unwind/cache.rs` shares them between processes.
//!
//! Observing processes needs root (`/proc/PID/map_files`).
//!
//! ```no_run
//! # fn main() -> Result<(), sonde_symbolize::SymbolizeError> {
//! use sonde_symbolize::{AddressSpaces, Symbolizer};
//! let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new()?);
//! # let (pid, user_addrs, kernel_addrs) = (1, vec![0x401000], vec![]);
//! spaces.observe(pid)?; // when the first sample of `pid` arrives
//! // … at the end of the window:
//! let user = symbolizer.user_frames(&mut spaces, pid, &user_addrs);
//! let kernel = symbolizer.kernel_frames(&kernel_addrs);
//! spaces.release(pid); // once it exited and its samples were named
//! # Ok(())
//! # }
//! ```

mod address_space;
mod blaze;
mod error;
mod files;
mod maps;
mod memo;
mod perf_map;
mod stats;
mod symbolizer;
mod unwind;

pub use address_space::{AddressSpaces, DEFAULT_FILE_CAPACITY, MIN_REREAD_INTERVAL};

/// Outermost functions of a complete user stack: where threads begin. A
/// stack unwound to anything else was cut short.
pub const THREAD_ENTRIES: [&str; 9] = [
    "_start",
    "__libc_start_main",
    "__libc_start_call_main",
    "start_thread",
    "clone",
    "clone3",
    "__clone",
    "__clone3",
    "_dl_start_user",
];
pub use error::SymbolizeError;
pub use stats::SymbolizeStats;
pub use symbolizer::{Symbolizer, JIT_MODULE, KERNEL_MODULE, UNMAPPED_MODULE};
pub use unwind::{UnwindStats, Unwinder, Unwound, UserRegs, DEFAULT_TABLE_BUDGET};
