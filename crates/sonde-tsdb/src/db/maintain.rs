//! Periodic upkeep of a durable store ([`Db::maintain`]): cut the head's
//! oldest range into a block, compact blocks, apply retention.
//!
//! Cutting a block, as Prometheus's head compaction: once the head spans
//! more than 1.5 block ranges, the oldest aligned range `[mint, maxt)` is
//! persisted. Under the head's write lock, briefly, the minimum valid time
//! is raised to `maxt` (later samples before it are rejected, so the range
//! cannot change); under its read lock the range's chunks are copied; the
//! block is written with no lock held; then, under the write lock again,
//! the head drops everything before `maxt` and the WAL starts a new
//! segment. Last, with no head lock, the closed segments are folded into
//! a checkpoint keeping only samples at or after `maxt`.

use std::fs;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::block::writer::{write_block, BlockSpec};
use crate::block::{Block, BlockMeta};
use crate::compact;
use crate::db::{io_err, Db, DbError, Disk, MaintainReport};
use crate::retention;
use crate::wal::checkpoint::checkpoint;

impl Db {
    /// Cuts head blocks that are due, compacts blocks and applies
    /// retention (as of `now_ms`); a no-op in memory. Meant to be called
    /// periodically from a background thread; appends wait only for the
    /// short head-lock sections described in the module docs.
    pub fn maintain(&self, now_ms: i64) -> Result<MaintainReport, DbError> {
        let Some(disk) = &self.disk else {
            return Ok(MaintainReport::default());
        };
        let _one_at_a_time = disk.maintaining.lock().expect("maintain lock");
        let mut report = MaintainReport::default();
        while self.cut_head_block(disk, &mut report)? {}
        while let Some(id) = self.compact_once(disk)? {
            report.compacted.push(id);
        }
        report.retention_deleted = self.retention_locked(disk, now_ms)?;
        self.sync()?;
        Ok(report)
    }

    /// Deletes the blocks wholly older than `now_ms` minus the retention
    /// (none without a retention, or in memory); returns their ids.
    pub fn apply_retention(&self, now_ms: i64) -> Result<Vec<String>, DbError> {
        let Some(disk) = &self.disk else {
            return Ok(Vec::new());
        };
        let _one_at_a_time = disk.maintaining.lock().expect("maintain lock");
        self.retention_locked(disk, now_ms)
    }

    fn retention_locked(&self, disk: &Disk, now_ms: i64) -> Result<Vec<String>, DbError> {
        let Some(retention) = disk.options.retention else {
            return Ok(Vec::new());
        };
        let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let blocks = disk.blocks.read().expect("blocks lock").clone();
        let metas: Vec<&BlockMeta> = blocks.iter().map(|b| b.meta()).collect();
        let expired = retention::expired(&metas, now_ms, retention_ms);
        self.remove_blocks(disk, &expired)?;
        disk.counters
            .retention_deleted_blocks
            .fetch_add(expired.len() as u64, Ordering::Relaxed);
        Ok(expired)
    }

    /// Drops blocks from the list, then deletes their directories (open
    /// readers keep their chunk files' descriptors).
    fn remove_blocks(&self, disk: &Disk, ids: &[String]) -> Result<(), DbError> {
        let removed: Vec<Arc<Block>> = {
            let mut blocks = disk.blocks.write().expect("blocks lock");
            let (gone, kept) = blocks.drain(..).partition(|b| ids.contains(&b.meta().id));
            *blocks = kept;
            gone
        };
        for block in removed {
            fs::remove_dir_all(block.dir()).map_err(io_err(block.dir()))?;
        }
        Ok(())
    }

    fn add_block(&self, disk: &Disk, meta: &BlockMeta) -> Result<(), DbError> {
        let block = Arc::new(Block::open(&disk.dir.join(&meta.id))?);
        let mut blocks = disk.blocks.write().expect("blocks lock");
        blocks.push(block);
        blocks.sort_by_key(|b| (b.meta().mint, b.meta().maxt));
        Ok(())
    }

    /// Persists the head's oldest block range if the head spans more than
    /// 1.5 ranges, noting the new block in `report`; returns whether a
    /// range was due (it may have held no samples, then no block is written).
    fn cut_head_block(&self, disk: &Disk, report: &mut MaintainReport) -> Result<bool, DbError> {
        let range = disk.options.block_range_ms.max(1);
        let (mint, maxt) = {
            let head = self.head.read().expect("head lock");
            let (Some(lo), Some(hi)) = (head.min_time(), head.max_time()) else {
                return Ok(false);
            };
            if hi.saturating_sub(lo) <= range / 2 * 3 {
                return Ok(false);
            }
            let mint = lo.div_euclid(range) * range;
            (mint, mint + range)
        };
        // The head's minimum only grows, so [mint, maxt) is still its oldest range.
        self.head
            .write()
            .expect("head lock")
            .set_min_valid_time(maxt);
        let series = self.head.read().expect("head lock").chunks_in(mint, maxt)?;
        if !series.is_empty() {
            let spec = BlockSpec {
                mint,
                maxt,
                level: 1,
                sources: Vec::new(),
            };
            let meta = write_block(&disk.dir, spec, &series)?;
            self.add_block(disk, &meta)?;
            disk.counters
                .head_blocks_cut
                .fetch_add(1, Ordering::Relaxed);
            report.blocks_cut.push(meta.id);
        }
        drop(series);
        let wal_dir = disk.dir.join("wal");
        let (upto, live) = {
            let mut head = self.head.write().expect("head lock");
            head.truncate_before(maxt);
            let upto = disk
                .wal
                .lock()
                .expect("wal lock")
                .rotate()
                .map_err(io_err(&wal_dir))?;
            (upto, head.index().all_postings().clone())
        };
        checkpoint(&wal_dir, upto, |r| live.contains(r), maxt).map_err(io_err(&wal_dir))?;
        Ok(true)
    }

    /// Merges the next group of blocks due for compaction; returns the
    /// new block's id, `None` when nothing is due.
    fn compact_once(&self, disk: &Disk) -> Result<Option<String>, DbError> {
        let blocks = disk.blocks.read().expect("blocks lock").clone();
        let metas: Vec<&BlockMeta> = blocks.iter().map(|b| b.meta()).collect();
        let ranges = compact::ranges(disk.options.block_range_ms, disk.options.compaction_levels);
        let Some(ids) = compact::plan(&metas, &ranges) else {
            return Ok(None);
        };
        let group: Vec<&Arc<Block>> = blocks
            .iter()
            .filter(|b| ids.contains(&b.meta().id))
            .collect();
        let mint = group.iter().map(|b| b.meta().mint).min().unwrap_or(0);
        let maxt = group.iter().map(|b| b.meta().maxt).max().unwrap_or(0);
        let level = group.iter().map(|b| b.meta().level).max().unwrap_or(0) + 1;
        let mut sources: Vec<String> = group
            .iter()
            .flat_map(|b| b.meta().sources.iter().cloned())
            .collect();
        sources.sort();
        sources.dedup();
        let inputs = group
            .iter()
            .map(|b| b.all_chunks())
            .collect::<Result<Vec<_>, _>>()?;
        let merged = compact::merge(inputs, mint, maxt)?;
        let spec = BlockSpec {
            mint,
            maxt,
            level,
            sources,
        };
        let meta = write_block(&disk.dir, spec, &merged)?;
        self.add_block(disk, &meta)?;
        self.remove_blocks(disk, &ids)?;
        disk.counters.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(Some(meta.id))
    }
}
