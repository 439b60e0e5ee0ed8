//! sonde on disk: the same samples appended to `Db::open` in a temporary
//! directory, one `append_batch` per scrape (the WAL's size measured after
//! the appends), then, with one
//! sentinel sample 3 h past the data's last 2 h range so that the head
//! spans enough, `Db::maintain` cuts every range of the data into blocks.

use std::path::Path;

use anyhow::{bail, Context};
use sonde_tsdb::{Db, DbOptions, Labels, Sample, DEFAULT_BLOCK_RANGE_MS};

use crate::corpus::{self, Series};

#[derive(Debug, Default, Clone, Copy)]
pub struct SondeDisk {
    pub wal_bytes: u64,
    pub blocks: usize,
    pub block_samples: u64,
    /// Chunk files of the blocks (framing included).
    pub chunk_file_bytes: u64,
    pub index_bytes: u64,
}

pub fn measure(series: &[Series]) -> anyhow::Result<SondeDisk> {
    let dir = tempfile::tempdir()?;
    let (db, _) = Db::open(dir.path(), DbOptions::default()).context("Db::open")?;
    let labels: Vec<Labels> = series
        .iter()
        .map(|(pairs, _)| Labels::new(pairs.iter().cloned()))
        .collect::<Result<_, _>>()?;
    // One batch per scrape, as a scraper appends.
    let mut batch: Vec<Sample> = Vec::new();
    let mut max_t = i64::MIN;
    for (t, i, v) in corpus::scrape_order(series) {
        if t != max_t {
            append_all(&db, &batch)?;
            batch.clear();
            max_t = t;
        }
        batch.push(Sample {
            labels: labels[i].clone(),
            t,
            v,
        });
    }
    append_all(&db, &batch)?;
    db.sync()?;
    let wal_bytes = db.stats().wal_bytes;
    let range = DEFAULT_BLOCK_RANGE_MS;
    let sentinel_t = (max_t.div_euclid(range) + 1) * range + range / 2 * 3 + 1;
    db.append(
        &Labels::new([("__name__", "tsdb_bench_sentinel")])?,
        sentinel_t,
        0.0,
    )?;
    db.maintain(sentinel_t)?;
    let stats = db.stats();
    let mut disk = SondeDisk {
        wal_bytes,
        blocks: stats.blocks,
        block_samples: stats.block_samples,
        ..SondeDisk::default()
    };
    for entry in std::fs::read_dir(dir.path())? {
        let block = entry?.path();
        if !block.join("index").is_file() {
            continue; // wal/, lock, ...
        }
        disk.index_bytes += file_bytes(&block.join("index"))?;
        disk.chunk_file_bytes += file_bytes(&block.join("chunks"))?;
    }
    let appended: u64 = series.iter().map(|(_, p)| p.len() as u64).sum();
    if disk.block_samples != appended {
        bail!(
            "sonde's blocks hold {} samples of {appended}",
            disk.block_samples
        );
    }
    Ok(disk)
}

fn append_all(db: &Db, batch: &[Sample]) -> anyhow::Result<()> {
    let outcome = db.append_batch(batch);
    if let Some((i, err)) = outcome.rejected.first() {
        bail!("sample {:?} rejected: {err}", batch[*i]);
    }
    Ok(())
}

/// Bytes of a file, or of every file in a directory.
fn file_bytes(path: &Path) -> anyhow::Result<u64> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        total += file_bytes(&entry?.path())?;
    }
    Ok(total)
}
