//! Writing a block: chunks, index and meta into `.tmp-<id>`, each file
//! synced, then one rename to `<id>` and a sync of the parent directory.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::block::format::{encode_index, frame_len, put_chunk, ChunkRef, CHUNKS_MAGIC};
use crate::block::{io_err, BlockError, BlockMeta, ChunkData};
use crate::labels::Labels;
use crate::wal::sync_dir;

/// Where and what to write.
#[derive(Debug, Clone)]
pub struct BlockSpec {
    /// The first millisecond covered.
    pub mint: i64,
    /// The end of the range covered (exclusive).
    pub maxt: i64,
    /// The compaction level.
    pub level: u32,
    /// The level-1 blocks merged in; empty for a block cut from the head
    /// (its own id is used).
    pub sources: Vec<String>,
}

/// Writes a block of `series` (sorted by labels, chunks oldest first)
/// into `parent`; returns its meta. Fails if the block already exists.
pub fn write_block(
    parent: &Path,
    spec: BlockSpec,
    series: &[(Labels, Vec<ChunkData>)],
) -> Result<BlockMeta, BlockError> {
    let id = BlockMeta::id_for(spec.mint, spec.maxt, spec.level);
    let final_dir = parent.join(&id);
    if final_dir.exists() {
        return Err(BlockError::Io {
            path: final_dir,
            source: std::io::ErrorKind::AlreadyExists.into(),
        });
    }
    let tmp = parent.join(format!(".tmp-{id}"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;

    let mut chunks_file = CHUNKS_MAGIC.to_vec();
    let mut index = Vec::with_capacity(series.len());
    let (mut samples, mut nchunks) = (0u64, 0u64);
    for (labels, chunks) in series {
        let mut refs = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            refs.push(ChunkRef {
                min_t: chunk.min_t,
                max_t: chunk.max_t,
                offset: chunks_file.len() as u64,
                len: chunk.bytes.len() as u32,
            });
            chunks_file.reserve(frame_len(chunk.bytes.len()));
            put_chunk(&mut chunks_file, &chunk.bytes);
            samples += crate::block::format::chunk_samples(chunk);
            nchunks += 1;
        }
        if !refs.is_empty() {
            index.push((labels.clone(), refs));
        }
    }
    let sources = if spec.sources.is_empty() {
        vec![id.clone()]
    } else {
        spec.sources
    };
    let meta = BlockMeta {
        id: id.clone(),
        mint: spec.mint,
        maxt: spec.maxt,
        series: index.len() as u64,
        samples,
        chunks: nchunks,
        level: spec.level,
        sources,
    };
    write_synced(&tmp.join("chunks"), &chunks_file)?;
    write_synced(&tmp.join("index"), &encode_index(&index))?;
    write_synced(&tmp.join("meta"), meta.encode().as_bytes())?;
    sync_dir(&tmp).map_err(io_err(&tmp))?;
    fs::rename(&tmp, &final_dir).map_err(io_err(&final_dir))?;
    sync_dir(parent).map_err(io_err(parent))?;
    Ok(meta)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BlockError> {
    let mut file = File::create(path).map_err(io_err(path))?;
    file.write_all(bytes).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))
}
