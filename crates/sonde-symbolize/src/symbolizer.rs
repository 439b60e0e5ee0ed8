//! [`Symbolizer`]: sampled addresses to [`Frame`]s.
//!
//! User addresses are located in the process's [`AddressSpaces`] entry and
//! turned into file offsets, then named by blazesym from the file held open
//! (ELF symbols, DWARF lines and inlined functions), from the perf map (JIT
//! code) or from the vDSO. Kernel addresses are named from kallsyms (or a
//! vmlinux, if blazesym finds one).
//!
//! Every address but the first of a stack is a return address: the call is
//! the instruction before it, so `addr - 1` is what gets looked up, while the
//! frame still reports the offset of the address as sampled.

use std::collections::HashMap;

use sonde_event::{Frame, FrameKind};

use crate::address_space::{AddressSpaces, Region, Space, Target};
use crate::blaze::{Blaze, Job, Symbol};
use crate::files::FileId;
use crate::memo::{Lookup, Memo, Origin};
use crate::{SymbolizeError, SymbolizeStats};

/// The module of frames in JIT-compiled code.
pub const JIT_MODULE: &str = "[jit]";
/// The module of kernel frames.
pub const KERNEL_MODULE: &str = "[kernel]";
/// The module of user addresses outside every mapping of their process.
pub const UNMAPPED_MODULE: &str = "[unknown]";

/// Names sampled addresses. Keeps what it parsed (symbol tables, DWARF,
/// kallsyms) for the files still open in the [`AddressSpaces`].
#[derive(Debug)]
pub struct Symbolizer {
    blaze: Blaze,
    memo: Memo,
    stats: SymbolizeStats,
}

impl Symbolizer {
    /// Starts the thread that runs blazesym.
    pub fn new() -> Result<Self, SymbolizeError> {
        Ok(Self {
            blaze: Blaze::spawn()?,
            memo: Memo::default(),
            stats: SymbolizeStats::default(),
        })
    }

    /// Names the user-space addresses of one stack of process `pid`, leaf
    /// first (`addrs[0]` the sampled instruction, the rest return addresses).
    ///
    /// Returns one entry per address, each one or more frames, outermost
    /// first: the function, then the functions inlined into it (`inlined`).
    /// An address that cannot be named is one frame without a function, with
    /// its module and file offset (counted by cause). The process is observed
    /// now if it was not before.
    pub fn user_frames(
        &mut self,
        spaces: &mut AddressSpaces,
        pid: u32,
        addrs: &[u64],
    ) -> Vec<Vec<Frame>> {
        self.forget_evicted(spaces);
        if addrs.is_empty() {
            return Vec::new();
        }
        if let Err(error) = spaces.observe(pid) {
            tracing::debug!(pid, %error, "user addresses of a process that cannot be observed");
            self.stats.unknown_no_mapping += addrs.len() as u64;
            return addrs.iter().map(|&a| vec![unmapped(a)]).collect();
        }
        let lookups: Vec<u64> = addrs
            .iter()
            .enumerate()
            .map(|(i, &a)| lookup_address(i, a))
            .collect();
        refresh_on_miss(spaces, pid, &lookups);
        self.forget_evicted(spaces);
        let Some(space) = spaces.space(pid) else {
            self.stats.unknown_no_mapping += addrs.len() as u64;
            return addrs.iter().map(|&a| vec![unmapped(a)]).collect();
        };

        let mut frames = vec![Vec::new(); addrs.len()];
        let mut by_file: HashMap<FileId, Vec<(usize, &Region)>> = HashMap::new();
        let mut in_vdso: Vec<(usize, &Region)> = Vec::new();
        for (i, (&addr, &lookup)) in addrs.iter().zip(&lookups).enumerate() {
            let Some(region) = space.region_index(lookup).map(|r| &space.regions[r]) else {
                self.stats.unknown_no_mapping += 1;
                frames[i] = vec![unmapped(addr)];
                continue;
            };
            match region.target {
                Target::File(file) => by_file.entry(file).or_default().push((i, region)),
                Target::Vdso => in_vdso.push((i, region)),
                Target::Jit => frames[i] = vec![self.jit_frame(space, addr, lookup)],
                Target::Unreadable => {
                    self.stats.unknown_file_unreadable += 1;
                    frames[i] = vec![unknown(region.module(), region.mapping.file_offset(addr))];
                }
                Target::Other => {
                    self.stats.unknown_no_symbol += 1;
                    frames[i] = vec![unknown(region.module(), region.mapping.file_offset(addr))];
                }
            }
        }

        for (file, located) in by_file {
            let path = spaces.symbol_path(file);
            let offsets = file_offsets(&located, &lookups);
            let symbols =
                self.memo
                    .symbols(&mut self.blaze, Origin::File(file), &offsets, |offsets| {
                        path.map(|path| Job::Elf { path, offsets })
                    });
            self.fill(&mut frames, &located, addrs, symbols);
        }
        if let Some(&(_, region)) = in_vdso.first() {
            let len = region.mapping.end - region.mapping.start;
            let offsets = file_offsets(&in_vdso, &lookups);
            let symbols =
                self.memo
                    .symbols(&mut self.blaze, Origin::Vdso(len), &offsets, |offsets| {
                        Some(Job::Vdso { len, offsets })
                    });
            self.fill(&mut frames, &in_vdso, addrs, symbols);
        }
        frames
    }

    /// Names the kernel addresses of one stack, leaf first; one entry per
    /// address as for [`Self::user_frames`], module `[kernel]`, offset the
    /// address.
    pub fn kernel_frames(&mut self, addrs: &[u64]) -> Vec<Vec<Frame>> {
        if addrs.is_empty() {
            return Vec::new();
        }
        let lookups: Vec<u64> = addrs
            .iter()
            .enumerate()
            .map(|(i, &a)| lookup_address(i, a))
            .collect();
        let symbols = self
            .memo
            .symbols(&mut self.blaze, Origin::Kernel, &lookups, |addrs| {
                Some(Job::Kernel { addrs })
            });
        addrs
            .iter()
            .zip(symbols)
            .map(|(&addr, symbol)| {
                let symbol = self.count(symbol);
                match symbol {
                    Some(symbol) => frames(symbol, KERNEL_MODULE, addr, FrameKind::Kernel),
                    None => vec![Frame {
                        kind: FrameKind::Kernel,
                        ..unknown(KERNEL_MODULE, addr)
                    }],
                }
            })
            .collect()
    }

    /// The counters of this symbolizer and of `spaces`, together.
    pub fn stats(&self, spaces: &AddressSpaces) -> SymbolizeStats {
        let s = spaces.stats();
        SymbolizeStats {
            processes_observed: s.processes_observed,
            observe_failures: s.observe_failures,
            maps_rereads: s.maps_rereads,
            malformed_lines: s.malformed_lines,
            perf_map_reads: s.perf_map_reads,
            files_opened: s.files_opened,
            files_shared_by_build_id: s.files_shared_by_build_id,
            files_evicted: s.files_evicted,
            file_open_failures: s.file_open_failures,
            file_cache_full: s.file_cache_full,
            ..self.stats
        }
    }

    /// Makes blazesym drop what it cached (and the descriptor it holds) for
    /// the files `spaces` closed, before their descriptor numbers are reused.
    fn forget_evicted(&mut self, spaces: &mut AddressSpaces) {
        for path in spaces.take_evicted() {
            self.blaze.evict(path);
        }
    }

    fn jit_frame(&mut self, space: &Space, addr: u64, lookup: u64) -> Frame {
        match space.jit_symbol(lookup) {
            Some(function) => {
                self.stats.addresses_resolved += 1;
                self.stats.jit_addresses += 1;
                Frame {
                    function: Some(function.to_owned()),
                    ..unknown(JIT_MODULE, addr)
                }
            }
            None => {
                self.stats.unknown_no_symbol += 1;
                unknown(JIT_MODULE, addr)
            }
        }
    }

    /// Puts the frames of one batch at the batch's indexes.
    fn fill(
        &mut self,
        frames: &mut [Vec<Frame>],
        located: &[(usize, &Region)],
        addrs: &[u64],
        symbols: Vec<Lookup>,
    ) {
        for (&(i, region), symbol) in located.iter().zip(symbols) {
            let offset = region.mapping.file_offset(addrs[i]);
            frames[i] = match self.count(symbol) {
                Some(symbol) => self::frames(symbol, region.module(), offset, FrameKind::User),
                None => vec![unknown(region.module(), offset)],
            };
        }
    }

    /// Counts what one address came to; its symbol, if it has one.
    fn count(&mut self, lookup: Lookup) -> Option<Symbol> {
        match lookup {
            Lookup::Named(symbol) => {
                self.stats.addresses_resolved += 1;
                return Some(symbol);
            }
            Lookup::NoSymbol => self.stats.unknown_no_symbol += 1,
            Lookup::Failed => self.stats.unknown_file_unreadable += 1,
        }
        None
    }
}

/// The address to look up for the `index`th address of a stack: the sampled
/// instruction itself, or the call before a return address.
fn lookup_address(index: usize, addr: u64) -> u64 {
    if index == 0 {
        addr
    } else {
        addr.saturating_sub(1)
    }
}

/// Re-reads the maps if a lookup falls outside every mapping, and the perf
/// map if one falls in JIT code it does not name.
fn refresh_on_miss(spaces: &mut AddressSpaces, pid: u32, lookups: &[u64]) {
    let Some(space) = spaces.space(pid) else {
        return;
    };
    let regions: Vec<Option<&Region>> = lookups
        .iter()
        .map(|&a| space.region_index(a).map(|r| &space.regions[r]))
        .collect();
    let unmapped = regions.iter().any(Option::is_none);
    let unnamed_jit = lookups.iter().zip(&regions).any(|(&a, r)| {
        matches!(r, Some(r) if r.target == Target::Jit) && space.jit_symbol(a).is_none()
    });
    if unmapped {
        spaces.refresh_maps(pid);
    }
    if unnamed_jit {
        spaces.refresh_perf_map(pid);
    }
}

fn file_offsets(located: &[(usize, &Region)], lookups: &[u64]) -> Vec<u64> {
    located
        .iter()
        .map(|&(i, region)| region.mapping.file_offset(lookups[i]))
        .collect()
}

/// The frames of a named address: the function, then what was inlined.
fn frames(symbol: Symbol, module: &str, offset: u64, kind: FrameKind) -> Vec<Frame> {
    symbol
        .into_iter()
        .enumerate()
        .map(|(depth, located)| Frame {
            function: Some(located.function),
            module: module.to_owned(),
            offset,
            file: located.file,
            line: located.line,
            kind,
            inlined: depth > 0,
        })
        .collect()
}

fn unknown(module: &str, offset: u64) -> Frame {
    Frame {
        function: None,
        module: module.to_owned(),
        offset,
        file: None,
        line: None,
        kind: FrameKind::User,
        inlined: false,
    }
}

fn unmapped(addr: u64) -> Frame {
    unknown(UNMAPPED_MODULE, addr)
}
