//! What opening a durable [`Db`](crate::Db) found and repaired
//! ([`RecoveryReport`]), what [`Db::maintain`](crate::Db::maintain) did
//! ([`MaintainReport`]), and the store's sizes and counters ([`DbStats`]).

use std::path::PathBuf;

use crate::head::HeadStats;
use crate::wal::replay::WalCorruption;

/// A block directory that could not be loaded and was set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptBlock {
    /// The block's directory as found.
    pub path: PathBuf,
    /// Where it was moved (`<id>.corrupt`), so it is not read again.
    pub moved_to: Option<PathBuf>,
    /// Why it could not be loaded.
    pub reason: String,
}

/// What [`Db::open`](crate::Db::open) read, dropped and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Blocks loaded, by id, oldest first.
    pub blocks_loaded: Vec<String>,
    /// Blocks that failed to load.
    pub corrupt_blocks: Vec<CorruptBlock>,
    /// Leftover temporary directories and blocks already merged into
    /// another, deleted.
    pub removed_dirs: Vec<PathBuf>,
    /// The WAL checkpoint replayed, if any.
    pub wal_checkpoint: Option<u32>,
    /// WAL segments replayed.
    pub wal_segments: Vec<u32>,
    /// WAL records replayed.
    pub wal_records: u64,
    /// Series records' series restored.
    pub wal_series: u64,
    /// Samples replayed into the head.
    pub wal_samples: u64,
    /// Replayed samples the head turned away again (as when first
    /// appended: out of order, duplicate timestamp).
    pub wal_samples_rejected: u64,
    /// Replayed samples of a series whose series record was lost.
    pub wal_unknown_series_samples: u64,
    /// Replayed samples dropped because a block already holds their range.
    pub wal_samples_in_blocks: u64,
    /// WAL files cut short at their last good record.
    pub wal_corruptions: Vec<WalCorruption>,
}

impl RecoveryReport {
    /// Whether nothing was lost or repaired.
    pub fn is_clean(&self) -> bool {
        self.corrupt_blocks.is_empty()
            && self.wal_corruptions.is_empty()
            && self.wal_unknown_series_samples == 0
    }

    /// WAL bytes cut off damaged files.
    pub fn wal_bytes_dropped(&self) -> u64 {
        self.wal_corruptions.iter().map(|c| c.bytes_dropped).sum()
    }
}

/// What one [`Db::maintain`](crate::Db::maintain) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintainReport {
    /// Blocks cut from the head, by id.
    pub blocks_cut: Vec<String>,
    /// Blocks written by compaction, by id.
    pub compacted: Vec<String>,
    /// Blocks deleted by retention, by id.
    pub retention_deleted: Vec<String>,
}

/// Sizes and counters of a [`Db`](crate::Db).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DbStats {
    /// The head's size and sample counters.
    pub head: HeadStats,
    /// Blocks loaded.
    pub blocks: usize,
    /// Bytes of all blocks on disk.
    pub block_bytes: u64,
    /// Samples in all blocks.
    pub block_samples: u64,
    /// Bytes of WAL segments and checkpoint.
    pub wal_bytes: u64,
    /// WAL files (segments and checkpoint).
    pub wal_segments: usize,
    /// WAL files found damaged and cut short, since open.
    pub wal_corruptions: u64,
    /// WAL bytes cut off damaged files, since open.
    pub wal_bytes_dropped: u64,
    /// Batches the WAL failed to write (their samples were rejected).
    pub wal_write_errors: u64,
    /// Blocks that failed to load at open.
    pub corrupt_blocks: u64,
    /// Blocks cut from the head.
    pub head_blocks_cut: u64,
    /// Compactions done.
    pub compactions: u64,
    /// Blocks deleted by retention.
    pub retention_deleted_blocks: u64,
}
