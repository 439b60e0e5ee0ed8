//! The bytes of a block's `chunks` and `index` files.
//!
//! `chunks`: the magic `SNDCHK02`, then chunk after chunk, each
//! `[data length: uvarint][encoding: u8 = 1 (XOR)][data][CRC32C of
//! encoding and data: u32 LE]`, as Prometheus's chunk segments frame
//! them (version 01 had a 4-byte length: 3 bytes more per chunk than
//! Prometheus). A chunk is referred to by the offset of its length field.
//!
//! `index`: the magic `SNDIDX01`, a body, then the body's CRC32C (u32 LE).
//! The body is the number of series, then per series, sorted by labels:
//! its labels (`n`, then `name`, `value` strings) and its chunks (`n`,
//! then per chunk `min_t` (zig-zag varint), `max_t - min_t`, the chunk's
//! offset and its data length (uvarints)). Postings are not stored: they
//! are rebuilt in memory from the labels when the block is opened.

use crate::block::ChunkData;
use crate::labels::Labels;
use crate::wal::crc32c::{crc32c, update};
use crate::wal::encoding::{put_labels, put_uvarint, put_varint, DecodeError, Decoder};
use crate::xor::XOR_ENCODING;

/// The first bytes of a chunks file.
pub const CHUNKS_MAGIC: &[u8; 8] = b"SNDCHK02";
/// The first bytes of an index file.
pub const INDEX_MAGIC: &[u8; 8] = b"SNDIDX01";
/// The length of a chunk's frame: its uvarint data length, encoding
/// byte, data and CRC.
pub fn frame_len(data_len: usize) -> usize {
    let mut varint = 1;
    let mut v = data_len >> 7;
    while v > 0 {
        varint += 1;
        v >>= 7;
    }
    varint + 1 + data_len + 4
}

/// Where a chunk lives in the chunks file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// First sample's timestamp.
    pub min_t: i64,
    /// Last sample's timestamp.
    pub max_t: i64,
    /// Offset of the chunk's frame in the chunks file.
    pub offset: u64,
    /// Length of the chunk's data.
    pub len: u32,
}

/// Appends one framed chunk onto `out`.
pub fn put_chunk(out: &mut Vec<u8>, data: &[u8]) {
    put_uvarint(out, data.len() as u64);
    out.push(XOR_ENCODING);
    out.extend_from_slice(data);
    let crc = update(crc32c(&[XOR_ENCODING]), data);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Checks one framed chunk at the start of `frame` and returns its data.
pub fn read_chunk(frame: &[u8]) -> Result<&[u8], DecodeError> {
    let mut dec = Decoder::new(frame);
    let at = dec.position();
    let len = usize::try_from(dec.uvarint()?).map_err(|_| DecodeError::Invalid {
        what: "chunk length",
        at,
    })?;
    let at = dec.position();
    if dec.u8()? != XOR_ENCODING {
        return Err(DecodeError::Invalid {
            what: "chunk encoding",
            at,
        });
    }
    let data = dec.bytes(len)?;
    let at = dec.position();
    let crc = dec.u32_le()?;
    if update(crc32c(&[XOR_ENCODING]), data) != crc {
        return Err(DecodeError::Invalid {
            what: "chunk CRC32C",
            at,
        });
    }
    Ok(data)
}

/// Encodes an index body for `series` (already sorted by labels).
pub fn encode_index(series: &[(Labels, Vec<ChunkRef>)]) -> Vec<u8> {
    let mut out = INDEX_MAGIC.to_vec();
    put_uvarint(&mut out, series.len() as u64);
    for (labels, chunks) in series {
        put_labels(&mut out, labels);
        put_uvarint(&mut out, chunks.len() as u64);
        for c in chunks {
            put_varint(&mut out, c.min_t);
            put_uvarint(&mut out, c.max_t.wrapping_sub(c.min_t) as u64);
            put_uvarint(&mut out, c.offset);
            put_uvarint(&mut out, u64::from(c.len));
        }
    }
    let crc = crc32c(&out[INDEX_MAGIC.len()..]);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes an index file, checking its magic and CRC.
pub fn decode_index(bytes: &[u8]) -> Result<Vec<(Labels, Vec<ChunkRef>)>, DecodeError> {
    if bytes.len() < INDEX_MAGIC.len() + 4 || &bytes[..INDEX_MAGIC.len()] != INDEX_MAGIC {
        return Err(DecodeError::Invalid {
            what: "index magic or size",
            at: 0,
        });
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let body = &body[INDEX_MAGIC.len()..];
    if crc32c(body).to_le_bytes() != crc {
        return Err(DecodeError::Invalid {
            what: "index CRC32C",
            at: bytes.len() - 4,
        });
    }
    let mut dec = Decoder::new(body);
    let n = dec.len("series count", body.len())?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let labels = dec.labels(body.len())?;
        let nchunks = dec.len("chunk count", body.len())?;
        let mut chunks = Vec::with_capacity(nchunks);
        for _ in 0..nchunks {
            let min_t = dec.varint()?;
            let max_t = min_t.wrapping_add(dec.uvarint()? as i64);
            let offset = dec.uvarint()?;
            let at = dec.position();
            let len = u32::try_from(dec.uvarint()?).map_err(|_| DecodeError::Invalid {
                what: "chunk length",
                at,
            })?;
            chunks.push(ChunkRef {
                min_t,
                max_t,
                offset,
                len,
            });
        }
        out.push((labels, chunks));
    }
    if !dec.is_empty() {
        return Err(DecodeError::Invalid {
            what: "trailing index bytes",
            at: dec.position(),
        });
    }
    Ok(out)
}

/// A chunk held in memory, as it goes into a block.
pub fn chunk_samples(chunk: &ChunkData) -> u64 {
    u64::from(u16::from_be_bytes([
        chunk.bytes.first().copied().unwrap_or(0),
        chunk.bytes.get(1).copied().unwrap_or(0),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames are as long as `frame_len` says, with a one-byte length for
    /// the usual chunk (Prometheus's framing), and read back exactly.
    #[test]
    fn frames_round_trip_with_a_varint_length() {
        for len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = Vec::new();
            put_chunk(&mut out, &data);
            assert_eq!(out.len(), frame_len(len), "length {len}");
            assert_eq!(read_chunk(&out).unwrap(), &data[..]);
        }
        assert_eq!(frame_len(120), 1 + 1 + 120 + 4);
    }
}
