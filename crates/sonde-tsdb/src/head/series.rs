//! One series' samples in the head, as Prometheus's `memSeries`: closed
//! XOR chunks, one open chunk being appended to, and the ordering checks of
//! Prometheus's `appendable`. A chunk is also cut when a sample crosses
//! the end of the chunk range (the block range) its first sample fell in,
//! so every chunk lies within one block.

use crate::block::ChunkData;
use crate::head::AppendError;
use crate::xor::{XorAppender, XorChunk, XorIterator};
use crate::ChunkError;

/// Samples per chunk before a new one is cut (Prometheus's default
/// `samplesPerChunk`).
pub const SAMPLES_PER_CHUNK: u16 = 120;

/// A chunk's time range and size, as the head keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    /// The timestamp of the chunk's first sample.
    pub min_t: i64,
    /// The timestamp of the chunk's last sample.
    pub max_t: i64,
    /// Samples in the chunk.
    pub samples: u16,
    /// Encoded bytes, the 2-byte header included.
    pub bytes: usize,
}

/// A closed chunk and its time range.
#[derive(Debug)]
struct ClosedChunk {
    chunk: XorChunk,
    min_t: i64,
    max_t: i64,
}

/// The chunk being appended to and its time range.
#[derive(Debug)]
struct OpenChunk {
    appender: XorAppender,
    min_t: i64,
    max_t: i64,
    /// The first timestamp past the chunk range `min_t` fell in.
    range_end: i64,
}

impl OpenChunk {
    /// A chunk holding the one sample `(t, v)`; `chunk_range` (ms, if any)
    /// bounds it.
    fn start(t: i64, v: f64, chunk_range: Option<i64>) -> Result<Self, ChunkError> {
        let mut appender = XorAppender::new();
        appender.append(t, v)?;
        let range_end = chunk_range
            .filter(|&r| r > 0)
            .and_then(|r| (t.div_euclid(r) + 1).checked_mul(r))
            .unwrap_or(i64::MAX);
        Ok(Self {
            appender,
            min_t: t,
            max_t: t,
            range_end,
        })
    }
}

/// What an accepted sample did to the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored; `new_chunk` when it opened a chunk, `bytes_added` is the
    /// growth of the series' encoded bytes.
    Stored { new_chunk: bool, bytes_added: usize },
    /// Same timestamp and value bits as the last sample: nothing stored.
    Duplicate,
}

/// A series' chunks; empty until its first sample.
#[derive(Debug, Default)]
pub struct MemSeries {
    closed: Vec<ClosedChunk>,
    open: Option<OpenChunk>,
    /// The bits of the last stored value, for the duplicate check.
    last_bits: u64,
}

impl MemSeries {
    /// Appends `(t, v)` if it comes after the last sample; a repeat of the
    /// last sample is a no-op, anything else at or before it an error.
    pub fn append(
        &mut self,
        t: i64,
        v: f64,
        chunk_range: Option<i64>,
    ) -> Result<Appended, AppendError> {
        let Some(open) = &mut self.open else {
            let open = OpenChunk::start(t, v, chunk_range)?;
            let bytes_added = open.appender.bytes().len();
            self.open = Some(open);
            self.last_bits = v.to_bits();
            return Ok(Appended::Stored {
                new_chunk: true,
                bytes_added,
            });
        };
        if let Order::Same = check_order(open.max_t, self.last_bits, t, v)? {
            return Ok(Appended::Duplicate);
        }
        let stored = if open.appender.num_samples() >= SAMPLES_PER_CHUNK || t >= open.range_end {
            let next = OpenChunk::start(t, v, chunk_range)?;
            let bytes_added = next.appender.bytes().len();
            let full = std::mem::replace(open, next);
            self.closed.push(ClosedChunk {
                chunk: full.appender.into_chunk(),
                min_t: full.min_t,
                max_t: full.max_t,
            });
            Appended::Stored {
                new_chunk: true,
                bytes_added,
            }
        } else {
            let before = open.appender.bytes().len();
            open.appender.append(t, v)?;
            open.max_t = t;
            Appended::Stored {
                new_chunk: false,
                bytes_added: open.appender.bytes().len() - before,
            }
        };
        self.last_bits = v.to_bits();
        Ok(stored)
    }

    /// Pushes the samples in `[mint, maxt]` onto `out`, decoding only the
    /// chunks whose time range overlaps it.
    pub fn samples_in(
        &self,
        mint: i64,
        maxt: i64,
        out: &mut Vec<(i64, f64)>,
    ) -> Result<(), ChunkError> {
        for (min_t, max_t, bytes) in self.encoded() {
            if max_t < mint || min_t > maxt {
                continue;
            }
            for sample in XorIterator::new(bytes) {
                let (t, v) = sample?;
                if t > maxt {
                    break;
                }
                if t >= mint {
                    out.push((t, v));
                }
            }
        }
        Ok(())
    }

    /// The timestamp of the oldest sample held, `None` when empty.
    pub fn min_time(&self) -> Option<i64> {
        self.closed
            .first()
            .map(|c| c.min_t)
            .or(self.open.as_ref().map(|c| c.min_t))
    }

    /// Whether the series holds no chunk.
    pub fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.open.is_none()
    }

    /// Drops every chunk wholly before `t`; returns the chunks and encoded
    /// bytes dropped.
    pub fn truncate_before(&mut self, t: i64) -> (u64, u64) {
        let keep_from = self.closed.partition_point(|c| c.max_t < t);
        let mut bytes: u64 = self.closed[..keep_from]
            .iter()
            .map(|c| c.chunk.as_bytes().len() as u64)
            .sum();
        let mut chunks = keep_from as u64;
        self.closed.drain(..keep_from);
        if self.open.as_ref().is_some_and(|c| c.max_t < t) {
            if let Some(open) = self.open.take() {
                bytes += open.appender.bytes().len() as u64;
                chunks += 1;
            }
        }
        (chunks, bytes)
    }

    /// Copies of the chunks with samples in `[mint, maxt)`; a chunk reaching
    /// outside the range is re-encoded with only the samples inside.
    pub fn chunks_in(&self, mint: i64, maxt: i64) -> Result<Vec<ChunkData>, ChunkError> {
        let mut out = Vec::new();
        for (min_t, max_t, bytes) in self.encoded() {
            if max_t < mint || min_t >= maxt {
                continue;
            }
            if min_t >= mint && max_t < maxt {
                out.push(ChunkData {
                    min_t,
                    max_t,
                    bytes: bytes.to_vec(),
                });
                continue;
            }
            let mut appender = XorAppender::new();
            let (mut lo, mut hi) = (i64::MAX, i64::MIN);
            for sample in XorIterator::new(bytes) {
                let (t, v) = sample?;
                if (mint..maxt).contains(&t) {
                    appender.append(t, v)?;
                    lo = lo.min(t);
                    hi = hi.max(t);
                }
            }
            if appender.num_samples() > 0 {
                out.push(ChunkData {
                    min_t: lo,
                    max_t: hi,
                    bytes: appender.bytes().to_vec(),
                });
            }
        }
        Ok(out)
    }

    /// Each chunk's time range and encoded bytes, oldest first, the open
    /// one last.
    fn encoded(&self) -> impl Iterator<Item = (i64, i64, &[u8])> + '_ {
        let closed = self
            .closed
            .iter()
            .map(|c| (c.min_t, c.max_t, c.chunk.as_bytes()));
        let open = self
            .open
            .iter()
            .map(|c| (c.min_t, c.max_t, c.appender.bytes()));
        closed.chain(open)
    }

    /// The chunks, oldest first, the open one last.
    pub fn chunk_metas(&self) -> impl Iterator<Item = ChunkMeta> + '_ {
        let closed = self.closed.iter().map(|c| ChunkMeta {
            min_t: c.min_t,
            max_t: c.max_t,
            samples: c.chunk.num_samples(),
            bytes: c.chunk.as_bytes().len(),
        });
        let open = self.open.iter().map(|c| ChunkMeta {
            min_t: c.min_t,
            max_t: c.max_t,
            samples: c.appender.num_samples(),
            bytes: c.appender.bytes().len(),
        });
        closed.chain(open)
    }
}

/// Where a new sample falls against the last one.
enum Order {
    /// A later timestamp: to be stored.
    After,
    /// The same timestamp and value bits: a no-op.
    Same,
}

/// Prometheus's `memSeries.appendable` without out-of-order ingestion.
fn check_order(last_t: i64, last_bits: u64, t: i64, v: f64) -> Result<Order, AppendError> {
    if t > last_t {
        Ok(Order::After)
    } else if t < last_t {
        Err(AppendError::OutOfOrder { t, last_t })
    } else if v.to_bits() == last_bits {
        Ok(Order::Same)
    } else {
        Err(AppendError::DuplicateTimestamp { t })
    }
}
