//! [`Db`]: the store as the rest of sonde sees it — shareable between
//! threads, appended to in batches, read by matchers and time range.
//!
//! [`Db::in_memory`] keeps only the head. [`Db::open`] makes the store
//! durable in a directory:
//!
//! ```text
//! dir/
//!   wal/00000003, wal/checkpoint.00000002   write-ahead log (crate::wal)
//!   <block id>/{meta,index,chunks}          persisted blocks (crate::block)
//! ```
//!
//! The data path: [`Db::append_batch`] resolves series in the head, logs
//! one series record (new series) and one samples record to the WAL in a
//! single write, then appends to the head ([`append`]). [`Db::maintain`],
//! run periodically, cuts the head's oldest block range into a block once
//! the head spans 1.5 ranges, truncates the head and checkpoints the WAL,
//! compacts blocks and applies retention ([`maintain`]); it holds the head
//! lock only to set the minimum valid time, copy the range's chunks and
//! truncate, never while writing files. Reads merge blocks and head
//! ([`read`]). [`Db::open`] loads blocks and replays the WAL ([`open`]).

mod append;
mod maintain;
mod open;
mod options;
mod read;
mod report;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::block::{Block, BlockError};
use crate::head::{AppendError, Head, HeadStats};
use crate::labels::Labels;
use crate::metadata::MetadataStore;
use crate::wal::{self, Wal};
use crate::ChunkError;

pub use options::{DbOptions, DEFAULT_BLOCK_RANGE_MS};
pub use report::{CorruptBlock, DbStats, MaintainReport, RecoveryReport};

/// One sample to append.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    pub v: f64,
}

/// What [`Db::append_batch`] did: samples that were not taken are listed
/// by their index in the batch; every other sample was appended.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub appended: usize,
    pub rejected: Vec<(usize, AppendError)>,
}

/// Why opening, maintaining or reading the store failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A chunk did not decode.
    #[error(transparent)]
    Chunk(#[from] ChunkError),
    /// A block could not be written or read.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// A file or directory of the store could not be used.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// Wraps an I/O error with its path.
fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DbError + '_ {
    move |source| DbError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The store: thread-safe, `&self` everywhere.
#[derive(Debug, Default)]
pub struct Db {
    head: RwLock<Head>,
    metadata: MetadataStore,
    /// WAL and blocks; `None` for an in-memory store.
    disk: Option<Disk>,
}

/// The durable part of a store opened in a directory.
#[derive(Debug)]
struct Disk {
    dir: PathBuf,
    options: DbOptions,
    /// Lock order: `head` before `wal`.
    wal: Mutex<Wal>,
    /// Loaded blocks, sorted by `mint`.
    blocks: RwLock<Vec<Arc<Block>>>,
    /// Held by one [`Db::maintain`] (or [`Db::apply_retention`]) at a time.
    maintaining: Mutex<()>,
    counters: Counters,
}

/// Counters kept by the durable store.
#[derive(Debug, Default)]
struct Counters {
    wal_corruptions: AtomicU64,
    wal_bytes_dropped: AtomicU64,
    wal_write_errors: AtomicU64,
    corrupt_blocks: AtomicU64,
    head_blocks_cut: AtomicU64,
    compactions: AtomicU64,
    retention_deleted_blocks: AtomicU64,
}

impl Db {
    /// A store held only in memory.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Metric metadata, as written by scrapes, remote-write and sonde itself.
    pub fn metadata(&self) -> &MetadataStore {
        &self.metadata
    }

    /// The head's size and counters.
    pub fn head_stats(&self) -> HeadStats {
        self.head.read().expect("head lock").stats()
    }

    /// The directory of a durable store, `None` in memory.
    pub fn dir(&self) -> Option<&Path> {
        self.disk.as_ref().map(|d| d.dir.as_path())
    }

    /// `fsync`s the WAL's open segment (a no-op in memory).
    pub fn sync(&self) -> Result<(), DbError> {
        let Some(disk) = &self.disk else {
            return Ok(());
        };
        let mut wal = disk.wal.lock().expect("wal lock");
        let path = wal.dir().to_owned();
        wal.sync().map_err(io_err(&path))
    }

    /// Sizes and counters of head, blocks and WAL.
    pub fn stats(&self) -> DbStats {
        let head = self.head_stats();
        let Some(disk) = &self.disk else {
            return DbStats {
                head,
                ..DbStats::default()
            };
        };
        let blocks = disk.blocks.read().expect("blocks lock");
        let (wal_bytes, wal_segments) = wal::disk_usage(&disk.dir.join("wal"));
        let c = &disk.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        DbStats {
            head,
            blocks: blocks.len(),
            block_bytes: blocks.iter().map(|b| b.size_bytes()).sum(),
            block_samples: blocks.iter().map(|b| b.meta().samples).sum(),
            wal_bytes,
            wal_segments,
            wal_corruptions: get(&c.wal_corruptions),
            wal_bytes_dropped: get(&c.wal_bytes_dropped),
            wal_write_errors: get(&c.wal_write_errors),
            corrupt_blocks: get(&c.corrupt_blocks),
            head_blocks_cut: get(&c.head_blocks_cut),
            compactions: get(&c.compactions),
            retention_deleted_blocks: get(&c.retention_deleted_blocks),
        }
    }

    /// The loaded blocks' metadata, oldest first (empty in memory).
    pub fn blocks(&self) -> Vec<crate::block::BlockMeta> {
        self.disk.as_ref().map_or_else(Vec::new, |disk| {
            let blocks = disk.blocks.read().expect("blocks lock");
            blocks.iter().map(|b| b.meta().clone()).collect()
        })
    }
}
