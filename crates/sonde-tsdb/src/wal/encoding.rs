//! Byte encoding shared by the WAL records and the block files: varints
//! (zig-zag for signed), little-endian fixed integers and length-prefixed
//! strings, and a [`Decoder`] that reports truncation instead of panicking.

use thiserror::Error;

use crate::labels::Labels;

/// Why bytes did not decode.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes ended inside a value.
    #[error("truncated: ran past the end at byte {0}")]
    Truncated(usize),
    /// A varint ran over 64 bits.
    #[error("varint overflows 64 bits at byte {0}")]
    VarintOverflow(usize),
    /// A string was not UTF-8.
    #[error("string at byte {0} is not UTF-8")]
    BadUtf8(usize),
    /// A value out of its allowed range.
    #[error("invalid {what} at byte {at}")]
    Invalid {
        /// What was being decoded.
        what: &'static str,
        /// Where.
        at: usize,
    },
}

/// Appends `v` as an unsigned LEB128 varint.
pub fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends `v` zig-zag encoded as a varint.
pub fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed string.
pub fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_uvarint(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

/// Appends a label set: the number of labels, then each name and value.
pub fn put_labels(buf: &mut Vec<u8>, labels: &Labels) {
    put_uvarint(buf, labels.len() as u64);
    for (name, value) in labels.iter() {
        put_str(buf, name);
        put_str(buf, value);
    }
}

/// Reads values off a byte slice, front to back.
#[derive(Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// The offset of the next byte.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(DecodeError::Truncated(self.pos))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }

    /// A little-endian `u32`.
    pub fn u32_le(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A little-endian `u64`.
    pub fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// An unsigned varint.
    pub fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = *self
                .bytes
                .get(self.pos)
                .ok_or(DecodeError::Truncated(self.pos))?;
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err(DecodeError::VarintOverflow(start));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(DecodeError::VarintOverflow(start))
    }

    /// A zig-zag varint.
    pub fn varint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// An unsigned varint that must fit `usize` and be at most `max`.
    pub fn len(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.uvarint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= max)
            .ok_or(DecodeError::Invalid { what, at })
    }

    /// A length-prefixed UTF-8 string.
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let n = self.len("string length", self.bytes.len())?;
        std::str::from_utf8(self.bytes(n)?).map_err(|_| DecodeError::BadUtf8(at))
    }

    /// A label set as [`put_labels`] wrote it, of at most `max` labels.
    /// Names are taken as Prometheus 3 takes them (any UTF-8), so that
    /// valid stored data never reads back as corrupt.
    pub fn labels(&mut self, max: usize) -> Result<Labels, DecodeError> {
        let n = self.len("label count", max)?;
        let mut pairs = Vec::with_capacity(n);
        for _ in 0..n {
            pairs.push((self.str()?, self.str()?));
        }
        let at = self.pos;
        Labels::new_utf8(pairs).map_err(|_| DecodeError::Invalid {
            what: "label set",
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut buf = Vec::new();
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            put_varint(&mut buf, v);
        }
        put_uvarint(&mut buf, u64::MAX);
        put_str(&mut buf, "héllo");
        let mut dec = Decoder::new(&buf);
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(dec.varint().unwrap(), v);
        }
        assert_eq!(dec.uvarint().unwrap(), u64::MAX);
        assert_eq!(dec.str().unwrap(), "héllo");
        assert!(dec.is_empty());
        assert_eq!(dec.u8(), Err(DecodeError::Truncated(buf.len())));
    }
}
