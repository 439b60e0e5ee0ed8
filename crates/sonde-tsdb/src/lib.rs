//! sonde's time-series store, starting from the bottom: sample chunks and
//! the series index of the in-memory head.
//!
//! This crate holds Gorilla/XOR float chunks that are bit-compatible with
//! Prometheus's `tsdb/chunkenc` XOR encoding, so that chunks written by
//! Prometheus decode here and chunks encoded here are byte-identical to
//! Prometheus's for the same samples (checked against `promtool` in
//! `tests/promtool_blocks.rs`).
//!
//! The data path, file by file:
//! - `bstream.rs`: [`BitWriter`] and [`BitReader`], most-significant bit
//!   first, as Prometheus's `bstream`.
//! - `xor.rs`: [`XorAppender`] encodes `(timestamp ms, f64)` samples into an
//!   [`XorChunk`]; [`XorIterator`] decodes them.
//! - `error.rs`: [`ChunkError`], every way decoding can fail; decoding never
//!   panics on bad input.
//! - `labels.rs`: [`Labels`], a series' sorted, validated label set.
//! - `matcher.rs`: [`Matcher`]s `=`, `!=`, `=~`, `!~` with Prometheus's
//!   semantics (anchored regexes; a missing label is the empty value).
//! - `index.rs`: [`SeriesIndex`], series refs and postings per label pair
//!   (roaring bitmaps), and selection by matchers as Prometheus's
//!   `PostingsForMatchers` does.
//! - `head.rs`: [`Head`], the in-memory head: per-series XOR chunks cut at
//!   120 samples, Prometheus's out-of-order and duplicate rules, selection
//!   by matchers and time range, and [`HeadStats`].
//! - `wal.rs`, `wal/*.rs`: the write-ahead log: segment files of
//!   CRC32C-framed series and samples records, replay with repair of torn
//!   or corrupt tails, checkpoints.
//! - `block.rs`, `block/*.rs`: persisted, immutable blocks (meta, index,
//!   CRC-checked chunks), written atomically, loaded with damage reported.
//! - `compact.rs`: merging adjacent blocks into exponentially larger ones.
//! - `retention.rs`: which blocks are past the retention time.
//! - `db.rs`, `db/*.rs`: [`Db`], in memory or durable in a directory
//!   ([`Db::open`], [`DbOptions`], [`RecoveryReport`]): WAL-first appends,
//!   reads merged across blocks and head, [`Db::maintain`] (head → block,
//!   compaction, retention) and [`DbStats`].
//!
//! ```
//! # fn main() -> Result<(), sonde_tsdb::ChunkError> {
//! let mut appender = sonde_tsdb::XorAppender::new();
//! appender.append(1_700_000_000_000, 1.0)?;
//! appender.append(1_700_000_015_000, 2.5)?;
//! let chunk = appender.into_chunk();
//! let samples: Vec<(i64, f64)> = chunk.iter().collect::<Result<_, _>>()?;
//! assert_eq!(samples, [(1_700_000_000_000, 1.0), (1_700_000_015_000, 2.5)]);
//! # Ok(())
//! # }
//! ```

mod block;
mod bstream;
mod compact;
mod db;
mod error;
mod head;
mod index;
mod labels;
mod matcher;
mod metadata;
mod retention;
mod wal;
mod xor;

pub use block::{BlockError, BlockMeta};
pub use bstream::{BitReader, BitWriter};
pub use db::{
    BatchOutcome, CorruptBlock, Db, DbError, DbOptions, DbStats, MaintainReport, RecoveryReport,
    Sample, DEFAULT_BLOCK_RANGE_MS,
};
pub use error::ChunkError;
pub use head::{
    is_stale, AppendError, ChunkMeta, Head, HeadStats, SeriesSamples, SAMPLES_PER_CHUNK, STALE_NAN,
    STALE_NAN_BITS,
};
pub use index::{IndexError, SeriesIndex, SeriesRef};
pub use labels::{is_valid_label_name, is_valid_metric_name, LabelError, Labels, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use metadata::{Metadata, MetadataStore, MetricType};
pub use wal::replay::WalCorruption;
pub use wal::{CorruptionReason, WalSync};
pub use xor::{XorAppender, XorChunk, XorIterator, XOR_ENCODING};
