//! Persisted blocks, as Prometheus's: an immutable directory holding the
//! samples of every series over one time range `[mint, maxt)`.
//!
//! A block directory (named by [`BlockMeta::id_for`], sortable by time)
//! holds three files:
//! - `meta` ([`meta`]): range, counts, compaction level and sources;
//! - `chunks` ([`mod@format`]): the series' XOR chunks, each with a CRC32C;
//! - `index` ([`mod@format`]): each series' labels and chunk references, with
//!   a CRC32C over the whole file.
//!
//! Blocks are written into a `.tmp-<id>` directory, synced, then renamed
//! ([`writer`]), so a block either exists whole or not at all.
//!
//! Loading ([`Block::open`]): `meta` and `index` are read into memory (the
//! index becomes a [`SeriesIndex`] with postings, for selection by
//! matchers and for label names and values); `chunks` is read through
//! once to check every chunk's CRC, then read lazily, one `pread` per
//! selected series. Any damage fails the open with a [`BlockError`]; the
//! [`Db`](crate::Db) then skips that block and reports it.

pub(crate) mod format;
pub(crate) mod meta;
pub(crate) mod writer;

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::head::SeriesSamples;
use crate::index::{SeriesIndex, SeriesRef};
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::wal::encoding::DecodeError;
use crate::xor::XorIterator;
use crate::ChunkError;
use format::{frame_len, read_chunk, ChunkRef, CHUNKS_MAGIC};

pub use meta::BlockMeta;

/// One chunk's bytes and time range, as they move from the head or a
/// block into a new block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkData {
    /// First sample's timestamp.
    pub min_t: i64,
    /// Last sample's timestamp.
    pub max_t: i64,
    /// The XOR chunk, 2-byte sample count included.
    pub bytes: Vec<u8>,
}

/// Why a block could not be written or read.
#[derive(Debug, Error)]
pub enum BlockError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The `meta` file is malformed.
    #[error("bad meta file: {0}")]
    Meta(String),
    /// The `index` file is malformed or fails its CRC.
    #[error("bad index file: {0}")]
    Index(DecodeError),
    /// The `chunks` file is malformed or a chunk fails its CRC.
    #[error("bad chunks file: {0}")]
    Chunks(String),
    /// A chunk does not decode.
    #[error(transparent)]
    Chunk(#[from] ChunkError),
}

/// Wraps an I/O error with its path.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BlockError + '_ {
    move |source| BlockError::Io {
        path: path.to_owned(),
        source,
    }
}

/// An open, immutable block.
#[derive(Debug)]
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    /// Series by reference (their position in the index file).
    index: SeriesIndex,
    /// Chunk references by series reference.
    chunks: Vec<Vec<ChunkRef>>,
    file: File,
    size_bytes: u64,
}

impl Block {
    /// Opens and checks the block in `dir`.
    pub fn open(dir: &Path) -> Result<Self, BlockError> {
        let id = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let meta_path = dir.join("meta");
        let text = fs::read_to_string(&meta_path).map_err(io_err(&meta_path))?;
        let meta = BlockMeta::decode(&id, &text)?;

        let index_path = dir.join("index");
        let index_bytes = fs::read(&index_path).map_err(io_err(&index_path))?;
        let series = format::decode_index(&index_bytes).map_err(BlockError::Index)?;

        let chunks_path = dir.join("chunks");
        let chunk_bytes = fs::read(&chunks_path).map_err(io_err(&chunks_path))?;
        let frames = check_chunks(&chunk_bytes)?;

        let mut index = SeriesIndex::new();
        let mut chunks = Vec::with_capacity(series.len());
        for (n, (labels, refs)) in series.into_iter().enumerate() {
            for c in &refs {
                if frames.get(&c.offset) != Some(&c.len) {
                    return Err(BlockError::Chunks(format!(
                        "index refers to no chunk of {} bytes at offset {}",
                        c.len, c.offset
                    )));
                }
            }
            let series_ref = SeriesRef::try_from(n)
                .map_err(|_| BlockError::Meta("too many series".to_owned()))?;
            index
                .create_with_ref(&labels, series_ref)
                .map_err(|e| BlockError::Meta(e.to_string()))?;
            chunks.push(refs);
        }
        let file = File::open(&chunks_path).map_err(io_err(&chunks_path))?;
        let size_bytes = (text.len() + index_bytes.len() + chunk_bytes.len()) as u64;
        Ok(Self {
            dir: dir.to_owned(),
            meta,
            index,
            chunks,
            file,
            size_bytes,
        })
    }

    /// The block's meta data.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The block's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// The block's series index.
    pub fn index(&self) -> &SeriesIndex {
        &self.index
    }

    /// Whether the block may hold samples in `[mint, maxt]` (inclusive).
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.meta.mint <= maxt && mint < self.meta.maxt
    }

    /// The series matching every matcher with their samples in
    /// `[mint, maxt]`, sorted by labels.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, BlockError> {
        let mut out = Vec::new();
        if mint > maxt || !self.overlaps(mint, maxt) {
            return Ok(out);
        }
        for series_ref in &self.index.select(matchers) {
            let Some(labels) = self.index.labels(series_ref) else {
                continue;
            };
            let mut samples = Vec::new();
            for data in self.read_chunks(series_ref, mint, maxt)? {
                for sample in XorIterator::new(&data.bytes) {
                    let (t, v) = sample?;
                    if t > maxt {
                        break;
                    }
                    if t >= mint {
                        samples.push((t, v));
                    }
                }
            }
            if !samples.is_empty() {
                out.push((labels.clone(), samples));
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Every series with all its chunks, sorted by labels (for compaction).
    pub fn all_chunks(&self) -> Result<Vec<(Labels, Vec<ChunkData>)>, BlockError> {
        let mut out = Vec::with_capacity(self.chunks.len());
        for series_ref in self.index.all_postings() {
            if let Some(labels) = self.index.labels(series_ref) {
                let chunks = self.read_chunks(series_ref, i64::MIN, i64::MAX)?;
                out.push((labels.clone(), chunks));
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The chunks of `series_ref` overlapping `[mint, maxt]`, read with
    /// one `pread` and checked against their CRC32C.
    fn read_chunks(
        &self,
        series_ref: SeriesRef,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<ChunkData>, BlockError> {
        let Some(refs) = self.chunks.get(series_ref as usize) else {
            return Ok(Vec::new());
        };
        let refs: Vec<&ChunkRef> = refs
            .iter()
            .filter(|c| c.max_t >= mint && c.min_t <= maxt)
            .collect();
        let Some(start) = refs.iter().map(|c| c.offset).min() else {
            return Ok(Vec::new());
        };
        let end = refs
            .iter()
            .map(|c| c.offset + frame_len(c.len as usize) as u64)
            .max()
            .unwrap_or(start);
        let mut buf = vec![0u8; (end - start) as usize];
        let path = self.dir.join("chunks");
        self.file
            .read_exact_at(&mut buf, start)
            .map_err(io_err(&path))?;
        let mut out = Vec::with_capacity(refs.len());
        for c in refs {
            let frame = &buf[(c.offset - start) as usize..];
            let data = read_chunk(frame).map_err(|e| BlockError::Chunks(e.to_string()))?;
            out.push(ChunkData {
                min_t: c.min_t,
                max_t: c.max_t,
                bytes: data.to_vec(),
            });
        }
        Ok(out)
    }
}

/// Checks the magic and every chunk's frame and CRC; returns the length
/// of the chunk data at each frame offset.
fn check_chunks(bytes: &[u8]) -> Result<std::collections::HashMap<u64, u32>, BlockError> {
    if bytes.len() < CHUNKS_MAGIC.len() || &bytes[..CHUNKS_MAGIC.len()] != CHUNKS_MAGIC {
        return Err(BlockError::Chunks("missing magic".to_owned()));
    }
    let mut frames = std::collections::HashMap::new();
    let mut pos = CHUNKS_MAGIC.len();
    while pos < bytes.len() {
        let data = read_chunk(&bytes[pos..])
            .map_err(|e| BlockError::Chunks(format!("chunk at offset {pos}: {e}")))?;
        frames.insert(pos as u64, data.len() as u32);
        pos += frame_len(data.len());
    }
    Ok(frames)
}

/// Ids of blocks whose sources all belong to a larger block: their data
/// is in that block already (a compaction whose clean-up was cut short).
pub fn superseded(metas: &[&BlockMeta]) -> HashSet<String> {
    let sets: Vec<HashSet<&str>> = metas
        .iter()
        .map(|m| m.sources.iter().map(String::as_str).collect())
        .collect();
    let mut out = HashSet::new();
    for (i, small) in metas.iter().enumerate() {
        let covered = metas.iter().enumerate().any(|(j, big)| {
            i != j && big.sources.len() > small.sources.len() && sets[i].is_subset(&sets[j])
        });
        if covered {
            out.insert(small.id.clone());
        }
    }
    out
}
