//! [`DbOptions`]: how a durable [`Db`](crate::Db) keeps its data.

use std::time::Duration;

use crate::wal::WalSync;

/// Two hours, Prometheus's block range.
pub const DEFAULT_BLOCK_RANGE_MS: i64 = 2 * 3600 * 1000;

/// Settings of a durable store; `DbOptions::default()` is Prometheus's
/// defaults except retention, which is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbOptions {
    /// Delete blocks once wholly older than this (by sample time); `None`
    /// keeps everything.
    pub retention: Option<Duration>,
    /// The time range of a block cut from the head, in ms (default 2h).
    /// The head is cut once it spans 1.5 of these.
    pub block_range_ms: i64,
    /// Compaction levels: blocks are merged into ranges of
    /// `block_range_ms` × 3, × 9, ... up to `3^(levels-1)` (default 4:
    /// 2h, 6h, 18h, 54h).
    pub compaction_levels: usize,
    /// WAL segment size in bytes before a new one is started (default
    /// 128 MiB).
    pub wal_segment_bytes: u64,
    /// When the WAL is `fsync`ed (default: on segment close, `Db::sync`
    /// and `Db::maintain`).
    pub wal_sync: WalSync,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            retention: None,
            block_range_ms: DEFAULT_BLOCK_RANGE_MS,
            compaction_levels: 4,
            wal_segment_bytes: 128 << 20,
            wal_sync: WalSync::default(),
        }
    }
}
