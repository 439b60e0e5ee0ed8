//! Opening a durable store: load blocks, set aside the damaged ones,
//! replay the WAL into a fresh head, and start a new WAL segment.
//!
//! Nothing found on disk makes the open panic or fail, short of the
//! directory itself being unusable: a block that does not load is moved
//! to `<id>.corrupt` and reported; a damaged WAL file is cut at its last
//! good record and reported (see [`crate::wal::replay`]).

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use crate::block::{superseded, Block};
use crate::db::report::CorruptBlock;
use crate::db::{io_err, Counters, Db, DbError, DbOptions, Disk, RecoveryReport};
use crate::head::Head;
use crate::index::SeriesRef;
use crate::wal::record::Record;
use crate::wal::replay::replay;
use crate::wal::{Wal, WalOptions};

impl Db {
    /// Opens (or creates) the store in `dir`: loads its blocks and replays
    /// its WAL. Damage is repaired and described in the report.
    pub fn open(dir: &Path, options: DbOptions) -> Result<(Db, RecoveryReport), DbError> {
        let mut report = RecoveryReport::default();
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let blocks = load_blocks(dir, &mut report)?;

        let mut head = Head::with_chunk_range(options.block_range_ms);
        let wal_dir = dir.join("wal");
        let replayed = replay_wal(&wal_dir, &mut head, &mut report)?;
        if let Some(persisted) = blocks.iter().map(|b| b.meta().maxt).max() {
            report.wal_samples_in_blocks = head
                .select(&[], i64::MIN, persisted - 1)?
                .iter()
                .map(|(_, s)| s.len() as u64)
                .sum();
            head.truncate_before(persisted);
            head.set_min_valid_time(persisted);
        }

        let wal = Wal::create(
            &wal_dir,
            replayed,
            WalOptions {
                segment_bytes: options.wal_segment_bytes,
                sync: options.wal_sync,
            },
        )
        .map_err(io_err(&wal_dir))?;
        let counters = Counters::default();
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        counters
            .wal_corruptions
            .store(report.wal_corruptions.len() as u64, relaxed);
        counters
            .wal_bytes_dropped
            .store(report.wal_bytes_dropped(), relaxed);
        counters
            .corrupt_blocks
            .store(report.corrupt_blocks.len() as u64, relaxed);
        let db = Db {
            head: RwLock::new(head),
            metadata: Default::default(),
            disk: Some(Disk {
                dir: dir.to_owned(),
                options,
                wal: Mutex::new(wal),
                blocks: RwLock::new(blocks),
                maintaining: Mutex::new(()),
                counters,
            }),
        };
        Ok((db, report))
    }
}

/// Loads every block directory under `dir`, oldest first.
fn load_blocks(dir: &Path, report: &mut RecoveryReport) -> Result<Vec<Arc<Block>>, DbError> {
    let mut blocks = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with(".tmp-") {
            fs::remove_dir_all(&path).map_err(io_err(&path))?;
            report.removed_dirs.push(path);
        } else if is_block_id(&name) && path.is_dir() {
            names.push(name);
        }
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        match Block::open(&path) {
            Ok(block) => blocks.push(Arc::new(block)),
            Err(err) => {
                let moved = dir.join(format!("{name}.corrupt"));
                let moved_to = fs::rename(&path, &moved).ok().map(|()| moved);
                report.corrupt_blocks.push(CorruptBlock {
                    path,
                    moved_to,
                    reason: err.to_string(),
                });
            }
        }
    }
    let metas: Vec<_> = blocks.iter().map(|b: &Arc<Block>| b.meta()).collect();
    let merged = superseded(&metas);
    let mut kept = Vec::with_capacity(blocks.len());
    for block in blocks {
        if merged.contains(&block.meta().id) {
            let path = block.dir().to_owned();
            fs::remove_dir_all(&path).map_err(io_err(&path))?;
            report.removed_dirs.push(path);
        } else {
            kept.push(block);
        }
    }
    kept.sort_by_key(|b| (b.meta().mint, b.meta().maxt));
    report.blocks_loaded = kept.iter().map(|b| b.meta().id.clone()).collect();
    Ok(kept)
}

/// Whether `name` looks like [`BlockMeta::id_for`](crate::block::BlockMeta::id_for)'s output.
fn is_block_id(name: &str) -> bool {
    let mut parts = name.split('-');
    let hex = |p: Option<&str>| {
        p.is_some_and(|p| p.len() == 16 && p.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    hex(parts.next())
        && hex(parts.next())
        && parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_none()
}

/// Replays the WAL into `head`; returns the number of the next segment.
fn replay_wal(
    wal_dir: &Path,
    head: &mut Head,
    report: &mut RecoveryReport,
) -> Result<u32, DbError> {
    if wal_dir.exists() {
        for entry in fs::read_dir(wal_dir).map_err(io_err(wal_dir))? {
            let path = entry.map_err(io_err(wal_dir))?.path();
            if path.extension().is_some_and(|e| e == "tmp") {
                fs::remove_file(&path).map_err(io_err(&path))?;
                report.removed_dirs.push(path);
            }
        }
    }
    // WAL reference -> head reference, where they differ.
    let mut remap: HashMap<SeriesRef, SeriesRef> = HashMap::new();
    let replayed = replay(wal_dir, |record| match record {
        Record::Series(series) => {
            for (wal_ref, labels) in series {
                if let Ok(head_ref) = head.restore_series(&labels, wal_ref) {
                    report.wal_series += 1;
                    if head_ref == wal_ref {
                        remap.remove(&wal_ref);
                    } else {
                        remap.insert(wal_ref, head_ref);
                    }
                }
            }
        }
        Record::Samples(samples) => {
            for s in samples {
                let series_ref = remap.get(&s.series_ref).copied().unwrap_or(s.series_ref);
                if !head.contains(series_ref) {
                    report.wal_unknown_series_samples += 1;
                } else if head.append_ref(series_ref, s.t, s.v).is_ok() {
                    report.wal_samples += 1;
                } else {
                    report.wal_samples_rejected += 1;
                }
            }
        }
    })
    .map_err(io_err(wal_dir))?;
    report.wal_records = replayed.records;
    report.wal_checkpoint = replayed.checkpoint;
    report.wal_segments = replayed.segments;
    report.wal_corruptions = replayed.corruptions;
    Ok(replayed.next_segment)
}
