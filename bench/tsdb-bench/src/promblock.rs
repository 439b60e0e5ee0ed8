//! Prometheus blocks as `promtool tsdb create-blocks-from openmetrics`
//! writes them: sizes, chunk counts and samples (meta.json).
//!
//! A chunk segment file (`chunks/000001`, ...) is an 8-byte header, then per
//! chunk: uvarint data length, 1 encoding byte, the data (for XOR: the
//! 2-byte sample count and the bit stream), a 4-byte CRC32C.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

const SEGMENT_HEADER_LEN: usize = 8;

#[derive(Debug, Default, Clone)]
pub struct BlockStats {
    pub blocks: usize,
    pub series: u64,
    pub samples: u64,
    pub chunks: u64,
    /// Chunk data only (sample count header + bit stream), as sonde's
    /// `HeadStats::chunk_bytes` counts it.
    pub chunk_data_bytes: u64,
    /// Chunk segment files as stored: data plus per-chunk length, encoding
    /// and CRC, plus segment headers.
    pub chunk_file_bytes: u64,
    pub index_bytes: u64,
    /// Chunks by their sample count (the XOR data's first 2 bytes).
    pub chunks_by_samples: BTreeMap<u16, u64>,
}

impl BlockStats {
    pub fn block_bytes(&self) -> u64 {
        self.chunk_file_bytes + self.index_bytes
    }
}

/// Runs promtool on `input`, writing blocks under `out` (emptied first).
pub fn create_blocks(promtool: &Path, input: &Path, out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    let output = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(input)
        .arg(out)
        .output()
        .with_context(|| format!("running {}", promtool.display()))?;
    if !output.status.success() {
        bail!(
            "promtool failed on {}: {}",
            input.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Adds up every block under `dir`.
pub fn stats(dir: &Path) -> anyhow::Result<BlockStats> {
    let mut total = BlockStats::default();
    for block in block_dirs(dir)? {
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(block.join("meta.json"))?)?;
        let stat = |k: &str| meta["stats"][k].as_u64().unwrap_or(0);
        total.blocks += 1;
        total.series += stat("numSeries");
        total.samples += stat("numSamples");
        total.index_bytes += std::fs::metadata(block.join("index"))?.len();
        for segment in std::fs::read_dir(block.join("chunks"))? {
            let bytes = std::fs::read(segment?.path())?;
            total.chunk_file_bytes += bytes.len() as u64;
            let (chunks, data) = segment_chunks(&bytes, &mut total.chunks_by_samples)?;
            total.chunks += chunks;
            total.chunk_data_bytes += data;
        }
    }
    Ok(total)
}

pub fn block_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut blocks = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let path = entry?.path();
        if path.join("meta.json").is_file() {
            blocks.push(path);
        }
    }
    blocks.sort();
    Ok(blocks)
}

/// (chunks, data bytes) of one segment file.
fn segment_chunks(bytes: &[u8], by_samples: &mut BTreeMap<u16, u64>) -> anyhow::Result<(u64, u64)> {
    if bytes.len() < SEGMENT_HEADER_LEN {
        bail!("short chunk segment");
    }
    let (mut pos, mut chunks, mut data) = (SEGMENT_HEADER_LEN, 0, 0);
    while pos < bytes.len() {
        let mut len = 0u64;
        let mut shift = 0;
        loop {
            let Some(&b) = bytes.get(pos) else {
                bail!("truncated chunk length at {pos}");
            };
            pos += 1;
            len |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b < 0x80 {
                break;
            }
        }
        if let Some(count) = bytes.get(pos + 1..pos + 3) {
            *by_samples
                .entry(u16::from_be_bytes([count[0], count[1]]))
                .or_default() += 1;
        }
        pos += 1 + len as usize + 4;
        chunks += 1;
        data += len;
    }
    if pos != bytes.len() {
        bail!("chunk segment ends mid-chunk");
    }
    Ok((chunks, data))
}
