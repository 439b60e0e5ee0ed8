//! The unwind tables read so far, one entry per open file of the
//! [`AddressSpaces`] (keyed by its [`FileId`], so every process mapping the
//! same file, or a copy with the same build id, shares one entry), and the
//! vDSO's.
//!
//! The processes' modules hold the tables they use; an entry no process
//! holds is idle. Idle entries are dropped oldest first while the tables
//! held exceed the budget, and any entry as soon as its file is closed.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use object::read::ReadCache;

use super::tables::UnwindTables;
use super::UnwindStats;
use crate::address_space::AddressSpaces;
use crate::files::FileId;
use crate::maps::{self, Backing};

#[derive(Debug)]
pub(super) struct TableCache {
    entries: HashMap<FileId, Entry>,
    /// Bytes of tables in `entries`.
    bytes: usize,
    budget: usize,
    /// Orders uses, for dropping the least recently used idle entry.
    clock: u64,
    /// Our own vDSO's tables and length, read on first use: every process
    /// of this kernel maps the same image.
    vdso: OnceCell<Option<(Arc<UnwindTables>, u64)>>,
}

#[derive(Debug)]
struct Entry {
    /// `None`: the file could not be read as an x86_64 ELF file.
    tables: Option<Arc<UnwindTables>>,
    last_used: u64,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.tables.as_ref().map_or(0, |t| t.bytes())
    }

    /// Held by no process's modules.
    fn idle(&self) -> bool {
        self.tables
            .as_ref()
            .is_none_or(|t| Arc::strong_count(t) == 1)
    }
}

impl TableCache {
    pub fn new(budget: usize) -> Self {
        Self {
            entries: HashMap::new(),
            bytes: 0,
            budget,
            clock: 0,
            vdso: OnceCell::new(),
        }
    }

    /// The tables of open file `id`, read now if they were not yet; `None`
    /// if it cannot be read (counted once).
    pub fn file(
        &mut self,
        spaces: &AddressSpaces,
        id: FileId,
        stats: &mut UnwindStats,
    ) -> Option<Arc<UnwindTables>> {
        self.clock += 1;
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.last_used = self.clock;
            return entry.tables.clone();
        }
        let file = spaces.file(id)?;
        let tables = match UnwindTables::parse(&ReadCache::new(file)) {
            Ok(tables) => {
                stats.files_parsed += 1;
                if !tables.has_tables() {
                    stats.files_without_tables += 1;
                }
                Some(Arc::new(tables))
            }
            Err(error) => {
                tracing::debug!(%error, "cannot read unwind tables");
                stats.files_unreadable += 1;
                None
            }
        };
        let entry = Entry {
            tables: tables.clone(),
            last_used: self.clock,
        };
        self.bytes += entry.bytes();
        self.entries.insert(id, entry);
        stats.table_bytes = self.bytes as u64;
        tables
    }

    /// The vDSO's tables, if a vDSO mapping of `len` bytes is the same
    /// image as our own.
    pub fn vdso(&self, len: u64) -> Option<Arc<UnwindTables>> {
        let (tables, own_len) = self.vdso.get_or_init(own_vdso).as_ref()?;
        (*own_len == len).then(|| tables.clone())
    }

    /// Drops the entries of closed files, then idle entries, least recently
    /// used first, while over budget.
    pub fn trim(&mut self, spaces: &AddressSpaces, stats: &mut UnwindStats) {
        let before = self.entries.len();
        self.entries.retain(|&id, _| spaces.file(id).is_some());
        let mut idle: Vec<(u64, FileId)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.idle())
            .map(|(&id, e)| (e.last_used, id))
            .collect();
        idle.sort_unstable_by_key(|&(last_used, _)| last_used);
        let mut bytes: usize = self.entries.values().map(Entry::bytes).sum();
        for (_, id) in idle {
            if bytes <= self.budget {
                break;
            }
            if let Some(entry) = self.entries.remove(&id) {
                bytes -= entry.bytes();
            }
        }
        self.bytes = bytes;
        stats.files_evicted += (before - self.entries.len()) as u64;
        stats.table_bytes = bytes as u64;
    }
}

/// Reads the tables of our own vDSO, through `/proc/self/mem`.
fn own_vdso() -> Option<(Arc<UnwindTables>, u64)> {
    let own_maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let vdso = maps::executable_mappings(&own_maps)
        .0
        .into_iter()
        .find(|m| m.backing == Backing::Vdso)?;
    let len = vdso.end - vdso.start;
    let mut image = vec![0; usize::try_from(len).ok()?];
    let read = std::fs::File::open("/proc/self/mem").and_then(|mut mem| {
        mem.seek(SeekFrom::Start(vdso.start))?;
        mem.read_exact(&mut image)
    });
    if let Err(error) = read {
        tracing::debug!(%error, "cannot read our own vDSO");
        return None;
    }
    match UnwindTables::parse(&*image) {
        Ok(tables) => Some((Arc::new(tables), len)),
        Err(error) => {
            tracing::debug!(%error, "cannot read our own vDSO's unwind tables");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address_space::Target;

    fn root() -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        if !root {
            eprintln!("SKIP: opening /proc/PID/map_files needs root");
        }
        root
    }

    #[test]
    fn shares_tables_and_drops_idle_ones_over_budget() {
        if !root() {
            return;
        }
        let mut spaces = AddressSpaces::new();
        let own = std::process::id();
        spaces.observe(own).unwrap();
        let mut files: Vec<FileId> = Vec::new();
        for region in &spaces.space(own).unwrap().regions {
            match region.target {
                Target::File(id) if !files.contains(&id) => files.push(id),
                _ => {}
            }
        }
        assert!(files.len() >= 2, "this test and libc");
        let mut stats = UnwindStats::default();
        let mut cache = TableCache::new(0);

        let held = cache.file(&spaces, files[0], &mut stats).unwrap();
        let again = cache.file(&spaces, files[0], &mut stats).unwrap();
        assert!(Arc::ptr_eq(&held, &again), "read once");
        drop(again);
        for &id in &files[1..] {
            assert!(cache.file(&spaces, id, &mut stats).is_some());
        }
        assert_eq!(stats.files_parsed, files.len() as u64);
        assert!(stats.table_bytes >= held.bytes() as u64);

        // Over a budget of nothing: all but the held tables go.
        cache.trim(&spaces, &mut stats);
        assert_eq!(stats.files_evicted, files.len() as u64 - 1);
        assert_eq!(stats.table_bytes, held.bytes() as u64);
        assert!(cache.entries.contains_key(&files[0]));
    }

    #[test]
    fn reads_the_tables_of_our_own_vdso() {
        let cache = TableCache::new(0);
        let Some((tables, len)) = cache.vdso.get_or_init(own_vdso).clone() else {
            panic!("no vDSO, or its tables could not be read");
        };
        assert!(tables.has_tables());
        assert!(cache.vdso(len).is_some());
        assert!(cache.vdso(len + 4096).is_none(), "another image");
    }
}
