//! The mapped ELF files, held open so they can be symbolized after their
//! process exited or after they were deleted.
//!
//! A file is opened once, through `/proc/PID/map_files/START-END` (which also
//! reaches deleted files and files inside other mount namespaces; it needs
//! root), and is named to blazesym as `/proc/self/fd/N`. Files are keyed by
//! the `(device, inode)` the process mapped; a second file with the same
//! build id and size (the same library in two container images) shares the
//! first one's entry, so it is parsed once.
//!
//! Each entry counts the mappings of observed processes that refer to it.
//! When the count drops to zero the file stays open (the next process likely
//! maps it again) unless it was deleted (holding it would keep its disk
//! space); idle files are closed oldest first when the cache is full.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::maps::Mapping;
use crate::SymbolizeStats;

/// A cached file. Never reused, unlike file descriptor numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FileId(u64);

/// A mapped file's identity as `/proc/PID/maps` shows it: device and inode.
type FileKey = ((u32, u32), u64);

#[derive(Debug)]
struct CachedFile {
    file: File,
    /// The `(build id, size)` other copies are recognized by.
    build_id: Option<(Vec<u8>, u64)>,
    /// Every key resolving to this entry.
    keys: Vec<FileKey>,
    /// Mappings of observed processes referring to this file.
    refs: usize,
    /// When the last reference went away: the key in [`FileCache::idle`].
    idle_since: Option<u64>,
}

impl CachedFile {
    fn symbol_path(&self) -> PathBuf {
        fd_path(&self.file)
    }
}

#[derive(Debug)]
pub(crate) struct FileCache {
    files: HashMap<FileId, CachedFile>,
    by_key: HashMap<FileKey, FileId>,
    by_build_id: HashMap<(Vec<u8>, u64), FileId>,
    /// Unreferenced files, oldest first.
    idle: BTreeMap<u64, FileId>,
    /// Orders `idle`.
    clock: u64,
    next_id: u64,
    capacity: usize,
    /// `/proc/self/fd/N` paths closed since [`Self::take_evicted`]: blazesym
    /// must drop what it cached for them before the number is reused.
    evicted: Vec<PathBuf>,
}

impl FileCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            files: HashMap::new(),
            by_key: HashMap::new(),
            by_build_id: HashMap::new(),
            idle: BTreeMap::new(),
            clock: 0,
            next_id: 0,
            capacity: capacity.max(1),
            evicted: Vec::new(),
        }
    }

    /// The file `mapping` of process `pid` maps, opened if not cached yet,
    /// with one more reference; `None` if it could not be opened (counted).
    pub fn acquire(
        &mut self,
        pid: u32,
        mapping: &Mapping,
        stats: &mut SymbolizeStats,
    ) -> Option<FileId> {
        let key = (mapping.dev, mapping.inode);
        if let Some(&id) = self.by_key.get(&key) {
            self.hold(id);
            return Some(id);
        }
        if !self.make_room(stats) {
            stats.file_cache_full += 1;
            return None;
        }
        let map_file = format!(
            "/proc/{pid}/map_files/{:x}-{:x}",
            mapping.start, mapping.end
        );
        let (file, size) = match File::open(&map_file).and_then(|f| Ok((f.metadata()?.len(), f))) {
            Ok((size, file)) => (file, size),
            Err(error) => {
                tracing::debug!(pid, map_file, %error, "cannot open mapped file");
                stats.file_open_failures += 1;
                return None;
            }
        };
        let build_id = blazesym::helper::read_elf_build_id(&fd_path(&file))
            .ok()
            .flatten()
            .map(|id| (id.into_owned(), size));
        if let Some(&id) = build_id.as_ref().and_then(|b| self.by_build_id.get(b)) {
            // `file` is a copy of one already open: close it, share that one.
            stats.files_shared_by_build_id += 1;
            self.by_key.insert(key, id);
            if let Some(cached) = self.files.get_mut(&id) {
                cached.keys.push(key);
            }
            self.hold(id);
            return Some(id);
        }

        let id = FileId(self.next_id);
        self.next_id += 1;
        stats.files_opened += 1;
        if let Some(build_id) = &build_id {
            self.by_build_id.insert(build_id.clone(), id);
        }
        self.by_key.insert(key, id);
        self.files.insert(
            id,
            CachedFile {
                file,
                build_id,
                keys: vec![key],
                refs: 1,
                idle_since: None,
            },
        );
        Some(id)
    }

    /// Drops one reference to `id`; a file no longer referenced becomes idle,
    /// or is closed at once if it was deleted.
    pub fn release(&mut self, id: FileId, stats: &mut SymbolizeStats) {
        let Some(cached) = self.files.get_mut(&id) else {
            return;
        };
        cached.refs = cached.refs.saturating_sub(1);
        if cached.refs > 0 {
            return;
        }
        let deleted = cached.file.metadata().map_or(true, |m| m.nlink() == 0);
        if deleted {
            self.evict(id, stats);
        } else {
            cached.idle_since = Some(self.clock);
            self.idle.insert(self.clock, id);
            self.clock += 1;
        }
    }

    /// The path blazesym reads the file through.
    pub fn symbol_path(&self, id: FileId) -> Option<PathBuf> {
        self.files.get(&id).map(CachedFile::symbol_path)
    }

    /// The open file `id`.
    pub fn file(&self, id: FileId) -> Option<&File> {
        self.files.get(&id).map(|cached| &cached.file)
    }

    /// The paths of the files closed since the last call.
    pub fn take_evicted(&mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.evicted)
    }

    fn hold(&mut self, id: FileId) {
        if let Some(cached) = self.files.get_mut(&id) {
            cached.refs += 1;
            if let Some(since) = cached.idle_since.take() {
                self.idle.remove(&since);
            }
        }
    }

    /// Closes the oldest idle file if the cache is full; false if it is full
    /// of referenced files.
    fn make_room(&mut self, stats: &mut SymbolizeStats) -> bool {
        if self.files.len() < self.capacity {
            return true;
        }
        match self.idle.pop_first() {
            Some((_, id)) => {
                self.evict(id, stats);
                true
            }
            None => false,
        }
    }

    fn evict(&mut self, id: FileId, stats: &mut SymbolizeStats) {
        let Some(cached) = self.files.remove(&id) else {
            return;
        };
        if let Some(since) = cached.idle_since {
            self.idle.remove(&since);
        }
        for key in &cached.keys {
            self.by_key.remove(key);
        }
        if let Some(build_id) = &cached.build_id {
            self.by_build_id.remove(build_id);
        }
        self.evicted.push(cached.symbol_path());
        stats.files_evicted += 1;
        // Dropping `cached` closes the file.
    }
}

fn fd_path(file: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maps::Backing;

    /// A mapping of this test binary's own executable code.
    fn own_code() -> Mapping {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        crate::maps::executable_mappings(&maps)
            .0
            .into_iter()
            .find(|m| matches!(&m.backing, Backing::File { path, .. } if exe.as_os_str() == path.as_str()))
            .unwrap_or_else(|| panic!("no executable mapping of {exe:?}"))
    }

    fn root() -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        if !root {
            eprintln!("SKIP: opening /proc/PID/map_files needs root");
        }
        root
    }

    #[test]
    fn shares_one_entry_per_file_and_closes_it_when_full_and_idle() {
        if !root() {
            return;
        }
        let mut stats = SymbolizeStats::default();
        let mut cache = FileCache::new(1);
        let pid = std::process::id();
        let mapping = own_code();
        let id = cache.acquire(pid, &mapping, &mut stats);
        let again = cache.acquire(pid, &mapping, &mut stats);
        assert!(id.is_some());
        assert_eq!(id, again);
        assert_eq!(stats.files_opened, 1);

        // Full of referenced files: a different file is refused.
        let other = Mapping {
            inode: mapping.inode + 1,
            ..mapping.clone()
        };
        assert_eq!(cache.acquire(pid, &other, &mut stats), None);
        assert_eq!(stats.file_cache_full, 1);

        // Idle once every reference is gone; then evicted to make room.
        let id = id.unwrap();
        let path = cache.symbol_path(id);
        cache.release(id, &mut stats);
        cache.release(id, &mut stats);
        assert_eq!(stats.files_evicted, 0);
        assert!(cache.acquire(pid, &other, &mut stats).is_some());
        assert_eq!(stats.files_evicted, 1);
        assert_eq!(cache.take_evicted(), path.into_iter().collect::<Vec<_>>());
        assert_eq!(cache.symbol_path(id), None);
    }
}
