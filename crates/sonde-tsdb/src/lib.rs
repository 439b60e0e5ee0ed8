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
//!
//! The write-ahead log, persisted blocks and PromQL come next.
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

mod bstream;
mod db;
mod error;
mod head;
mod index;
mod labels;
mod matcher;
mod metadata;
mod xor;

pub use bstream::{BitReader, BitWriter};
pub use db::{BatchOutcome, Db, DbError, Sample};
pub use error::ChunkError;
pub use head::{
    is_stale, AppendError, ChunkMeta, Head, HeadStats, SeriesSamples, SAMPLES_PER_CHUNK, STALE_NAN,
    STALE_NAN_BITS,
};
pub use index::{IndexError, SeriesIndex, SeriesRef};
pub use labels::{is_valid_label_name, is_valid_metric_name, LabelError, Labels, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use metadata::{Metadata, MetadataStore, MetricType};
pub use xor::{XorAppender, XorChunk, XorIterator, XOR_ENCODING};
