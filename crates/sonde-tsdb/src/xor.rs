//! Gorilla/XOR float chunks, bit-compatible with Prometheus's
//! `tsdb/chunkenc` XOR encoding (chunk encoding 1).
//!
//! Layout: a big-endian `u16` sample count, then a bit stream:
//! - sample 0: the timestamp as a zig-zag varint (Go's `binary.PutVarint`),
//!   then the value's 64 raw bits;
//! - sample 1: the timestamp delta as a uvarint (Go's `binary.PutUvarint`),
//!   then the value XOR-encoded against sample 0;
//! - later samples: the delta-of-delta of the timestamp in one of five
//!   buckets (`0`; `10`+14 bits; `110`+17; `1110`+20; `1111`+64), then the
//!   XOR-encoded value.
//!
//! A value is XORed with the previous one: `0` if equal; otherwise `1`, then
//! `0` and the bits inside the previous leading/trailing-zero window when
//! the new XOR fits in it, or `1`, 5 bits of leading zeros (clamped to 31),
//! 6 bits of significant-bit count (64 written as 0) and those bits.
//!
//! Timestamp arithmetic wraps, as Go's does, so any `i64` sequence
//! round-trips. Decoding checks every read and every window, and reports
//! truncated or corrupt data as a [`ChunkError`].

use crate::bstream::{BitReader, BitWriter};
use crate::ChunkError;

/// Prometheus's chunk encoding number for XOR chunks.
pub const XOR_ENCODING: u8 = 1;

/// Bytes of the sample-count header in front of the bit stream.
const HEADER_LEN: usize = 2;

/// "No leading/trailing-zero window yet" (Prometheus's `0xff`).
const NO_WINDOW: u8 = 0xff;

/// An encoded XOR chunk: the 2-byte sample count and the bit stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XorChunk {
    bytes: Vec<u8>,
}

impl XorChunk {
    /// Takes a chunk's bytes, as stored by Prometheus.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, ChunkError> {
        if bytes.len() < HEADER_LEN {
            return Err(ChunkError::MissingHeader(bytes.len()));
        }
        Ok(Self { bytes })
    }

    /// The chunk's bytes, as Prometheus stores them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The sample count from the header.
    pub fn num_samples(&self) -> u16 {
        u16::from_be_bytes([self.bytes[0], self.bytes[1]])
    }

    /// Decodes the samples.
    pub fn iter(&self) -> XorIterator<'_> {
        XorIterator::new(&self.bytes)
    }
}

impl<'a> IntoIterator for &'a XorChunk {
    type Item = Result<(i64, f64), ChunkError>;
    type IntoIter = XorIterator<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Encodes samples into a new chunk.
#[derive(Debug, Clone)]
pub struct XorAppender {
    stream: BitWriter,
    num: u16,
    t: i64,
    v: f64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
}

impl XorAppender {
    /// An appender for an empty chunk.
    pub fn new() -> Self {
        Self {
            stream: BitWriter::from_bytes(vec![0; HEADER_LEN]),
            num: 0,
            t: 0,
            v: 0.0,
            t_delta: 0,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    /// Samples appended so far.
    pub fn num_samples(&self) -> u16 {
        self.num
    }

    /// The chunk bytes so far.
    pub fn bytes(&self) -> &[u8] {
        self.stream.bytes()
    }

    /// Appends a sample. Timestamps are not checked for order: like
    /// Prometheus's appender, this encodes whatever it is given.
    pub fn append(&mut self, t: i64, v: f64) -> Result<(), ChunkError> {
        if self.num == u16::MAX {
            return Err(ChunkError::ChunkFull);
        }
        let mut t_delta = 0;
        match self.num {
            0 => {
                for byte in varint(t).as_slice() {
                    self.stream.write_byte(*byte);
                }
                self.stream.write_bits(v.to_bits(), 64);
            }
            1 => {
                t_delta = t.wrapping_sub(self.t) as u64;
                for byte in uvarint(t_delta).as_slice() {
                    self.stream.write_byte(*byte);
                }
                self.write_value(v);
            }
            _ => {
                t_delta = t.wrapping_sub(self.t) as u64;
                let dod = t_delta.wrapping_sub(self.t_delta) as i64;
                // Bucket widths are Prometheus's (milliseconds need wider
                // buckets than the Gorilla paper's seconds).
                if dod == 0 {
                    self.stream.write_bit(false);
                } else if bit_range(dod, 14) {
                    self.stream.write_bits(0b10, 2);
                    self.stream.write_bits(dod as u64, 14);
                } else if bit_range(dod, 17) {
                    self.stream.write_bits(0b110, 3);
                    self.stream.write_bits(dod as u64, 17);
                } else if bit_range(dod, 20) {
                    self.stream.write_bits(0b1110, 4);
                    self.stream.write_bits(dod as u64, 20);
                } else {
                    self.stream.write_bits(0b1111, 4);
                    self.stream.write_bits(dod as u64, 64);
                }
                self.write_value(v);
            }
        }
        self.t = t;
        self.v = v;
        self.t_delta = t_delta;
        self.num += 1;
        self.stream.bytes_mut()[..HEADER_LEN].copy_from_slice(&self.num.to_be_bytes());
        Ok(())
    }

    /// The finished chunk.
    pub fn into_chunk(self) -> XorChunk {
        XorChunk {
            bytes: self.stream.into_bytes(),
        }
    }

    fn write_value(&mut self, v: f64) {
        let delta = v.to_bits() ^ self.v.to_bits();
        if delta == 0 {
            self.stream.write_bit(false);
            return;
        }
        self.stream.write_bit(true);
        // Clamped so that it fits the 5-bit field.
        let leading = (delta.leading_zeros() as u8).min(31);
        let trailing = delta.trailing_zeros() as u8;
        if self.leading != NO_WINDOW && leading >= self.leading && trailing >= self.trailing {
            // Fits the previous window: send only its bits.
            self.stream.write_bit(false);
            self.stream
                .write_bits(delta >> self.trailing, 64 - self.leading - self.trailing);
            return;
        }
        self.leading = leading;
        self.trailing = trailing;
        self.stream.write_bit(true);
        self.stream.write_bits(u64::from(leading), 5);
        // 64 significant bits do not fit 6 bits; 0 never occurs otherwise
        // (that is the `delta == 0` case), so 0 stands for 64.
        let significant = 64 - leading - trailing;
        self.stream.write_bits(u64::from(significant % 64), 6);
        self.stream.write_bits(delta >> trailing, significant);
    }
}

impl Default for XorAppender {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `x` is in Prometheus's `n`-bit delta-of-delta bucket:
/// `-(2^(n-1) - 1) ..= 2^(n-1)` (`bitRange` in `xor.go`; one more positive
/// value than two's complement, read back by [`sign_extend`]).
fn bit_range(x: i64, n: u8) -> bool {
    let half = 1i64 << (n - 1);
    -(half - 1) <= x && x <= half
}

/// Reads an `n`-bit bucket value back: above `2^(n-1)` it is negative.
fn sign_extend(bits: u64, n: u8) -> i64 {
    if bits > 1 << (n - 1) {
        (bits as i64) - (1i64 << n)
    } else {
        bits as i64
    }
}

/// Decodes the samples of an XOR chunk, in order. After the first error it
/// yields nothing more.
#[derive(Debug, Clone)]
pub struct XorIterator<'a> {
    reader: BitReader<'a>,
    /// Samples the header promises (0 when the header itself is missing).
    total: u16,
    read: u16,
    /// The header was missing: report it once.
    missing_header: Option<usize>,
    failed: bool,
    t: i64,
    v: f64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
}

impl<'a> XorIterator<'a> {
    /// Decodes chunk bytes (the 2-byte header and the bit stream).
    pub fn new(bytes: &'a [u8]) -> Self {
        let (total, stream, missing_header) = match bytes {
            [hi, lo, stream @ ..] => (u16::from_be_bytes([*hi, *lo]), stream, None),
            _ => (0, &[][..], Some(bytes.len())),
        };
        Self {
            reader: BitReader::new(stream),
            total,
            read: 0,
            missing_header,
            failed: false,
            t: 0,
            v: 0.0,
            t_delta: 0,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    fn decode_next(&mut self) -> Result<(i64, f64), ChunkError> {
        match self.read {
            0 => {
                self.t = read_varint(&mut self.reader)?;
                self.v = f64::from_bits(self.reader.read_bits(64)?);
            }
            1 => {
                self.t_delta = read_uvarint(&mut self.reader)?;
                self.t = self.t.wrapping_add(self.t_delta as i64);
                self.read_value()?;
            }
            _ => {
                // The bucket prefix: up to four bits, stopping at a 0.
                let mut ones = 0;
                while ones < 4 && self.reader.read_bit()? {
                    ones += 1;
                }
                let dod = match ones {
                    0 => 0,
                    4 => self.reader.read_bits(64)? as i64,
                    _ => {
                        let width = [14, 17, 20][ones - 1];
                        sign_extend(self.reader.read_bits(width)?, width)
                    }
                };
                self.t_delta = (self.t_delta as i64).wrapping_add(dod) as u64;
                self.t = self.t.wrapping_add(self.t_delta as i64);
                self.read_value()?;
            }
        }
        Ok((self.t, self.v))
    }

    fn read_value(&mut self) -> Result<(), ChunkError> {
        if !self.reader.read_bit()? {
            return Ok(());
        }
        if self.reader.read_bit()? {
            // A new window.
            let leading = self.reader.read_bits(5)? as u8;
            let significant = match self.reader.read_bits(6)? as u8 {
                0 => 64,
                n => n,
            };
            if leading + significant > 64 {
                return Err(ChunkError::BadWindow {
                    leading,
                    significant,
                });
            }
            self.leading = leading;
            self.trailing = 64 - leading - significant;
        } else if self.leading == NO_WINDOW {
            return Err(ChunkError::NoWindow);
        }
        let significant = 64 - self.leading - self.trailing;
        let trailing = self.trailing;
        let bits = self.reader.read_bits(significant)?;
        self.v = f64::from_bits(self.v.to_bits() ^ bits << trailing);
        Ok(())
    }
}

impl Iterator for XorIterator<'_> {
    type Item = Result<(i64, f64), ChunkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if let Some(len) = self.missing_header {
            self.failed = true;
            return Some(Err(ChunkError::MissingHeader(len)));
        }
        if self.read == self.total {
            return None;
        }
        let sample = self.decode_next();
        match sample {
            Ok(_) => self.read += 1,
            Err(_) => self.failed = true,
        }
        Some(sample)
    }
}

/// Go's `binary.PutVarint`: zig-zag, then [`uvarint`].
fn varint(x: i64) -> Varint {
    uvarint(((x as u64) << 1) ^ ((x >> 63) as u64))
}

/// Go's `binary.PutUvarint`: 7 bits a byte, low first, high bit = more.
fn uvarint(mut x: u64) -> Varint {
    let mut out = Varint {
        buf: [0; MAX_VARINT_LEN],
        len: 0,
    };
    while x >= 0x80 {
        out.buf[out.len] = x as u8 | 0x80;
        out.len += 1;
        x >>= 7;
    }
    out.buf[out.len] = x as u8;
    out.len += 1;
    out
}

/// Go's `binary.ReadVarint`.
fn read_varint(reader: &mut BitReader<'_>) -> Result<i64, ChunkError> {
    let ux = read_uvarint(reader)?;
    Ok((ux >> 1) as i64 ^ -((ux & 1) as i64))
}

/// Go's `binary.ReadUvarint`, including its overflow checks.
fn read_uvarint(reader: &mut BitReader<'_>) -> Result<u64, ChunkError> {
    let mut x = 0u64;
    for i in 0..MAX_VARINT_LEN {
        let byte = reader.read_byte()?;
        if byte < 0x80 {
            if i == MAX_VARINT_LEN - 1 && byte > 1 {
                return Err(ChunkError::VarintOverflow);
            }
            return Ok(x | u64::from(byte) << (7 * i));
        }
        x |= u64::from(byte & 0x7f) << (7 * i);
    }
    Err(ChunkError::VarintOverflow)
}

/// Longest varint of a 64-bit number.
const MAX_VARINT_LEN: usize = 10;

/// An encoded varint, on the stack.
struct Varint {
    buf: [u8; MAX_VARINT_LEN],
    len: usize,
}

impl Varint {
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}
