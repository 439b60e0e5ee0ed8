//! Compaction, as Prometheus's `LeveledCompactor`: adjacent blocks are
//! merged into blocks over exponentially larger ranges (by default 2h →
//! 6h → 18h → 54h), so the number of blocks stays small.
//!
//! [`plan`] picks the oldest group of two or more blocks that lie inside
//! one aligned window of the next range up, once the window is complete
//! (some block reaches its end). [`merge`] joins the groups' series:
//! chunks that do not overlap are copied byte for byte; a series with
//! overlapping chunks (or chunks reaching outside the kept range) is
//! decoded, de-duplicated by timestamp (the first block's sample wins)
//! and re-encoded. The `Db` writes the result as a new block (atomically,
//! see [`crate::block`]) and then deletes the sources.

use std::collections::BTreeMap;

use crate::block::{BlockMeta, ChunkData};
use crate::head::SAMPLES_PER_CHUNK;
use crate::labels::Labels;
use crate::xor::{XorAppender, XorIterator};
use crate::ChunkError;

/// The compaction ranges: `block_range` times 1, 3, 9, ... (`levels`
/// entries).
pub fn ranges(block_range: i64, levels: usize) -> Vec<i64> {
    let mut out = Vec::with_capacity(levels);
    let mut r = block_range;
    for _ in 0..levels.max(1) {
        out.push(r);
        r = r.saturating_mul(3);
    }
    out
}

/// The ids of the blocks to merge next, oldest first; `None` when nothing
/// is due.
pub fn plan(metas: &[&BlockMeta], ranges: &[i64]) -> Option<Vec<String>> {
    let frontier = metas.iter().map(|m| m.maxt).max()?;
    for &range in ranges.iter().skip(1) {
        let mut windows: BTreeMap<i64, Vec<&BlockMeta>> = BTreeMap::new();
        for m in metas {
            let start = m.mint.div_euclid(range) * range;
            if m.maxt - m.mint < range && m.maxt <= start.saturating_add(range) {
                windows.entry(start).or_default().push(m);
            }
        }
        for (start, mut group) in windows {
            if group.len() >= 2 && start.saturating_add(range) <= frontier {
                group.sort_by_key(|m| m.mint);
                return Some(group.iter().map(|m| m.id.clone()).collect());
            }
        }
    }
    None
}

/// Joins the series of several blocks (each sorted by labels), keeping
/// samples in `[mint, maxt)`; sorted by labels.
pub fn merge(
    inputs: Vec<Vec<(Labels, Vec<ChunkData>)>>,
    mint: i64,
    maxt: i64,
) -> Result<Vec<(Labels, Vec<ChunkData>)>, ChunkError> {
    let mut by_series: BTreeMap<Labels, Vec<ChunkData>> = BTreeMap::new();
    for block in inputs {
        for (labels, chunks) in block {
            by_series.entry(labels).or_default().extend(chunks);
        }
    }
    let mut out = Vec::with_capacity(by_series.len());
    for (labels, mut chunks) in by_series {
        chunks.sort_by_key(|c| c.min_t);
        let clean = chunks.windows(2).all(|w| w[0].max_t < w[1].min_t)
            && chunks.iter().all(|c| c.min_t >= mint && c.max_t < maxt);
        let chunks = if clean {
            chunks
        } else {
            rechunk(&chunks, mint, maxt)?
        };
        if !chunks.is_empty() {
            out.push((labels, chunks));
        }
    }
    Ok(out)
}

/// Decodes `chunks`, keeps one sample per timestamp in `[mint, maxt)` and
/// re-encodes them [`SAMPLES_PER_CHUNK`] to a chunk.
fn rechunk(chunks: &[ChunkData], mint: i64, maxt: i64) -> Result<Vec<ChunkData>, ChunkError> {
    let mut samples = Vec::new();
    for chunk in chunks {
        for sample in XorIterator::new(&chunk.bytes) {
            let (t, v) = sample?;
            if (mint..maxt).contains(&t) {
                samples.push((t, v));
            }
        }
    }
    samples.sort_by_key(|s| s.0);
    samples.dedup_by_key(|s| s.0);
    let mut out = Vec::new();
    for group in samples.chunks(usize::from(SAMPLES_PER_CHUNK)) {
        let mut appender = XorAppender::new();
        for &(t, v) in group {
            appender.append(t, v)?;
        }
        out.push(ChunkData {
            min_t: group[0].0,
            max_t: group[group.len() - 1].0,
            bytes: appender.bytes().to_vec(),
        });
    }
    Ok(out)
}
