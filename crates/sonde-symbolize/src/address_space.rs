//! [`AddressSpaces`]: the executable mappings of each observed process,
//! captured while it is alive so its samples can be named after it exited.
//!
//! `observe` reads `/proc/PID/maps` once per process and opens each mapped
//! file through the [`FileCache`]; anonymous executable mappings (JIT code)
//! make it read the process's perf map too. An address outside every known
//! mapping makes the symbolizer ask for [`AddressSpaces::refresh_maps`] (a
//! library `dlopen`ed since), which re-reads the maps of a live process at
//! most once per [`MIN_REREAD_INTERVAL`] after the first re-read; the perf
//! map likewise. `release` forgets a process and drops its file references.
//! Each process's regions carry a generation, new whenever they change, so
//! what is derived from them (the unwinder's modules) knows to follow.

use std::collections::HashMap;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::files::{FileCache, FileId};
use crate::maps::{self, Backing, Mapping};
use crate::perf_map::{self, PerfMap};
use crate::{SymbolizeError, SymbolizeStats};

/// Files kept open by default; see [`AddressSpaces::with_file_capacity`].
pub const DEFAULT_FILE_CAPACITY: usize = 4096;

/// The shortest time between two re-reads of one process's maps (or of its
/// perf map): an address that is in no mapping at all (a corrupt stack) must
/// not make every stack re-read them.
pub const MIN_REREAD_INTERVAL: Duration = Duration::from_secs(1);

/// The executable mappings of the processes being profiled, and the files
/// they map.
#[derive(Debug)]
pub struct AddressSpaces {
    spaces: HashMap<u32, Space>,
    files: FileCache,
    stats: SymbolizeStats,
    /// The last [`Space::generation`] handed out.
    generation: u64,
}

/// One process's executable mappings.
#[derive(Debug)]
pub(crate) struct Space {
    /// Sorted by start, not overlapping.
    pub regions: Vec<Region>,
    /// Changes whenever `regions` change; never the same for two processes
    /// (nor for a pid observed again after its release).
    pub generation: u64,
    /// `None` while no perf map was found.
    perf_map: Option<PerfMap>,
    /// Where the perf map is, named while the process was alive.
    perf_map_path: PathBuf,
    /// False once its maps could not be read again: it exited.
    alive: bool,
    last_maps_reread: Option<Instant>,
    last_perf_map_reread: Option<Instant>,
}

/// One executable mapping and what symbolizes it.
#[derive(Debug)]
pub(crate) struct Region {
    pub mapping: Mapping,
    pub target: Target,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// An ELF file, open in the cache.
    File(FileId),
    /// A file that could not be opened.
    Unreadable,
    /// Anonymous memory: JIT code, named by the perf map.
    Jit,
    /// The vDSO.
    Vdso,
    /// Another kernel-provided mapping, never named.
    Other,
}

impl Region {
    /// The module frames in this region are reported under.
    pub fn module(&self) -> &str {
        match &self.mapping.backing {
            Backing::File { path, .. } => path,
            Backing::Anonymous => crate::JIT_MODULE,
            Backing::Vdso => "[vdso]",
            Backing::Pseudo(name) => name,
        }
    }
}

impl Space {
    /// The index of the region containing `addr`.
    pub fn region_index(&self, addr: u64) -> Option<usize> {
        let after = self.regions.partition_point(|r| r.mapping.start <= addr);
        let index = after.checked_sub(1)?;
        self.regions[index].mapping.contains(addr).then_some(index)
    }

    /// The JIT-compiled function containing `addr`.
    pub fn jit_symbol(&self, addr: u64) -> Option<&str> {
        self.perf_map.as_ref()?.lookup(addr)
    }
}

impl Default for AddressSpaces {
    fn default() -> Self {
        Self::new()
    }
}

impl AddressSpaces {
    /// Keeps up to [`DEFAULT_FILE_CAPACITY`] files open.
    pub fn new() -> Self {
        Self::with_file_capacity(DEFAULT_FILE_CAPACITY)
    }

    /// Keeps up to `capacity` mapped files open. The process needs a file
    /// descriptor limit (`RLIMIT_NOFILE`) above twice that: blazesym holds
    /// its own descriptor for each file it has symbolized.
    pub fn with_file_capacity(capacity: usize) -> Self {
        Self {
            spaces: HashMap::new(),
            files: FileCache::new(capacity),
            stats: SymbolizeStats::default(),
            generation: 0,
        }
    }

    /// Captures the executable mappings of process `pid` (a tgid) and opens
    /// the files they map. Cheap if `pid` is already known. Fails (counted)
    /// for a pid that does not exist or has no user address space.
    pub fn observe(&mut self, pid: u32) -> Result<(), SymbolizeError> {
        if self.spaces.contains_key(&pid) {
            return Ok(());
        }
        let mappings = match read_maps(pid, &mut self.stats) {
            Ok(mappings) => mappings,
            Err(error) => {
                tracing::debug!(pid, %error, "cannot observe process");
                self.stats.observe_failures += 1;
                return Err(error);
            }
        };
        let regions = mappings
            .into_iter()
            .map(|m| region(&mut self.files, pid, m, &mut self.stats))
            .collect();
        self.generation += 1;
        let mut space = Space {
            regions,
            generation: self.generation,
            perf_map: None,
            perf_map_path: perf_map_path(pid),
            alive: true,
            last_maps_reread: None,
            last_perf_map_reread: None,
        };
        if has_jit(&space) {
            read_perf_map(&mut space, &mut self.stats);
        }
        self.stats.processes_observed += 1;
        self.spaces.insert(pid, space);
        Ok(())
    }

    /// Forgets process `pid` (after it exited and its samples were
    /// symbolized), releasing the files only it mapped.
    pub fn release(&mut self, pid: u32) {
        if let Some(space) = self.spaces.remove(&pid) {
            for region in space.regions {
                release(&mut self.files, region, &mut self.stats);
            }
        }
    }

    pub(crate) fn space(&self, pid: u32) -> Option<&Space> {
        self.spaces.get(&pid)
    }

    pub(crate) fn symbol_path(&self, file: FileId) -> Option<PathBuf> {
        self.files.symbol_path(file)
    }

    /// The open file `file`; `None` once it was closed.
    pub(crate) fn file(&self, file: FileId) -> Option<&File> {
        self.files.file(file)
    }

    pub(crate) fn take_evicted(&mut self) -> Vec<PathBuf> {
        self.files.take_evicted()
    }

    pub(crate) fn stats(&self) -> SymbolizeStats {
        self.stats
    }

    /// Re-reads the maps of `pid` if it is alive and was not re-read within
    /// [`MIN_REREAD_INTERVAL`]. New mappings are added; old ones are kept
    /// (samples may still point into an unloaded library) unless a new one
    /// overlaps them; files that could not be opened before are tried again.
    pub(crate) fn refresh_maps(&mut self, pid: u32) {
        let Some(space) = self.spaces.get_mut(&pid) else {
            return;
        };
        if !space.alive || recently(space.last_maps_reread) {
            return;
        }
        space.last_maps_reread = Some(Instant::now());
        let mappings = match read_maps(pid, &mut self.stats) {
            Ok(mappings) => mappings,
            Err(_) => {
                space.alive = false;
                return;
            }
        };
        self.stats.maps_rereads += 1;
        let mut old = std::mem::take(&mut space.regions);
        let mut regions = Vec::with_capacity(mappings.len());
        let mut changed = false;
        for mapping in mappings {
            // Kept as they were, except files that could not be opened: retried.
            let known = old
                .iter()
                .position(|r| r.mapping == mapping && r.target != Target::Unreadable);
            match known {
                Some(i) => regions.push(old.swap_remove(i)),
                None => {
                    changed = true;
                    regions.push(region(&mut self.files, pid, mapping, &mut self.stats));
                }
            }
        }
        for stale in old {
            if regions.iter().any(|r| overlap(&r.mapping, &stale.mapping)) {
                changed = true;
                release(&mut self.files, stale, &mut self.stats);
            } else {
                regions.push(stale);
            }
        }
        regions.sort_by_key(|r| r.mapping.start);
        space.regions = regions;
        if changed {
            self.generation += 1;
            space.generation = self.generation;
        }
        if space.perf_map.is_none() && has_jit(space) {
            read_perf_map(space, &mut self.stats);
        }
    }

    /// Reads what was appended to the perf map of `pid`, if it is alive and
    /// the perf map was not re-read within [`MIN_REREAD_INTERVAL`].
    pub(crate) fn refresh_perf_map(&mut self, pid: u32) {
        let Some(space) = self.spaces.get_mut(&pid) else {
            return;
        };
        if !space.alive || recently(space.last_perf_map_reread) {
            return;
        }
        space.last_perf_map_reread = Some(Instant::now());
        read_perf_map(space, &mut self.stats);
    }
}

fn recently(last: Option<Instant>) -> bool {
    last.is_some_and(|t| t.elapsed() < MIN_REREAD_INTERVAL)
}

fn overlap(a: &Mapping, b: &Mapping) -> bool {
    a.start < b.end && b.start < a.end
}

fn has_jit(space: &Space) -> bool {
    space.regions.iter().any(|r| r.target == Target::Jit)
}

/// The executable mappings of `pid`.
fn read_maps(pid: u32, stats: &mut SymbolizeStats) -> Result<Vec<Mapping>, SymbolizeError> {
    let text = match std::fs::read_to_string(format!("/proc/{pid}/maps")) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH) => {
            return Err(SymbolizeError::NoSuchProcess { pid })
        }
        Err(source) => return Err(SymbolizeError::MapsUnreadable { pid, source }),
    };
    let (mappings, malformed) = maps::executable_mappings(&text);
    for line in &malformed {
        tracing::warn!(pid, %line, "skipping a /proc/PID/maps line");
    }
    stats.malformed_lines += malformed.len() as u64;
    if mappings.is_empty() {
        return Err(SymbolizeError::NoAddressSpace { pid });
    }
    Ok(mappings)
}

fn region(files: &mut FileCache, pid: u32, mapping: Mapping, stats: &mut SymbolizeStats) -> Region {
    let target = match &mapping.backing {
        Backing::File { .. } => files
            .acquire(pid, &mapping, stats)
            .map_or(Target::Unreadable, Target::File),
        Backing::Anonymous => Target::Jit,
        Backing::Vdso => Target::Vdso,
        Backing::Pseudo(_) => Target::Other,
    };
    Region { mapping, target }
}

fn release(files: &mut FileCache, region: Region, stats: &mut SymbolizeStats) {
    if let Target::File(id) = region.target {
        files.release(id, stats);
    }
}

/// `/tmp/perf-NSPID.map` as the process sees it, reached through its root.
fn perf_map_path(pid: u32) -> PathBuf {
    let ns_pid = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| perf_map::namespace_pid(&status))
        .unwrap_or(pid);
    PathBuf::from(format!("/proc/{pid}/root/tmp/perf-{ns_pid}.map"))
}

/// Reads the perf map from where the last read stopped (from the start if
/// it shrank: rewritten).
fn read_perf_map(space: &mut Space, stats: &mut SymbolizeStats) {
    let path = &space.perf_map_path;
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) => {
            tracing::trace!(path = %path.display(), %error, "no perf map");
            return;
        }
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let perf_map = space.perf_map.get_or_insert_with(PerfMap::default);
    if len < perf_map.consumed() {
        *perf_map = PerfMap::default();
    }
    let mut tail = Vec::new();
    let read = file
        .seek(SeekFrom::Start(perf_map.consumed()))
        .and_then(|_| file.read_to_end(&mut tail));
    if let Err(error) = read {
        tracing::debug!(path = %path.display(), %error, "cannot read perf map");
        return;
    }
    stats.perf_map_reads += 1;
    stats.malformed_lines += perf_map.append(&tail) as u64;
}
