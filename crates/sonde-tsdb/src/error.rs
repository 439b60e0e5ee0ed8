//! The one error type of the crate: what can go wrong writing or reading a
//! bit stream or an XOR chunk.

use thiserror::Error;

/// A failure to encode or decode a chunk.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// A read ran past the last bit of the stream (truncated data).
    #[error("unexpected end of bit stream")]
    EndOfStream,
    /// More than 64 bits were asked for in one read.
    #[error("cannot read {0} bits at once (at most 64)")]
    BitWidth(u8),
    /// A varint ran over 64 bits (corrupt data).
    #[error("varint overflows 64 bits")]
    VarintOverflow,
    /// The chunk is shorter than its 2-byte sample-count header.
    #[error("chunk of {0} bytes has no 2-byte sample-count header")]
    MissingHeader(usize),
    /// The chunk already holds `u16::MAX` samples, the most its header can count.
    #[error("chunk is full: it already holds {} samples", u16::MAX)]
    ChunkFull,
    /// A value reused the previous leading/trailing-zero window, but no
    /// window had been set yet (corrupt data).
    #[error("value reuses a leading/trailing-zero window before any was set")]
    NoWindow,
    /// A value's window has more leading zeros and significant bits than
    /// fit in 64 bits (corrupt data).
    #[error("value window of {leading} leading zeros and {significant} significant bits exceeds 64 bits")]
    BadWindow {
        /// Leading zero bits, as read.
        leading: u8,
        /// Significant bits, as read (0 already read as 64).
        significant: u8,
    },
}
