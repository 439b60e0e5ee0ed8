//! The symbolizer's counters: what it looked at, what it kept open, and every
//! address it could not name, by cause.

use serde::Serialize;

/// Totals since the [`AddressSpaces`](crate::AddressSpaces) and the
/// [`Symbolizer`](crate::Symbolizer) were created; read with
/// [`Symbolizer::stats`](crate::Symbolizer::stats).
///
/// Address counters count addresses, not frames: an address whose function
/// had others inlined into it is one address but several frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SymbolizeStats {
    /// Processes whose mappings were captured.
    pub processes_observed: u64,
    /// Attempts to observe a process that failed: gone, a kernel thread (no
    /// user address space), or `/proc/PID/maps` unreadable. A pid not
    /// observed is tried again by each call symbolizing its addresses.
    pub observe_failures: u64,
    /// `/proc/PID/maps` read again because an address was outside every
    /// known mapping (a library `dlopen`ed after the first look).
    pub maps_rereads: u64,
    /// Lines of `/proc/PID/maps` or of a perf map that could not be parsed.
    pub malformed_lines: u64,
    /// Perf maps (JIT symbols) read, first or again.
    pub perf_map_reads: u64,
    /// Mapped ELF files opened (through `/proc/PID/map_files`) and kept open.
    pub files_opened: u64,
    /// Files found to be a copy of one already open (same build id and
    /// size) and symbolized through it.
    pub files_shared_by_build_id: u64,
    /// Files closed: no live process maps them any more and the cache needed
    /// room, or they were deleted.
    pub files_evicted: u64,
    /// Files that could not be opened (the mapping's process already gone,
    /// no permission, out of file descriptors).
    pub file_open_failures: u64,
    /// Files not opened because every cache slot was held by a live process.
    pub file_cache_full: u64,
    /// Addresses named (user, kernel and JIT).
    pub addresses_resolved: u64,
    /// Of those, addresses named from a JIT's perf map.
    pub jit_addresses: u64,
    /// Addresses outside every mapping of their process (or of a process
    /// that could not be observed).
    pub unknown_no_mapping: u64,
    /// Addresses inside a mapping whose file (or perf map, or the kernel's
    /// symbols) has no symbol for them: stripped binaries, JIT code without a
    /// perf map, padding.
    pub unknown_no_symbol: u64,
    /// Addresses inside a file that could not be opened or read as ELF.
    pub unknown_file_unreadable: u64,
}
