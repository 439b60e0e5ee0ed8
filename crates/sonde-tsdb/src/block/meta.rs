//! A block's `meta` file: plain `key=value` lines, readable with `cat`.
//!
//! ```text
//! version=1
//! mint=1700000000000
//! maxt=1700007200000
//! series=12
//! samples=5760
//! chunks=48
//! level=1
//! sources=000018bcfe568000-000018bd05296000-1
//! crc32c=1a2b3c4d
//! ```
//!
//! `mint` is inclusive and `maxt` exclusive, as in Prometheus's
//! `meta.json`; `sources` lists the level-1 blocks merged into this one
//! (itself, for a level-1 block), comma-separated. The last line is the
//! CRC32C of every byte before it, so a damaged meta is never believed.

use crate::block::BlockError;
use crate::wal::crc32c::crc32c;

/// The meta file's version.
const VERSION: u32 = 1;

/// What a block holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockMeta {
    /// The block's directory name.
    pub id: String,
    /// The first millisecond covered (inclusive).
    pub mint: i64,
    /// The end of the range covered (exclusive).
    pub maxt: i64,
    /// Series in the block.
    pub series: u64,
    /// Samples in the block.
    pub samples: u64,
    /// Chunks in the block.
    pub chunks: u64,
    /// 1 for a block cut from the head, one more per compaction.
    pub level: u32,
    /// The level-1 blocks this one holds the data of.
    pub sources: Vec<String>,
}

impl BlockMeta {
    /// The directory name of a block over `[mint, maxt)` at `level`:
    /// sortable by time (the offset-binary hex of both ends).
    pub fn id_for(mint: i64, maxt: i64, level: u32) -> String {
        let key = |t: i64| (t as u64) ^ (1 << 63);
        format!("{:016x}-{:016x}-{level}", key(mint), key(maxt))
    }

    /// The file's text.
    pub fn encode(&self) -> String {
        let body = format!(
            "version={VERSION}\nmint={}\nmaxt={}\nseries={}\nsamples={}\nchunks={}\nlevel={}\nsources={}\n",
            self.mint,
            self.maxt,
            self.series,
            self.samples,
            self.chunks,
            self.level,
            self.sources.join(","),
        );
        let crc = crc32c(body.as_bytes());
        format!("{body}crc32c={crc:08x}\n")
    }

    /// Parses the file's text for the block in directory `id`.
    pub fn decode(id: &str, text: &str) -> Result<Self, BlockError> {
        let trimmed = text.strip_suffix('\n').unwrap_or(text);
        let (body, crc_line) = match trimmed.rfind('\n') {
            Some(at) => (&text[..=at], &trimmed[at + 1..]),
            None => ("", trimmed),
        };
        let crc = crc_line
            .strip_prefix("crc32c=")
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .ok_or_else(|| BlockError::Meta("missing crc32c line".to_owned()))?;
        if crc32c(body.as_bytes()) != crc {
            return Err(BlockError::Meta("CRC32C mismatch".to_owned()));
        }
        let text = body;
        let mut meta = BlockMeta {
            id: id.to_owned(),
            mint: 0,
            maxt: 0,
            series: 0,
            samples: 0,
            chunks: 0,
            level: 0,
            sources: Vec::new(),
        };
        let mut seen = 0u32;
        for line in text.lines() {
            let bad = || BlockError::Meta(format!("bad line {line:?}"));
            let (key, value) = line.split_once('=').ok_or_else(bad)?;
            let num = |v: &str| v.parse::<i64>().map_err(|_| bad());
            let unsigned = |v: &str| v.parse::<u64>().map_err(|_| bad());
            match key {
                "version" if value == VERSION.to_string() => seen |= 1,
                "version" => return Err(BlockError::Meta(format!("unknown version {value}"))),
                "mint" => (meta.mint, seen) = (num(value)?, seen | 2),
                "maxt" => (meta.maxt, seen) = (num(value)?, seen | 4),
                "series" => meta.series = unsigned(value)?,
                "samples" => meta.samples = unsigned(value)?,
                "chunks" => meta.chunks = unsigned(value)?,
                "level" => {
                    meta.level = value.parse().map_err(|_| bad())?;
                    seen |= 8;
                }
                "sources" => {
                    meta.sources = value
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                _ => return Err(bad()),
            }
        }
        if seen != 15 {
            return Err(BlockError::Meta(
                "missing version, mint, maxt or level".to_owned(),
            ));
        }
        if meta.mint >= meta.maxt {
            return Err(BlockError::Meta(format!(
                "empty range [{}, {})",
                meta.mint, meta.maxt
            )));
        }
        Ok(meta)
    }
}
