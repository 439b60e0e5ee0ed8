//! How records sit in a segment file: each is framed as
//! `[payload length: u32 LE][CRC32C of payload: u32 LE][payload]`.
//!
//! [`scan`] walks a segment's bytes and stops at the first frame that is
//! torn (the file ends inside it), fails its CRC or does not decode,
//! reporting where the last good frame ended so the caller can truncate
//! there. It never panics on any input.

use std::fmt;

use crate::wal::crc32c::crc32c;
use crate::wal::encoding::DecodeError;
use crate::wal::record::{decode, Record};

/// Bytes before a frame's payload.
pub const HEADER_LEN: usize = 8;

/// The largest payload a frame may claim (a corrupt length beyond it is
/// not believed).
pub const MAX_PAYLOAD: usize = 1 << 30;

/// Appends `payload` framed onto `out`.
pub fn put_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// What ended a segment early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorruptionReason {
    /// Fewer than `HEADER_LEN` (8) bytes were left for a frame header.
    TornHeader {
        /// Bytes left.
        left: usize,
    },
    /// The header claims more payload than the file holds.
    TornPayload {
        /// Payload length claimed.
        claimed: usize,
        /// Bytes left after the header.
        left: usize,
    },
    /// A zero or implausibly large payload length.
    BadLength(usize),
    /// The payload's CRC32C does not match the header's.
    BadCrc {
        /// CRC in the header.
        expected: u32,
        /// CRC of the payload read.
        actual: u32,
    },
    /// The checksum matched but the record did not decode.
    BadRecord(DecodeError),
}

impl fmt::Display for CorruptionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TornHeader { left } => write!(f, "torn frame header ({left} bytes left)"),
            Self::TornPayload { claimed, left } => {
                write!(f, "torn record: {claimed} bytes claimed, {left} left")
            }
            Self::BadLength(n) => write!(f, "bad record length {n}"),
            Self::BadCrc { expected, actual } => {
                write!(
                    f,
                    "CRC32C mismatch: header {expected:#010x}, payload {actual:#010x}"
                )
            }
            Self::BadRecord(err) => write!(f, "undecodable record: {err}"),
        }
    }
}

/// Where and why a scan stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// Offset of the first bad frame: the end of the last good one.
    pub offset: u64,
    /// Why.
    pub reason: CorruptionReason,
}

/// What [`scan`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Good records handed to the callback.
    pub records: u64,
    /// The first bad frame, if the scan did not reach the end.
    pub corruption: Option<Corruption>,
}

/// Decodes every frame of `bytes` in order, handing each record to
/// `on_record`, until the end or the first bad frame.
pub fn scan(bytes: &[u8], mut on_record: impl FnMut(Record)) -> Scan {
    let mut pos = 0usize;
    let mut records = 0u64;
    let corruption = loop {
        let left = bytes.len() - pos;
        if left == 0 {
            break None;
        }
        let fail = |reason| {
            Some(Corruption {
                offset: pos as u64,
                reason,
            })
        };
        if left < HEADER_LEN {
            break fail(CorruptionReason::TornHeader { left });
        }
        let h = &bytes[pos..pos + HEADER_LEN];
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let expected = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        if len == 0 || len > MAX_PAYLOAD {
            break fail(CorruptionReason::BadLength(len));
        }
        if len > left - HEADER_LEN {
            break fail(CorruptionReason::TornPayload {
                claimed: len,
                left: left - HEADER_LEN,
            });
        }
        let payload = &bytes[pos + HEADER_LEN..pos + HEADER_LEN + len];
        let actual = crc32c(payload);
        if actual != expected {
            break fail(CorruptionReason::BadCrc { expected, actual });
        }
        match decode(payload) {
            Ok(record) => on_record(record),
            Err(err) => break fail(CorruptionReason::BadRecord(err)),
        }
        records += 1;
        pos += HEADER_LEN + len;
    };
    Scan {
        records,
        corruption,
    }
}
