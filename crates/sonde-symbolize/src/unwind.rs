//! [`Unwinder`]: user stacks from the sampled registers and a copy of the
//! top of the stack, unwound with the mapped files' `.eh_frame` tables, as
//! `perf --call-graph dwarf` and samply do, for code built without frame
//! pointers (where the kernel's frame-pointer walk stops after a frame or
//! two, or wanders off).
//!
//! The unwinding itself is [framehop]'s. Per process, the unwinder keeps a
//! framehop module for each executable mapping of an ELF file (and for the
//! vDSO), built from the process's [`AddressSpaces`] entry and rebuilt when
//! its mappings change (a library `dlopen`ed: an address outside every
//! mapping makes it re-read them, as the symbolizer does). The tables are
//! read once per file and shared by all processes mapping it (see
//! `cache.rs`); placing them in a process is `tables.rs`. Code without
//! tables (JIT code, a file without `.eh_frame`) is unwound with frame
//! pointers.
//!
//! Stack memory is only what the sample copied, from the sampled stack
//! pointer up: a read outside it ends the stack. Any input is safe: a stack
//! that is garbage ends early and is not [complete](Unwound::complete).
//!
//! ```no_run
//! # fn main() -> Result<(), sonde_symbolize::SymbolizeError> {
//! use sonde_symbolize::{AddressSpaces, Symbolizer, Unwinder, UserRegs};
//! let (mut spaces, mut symbolizer, mut unwinder) =
//!     (AddressSpaces::new(), Symbolizer::new()?, Unwinder::new());
//! # let (pid, ip, sp, bp, stack) = (1, 0x401000, 0x7ffc_0000_0000, 0, &[0u8; 64][..]);
//! let regs = UserRegs { ip, sp, bp }; // and `stack`: the bytes from `sp` up
//! let unwound = unwinder.unwind(&mut spaces, pid, regs, stack, 127);
//! let frames = symbolizer.user_frames(&mut spaces, pid, &unwound.addrs);
//! # Ok(())
//! # }
//! ```

mod cache;
mod tables;

use std::collections::HashMap;
use std::sync::Arc;

use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{Error as FramehopError, Unwinder as _};
use serde::Serialize;

use crate::address_space::{AddressSpaces, Space, Target};
use cache::TableCache;
use tables::{Bytes, UnwindTables};

/// Bytes of unwind tables kept by default for files no process being
/// unwound maps any more; see [`Unwinder::with_table_budget`].
pub const DEFAULT_TABLE_BUDGET: usize = 64 << 20;

/// No user stack lies below this: Linux maps nothing under
/// `vm.mmap_min_addr` (at least a page). A lower stack pointer is not a
/// user stack pointer.
const MIN_STACK_POINTER: u64 = 4096;

/// The user registers of a sample, as the kernel saved them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserRegs {
    pub ip: u64,
    pub sp: u64,
    pub bp: u64,
}

/// One unwound user stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwound {
    /// The sampled instruction first, then the return addresses, outward;
    /// what [`Symbolizer::user_frames`](crate::Symbolizer::user_frames)
    /// takes. Empty if the sample has no user registers.
    pub addrs: Vec<u64>,
    /// The walk ended cleanly at the outermost frame (a thread's entry point
    /// or a zero return address), every address inside a mapping of the
    /// process; not on an error, the end of the copied stack bytes or
    /// `max_frames`.
    pub complete: bool,
}

/// The unwinder's counters, totals since it was created; read with
/// [`Unwinder::stats`].
///
/// Every stack asked for ends in exactly one of `complete`, `out_of_stack`,
/// `max_frames`, `unmapped`, `errors`, `unknown_process`, `no_registers`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UnwindStats {
    /// Stacks asked to unwind.
    pub stacks: u64,
    /// Unwound to the outermost frame.
    pub complete: u64,
    /// Ended needing stack memory beyond the copied bytes (a deep stack).
    pub out_of_stack: u64,
    /// Stopped at `max_frames` addresses.
    pub max_frames: u64,
    /// Ended at an address outside every mapping of the process, even after
    /// its maps were read again: a corrupt stack (or an unwinding mistake).
    pub unmapped: u64,
    /// Ended with another error: stack memory below the stack pointer, a
    /// walk that did not move or moved backwards, a null return address.
    pub errors: u64,
    /// Of a process that could not be observed (gone, or no address space).
    pub unknown_process: u64,
    /// Samples without a user instruction or stack pointer.
    pub no_registers: u64,
    /// Mapped files whose unwind tables were read.
    pub files_parsed: u64,
    /// Of those, files with neither `.eh_frame` nor `.debug_frame`: their
    /// code is unwound with frame pointers.
    pub files_without_tables: u64,
    /// Mapped files that could not be read as x86_64 ELF files (their code
    /// is unwound with frame pointers).
    pub files_unreadable: u64,
    /// Executable mappings no `PT_LOAD` segment of their file covers
    /// (unwound with frame pointers); counted at each module build.
    pub mappings_unplaced: u64,
    /// Files' tables dropped: the file was closed, or no process held them
    /// and the budget was exceeded.
    pub files_evicted: u64,
    /// Bytes of unwind tables held now.
    pub table_bytes: u64,
    /// Module lists built for a process: once when first unwound, again
    /// whenever its mappings changed.
    pub module_builds: u64,
}

/// Unwinds user stacks of the processes in an [`AddressSpaces`].
#[derive(Debug)]
pub struct Unwinder {
    processes: HashMap<u32, Process>,
    tables: TableCache,
    /// framehop's cache of unwind rules by address, shared by all processes.
    cache: FramehopCache,
    stats: UnwindStats,
}

/// One process's modules.
struct Process {
    /// The [`Space::generation`] they were built from.
    generation: u64,
    unwinder: UnwinderX86_64<Bytes>,
    /// The tables its modules use: holding them keeps their cache entries
    /// from being dropped as idle.
    _tables: Vec<Arc<UnwindTables>>,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

struct FramehopCache(CacheX86_64);

impl std::fmt::Debug for FramehopCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FramehopCache").finish_non_exhaustive()
    }
}

/// How a walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Complete,
    OutOfStack,
    MaxFrames,
    Unmapped,
    Error,
}

impl Default for Unwinder {
    fn default() -> Self {
        Self::new()
    }
}

impl Unwinder {
    /// Keeps up to [`DEFAULT_TABLE_BUDGET`] bytes of tables no process
    /// holds.
    pub fn new() -> Self {
        Self::with_table_budget(DEFAULT_TABLE_BUDGET)
    }

    /// Keeps up to `bytes` of unwind tables of files that no process being
    /// unwound maps (for the next process mapping them). The tables of the
    /// files processes map are kept whatever their size.
    pub fn with_table_budget(bytes: usize) -> Self {
        Self {
            processes: HashMap::new(),
            tables: TableCache::new(bytes),
            cache: FramehopCache(CacheX86_64::new()),
            stats: UnwindStats::default(),
        }
    }

    /// Unwinds one stack of process `pid`: `regs` as sampled, `stack` the
    /// bytes copied from `regs.sp` up. Returns at most `max_frames`
    /// addresses. The process is observed now if it was not before.
    pub fn unwind(
        &mut self,
        spaces: &mut AddressSpaces,
        pid: u32,
        regs: UserRegs,
        stack: &[u8],
        max_frames: usize,
    ) -> Unwound {
        self.stats.stacks += 1;
        if regs.ip == 0 || max_frames == 0 {
            self.stats.no_registers += 1;
            return incomplete(Vec::new());
        }
        if regs.sp < MIN_STACK_POINTER {
            self.stats.no_registers += 1;
            return incomplete(vec![regs.ip]);
        }
        if let Err(error) = spaces.observe(pid) {
            tracing::debug!(pid, %error, "unwinding a stack of a process that cannot be observed");
            self.stats.unknown_process += 1;
            return incomplete(vec![regs.ip]);
        }
        let mut walked = self.walk(spaces, pid, regs, stack, max_frames);
        if walked.1 == End::Unmapped {
            // Perhaps a library mapped since the maps were read.
            let before = spaces.space(pid).map(|s| s.generation);
            spaces.refresh_maps(pid);
            if spaces.space(pid).map(|s| s.generation) != before {
                walked = self.walk(spaces, pid, regs, stack, max_frames);
            }
        }
        let (addrs, end) = walked;
        let counter = match end {
            End::Complete => &mut self.stats.complete,
            End::OutOfStack => &mut self.stats.out_of_stack,
            End::MaxFrames => &mut self.stats.max_frames,
            End::Unmapped => &mut self.stats.unmapped,
            End::Error => &mut self.stats.errors,
        };
        *counter += 1;
        Unwound {
            addrs,
            complete: end == End::Complete,
        }
    }

    /// Forgets the modules of process `pid` (once the profiler released it
    /// from the [`AddressSpaces`]); the tables only it used become idle.
    pub fn forget(&mut self, pid: u32) {
        self.processes.remove(&pid);
    }

    /// The counters.
    pub fn stats(&self) -> UnwindStats {
        self.stats
    }

    /// Walks the stack with the modules of `pid`, built first if its
    /// mappings changed since.
    fn walk(
        &mut self,
        spaces: &AddressSpaces,
        pid: u32,
        regs: UserRegs,
        stack: &[u8],
        max_frames: usize,
    ) -> (Vec<u64>, End) {
        let Some(space) = spaces.space(pid) else {
            return (vec![regs.ip], End::Error);
        };
        let current = self
            .processes
            .get(&pid)
            .is_some_and(|p| p.generation == space.generation);
        if !current {
            // Dropped first, so the tables only it held can be trimmed.
            self.processes.remove(&pid);
            let process = build(&mut self.tables, spaces, space, &mut self.stats);
            self.tables.trim(spaces, &mut self.stats);
            self.processes.insert(pid, process);
        }
        let Some(process) = self.processes.get(&pid) else {
            return (vec![regs.ip], End::Error);
        };
        walk_stack(
            &process.unwinder,
            &mut self.cache.0,
            space,
            regs,
            stack,
            max_frames,
        )
    }
}

/// The modules of one process: one per executable mapping of a file with
/// unwind tables, and the vDSO's.
fn build(
    tables: &mut TableCache,
    spaces: &AddressSpaces,
    space: &Space,
    stats: &mut UnwindStats,
) -> Process {
    stats.module_builds += 1;
    let mut unwinder = UnwinderX86_64::new();
    let mut used: Vec<Arc<UnwindTables>> = Vec::new();
    for region in &space.regions {
        let found = match region.target {
            Target::File(id) => tables.file(spaces, id, stats),
            Target::Vdso => tables.vdso(region.mapping.end - region.mapping.start),
            Target::Jit | Target::Unreadable | Target::Other => None,
        };
        let Some(found) = found.filter(|t| t.has_tables()) else {
            continue;
        };
        match found.module(region.module(), &region.mapping) {
            Some(module) => unwinder.add_module(module),
            None => {
                tracing::debug!(module = region.module(), "no segment holds the mapping");
                stats.mappings_unplaced += 1;
            }
        }
        if !used.iter().any(|t| Arc::ptr_eq(t, &found)) {
            used.push(found);
        }
    }
    Process {
        generation: space.generation,
        unwinder,
        _tables: used,
    }
}

/// Walks one stack: framehop's frames until it finds the end, fails, needs
/// bytes the copy does not have, or reaches an address outside every
/// mapping (kept, as the last address).
fn walk_stack(
    unwinder: &UnwinderX86_64<Bytes>,
    cache: &mut CacheX86_64,
    space: &Space,
    regs: UserRegs,
    stack: &[u8],
    max_frames: usize,
) -> (Vec<u64>, End) {
    let mut read_stack = |addr| read_u64(stack, regs.sp, addr);
    let mut frames = unwinder.iter_frames(
        regs.ip,
        UnwindRegsX86_64::new(regs.ip, regs.sp, regs.bp),
        cache,
        &mut read_stack,
    );
    let mut addrs = Vec::new();
    loop {
        let frame = match frames.next() {
            Ok(Some(frame)) => frame,
            Ok(None) => return (addrs, End::Complete),
            Err(FramehopError::CouldNotReadStack(addr)) if beyond(stack, regs.sp, addr) => {
                return (addrs, End::OutOfStack)
            }
            Err(_) => return (addrs, End::Error),
        };
        if addrs.len() == max_frames {
            return (addrs, End::MaxFrames);
        }
        addrs.push(frame.address());
        if space.region_index(frame.address_for_lookup()).is_none() {
            return (addrs, End::Unmapped);
        }
    }
}

/// The little-endian `u64` at `addr` of the stack copied from `sp` up.
fn read_u64(stack: &[u8], sp: u64, addr: u64) -> Result<u64, ()> {
    let offset = addr
        .checked_sub(sp)
        .and_then(|o| usize::try_from(o).ok())
        .ok_or(())?;
    let bytes = stack
        .get(offset..offset.checked_add(8).ok_or(())?)
        .ok_or(())?;
    let bytes: [u8; 8] = bytes.try_into().map_err(|_| ())?;
    Ok(u64::from_le_bytes(bytes))
}

/// True if reading a `u64` at `addr` needs bytes past the end of the stack
/// copied from `sp` (rather than below `sp`, which no unwinding should).
fn beyond(stack: &[u8], sp: u64, addr: u64) -> bool {
    let end = sp.saturating_add(stack.len() as u64);
    addr >= sp && addr.saturating_add(8) > end
}

fn incomplete(addrs: Vec<u64>) -> Unwound {
    Unwound {
        addrs,
        complete: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_send() {
        fn send<T: Send>() {}
        send::<Unwinder>();
    }

    #[test]
    fn reads_only_inside_the_copied_stack() {
        let sp = 0x7000;
        let stack: Vec<u8> = (0..24).collect();
        assert_eq!(read_u64(&stack, sp, sp), Ok(0x0706_0504_0302_0100));
        assert_eq!(read_u64(&stack, sp, sp + 16), Ok(0x1716_1514_1312_1110));
        assert_eq!(read_u64(&stack, sp, sp + 17), Err(()));
        assert_eq!(read_u64(&stack, sp, sp - 8), Err(()));
        assert_eq!(read_u64(&stack, sp, u64::MAX), Err(()));
        assert_eq!(read_u64(&[], sp, sp), Err(()));
    }

    #[test]
    fn a_sample_without_registers_is_not_unwound() {
        let mut spaces = AddressSpaces::new();
        let mut unwinder = Unwinder::new();
        let regs = UserRegs {
            ip: 0,
            sp: 0x7fff_0000,
            bp: 0,
        };
        let unwound = unwinder.unwind(&mut spaces, 1, regs, &[0; 64], 127);
        assert_eq!(unwound, incomplete(Vec::new()));
        let regs = UserRegs {
            ip: 0x1000,
            sp: 8,
            bp: 0,
        };
        let unwound = unwinder.unwind(&mut spaces, 1, regs, &[0; 64], 127);
        assert_eq!(unwound, incomplete(vec![0x1000]));
        let stats = unwinder.stats();
        assert_eq!((stats.stacks, stats.no_registers), (2, 2));
    }
}
