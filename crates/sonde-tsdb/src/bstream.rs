//! Bit streams, most-significant bit first, as Prometheus's `bstream`.
//!
//! [`BitWriter`] reproduces Prometheus's writer byte for byte, including one
//! quirk that shows in the chunk bytes: a whole byte written on a byte
//! boundary (by [`BitWriter::write_byte`], or by [`BitWriter::write_bits`]
//! for each full byte it writes) leaves an empty byte at the end of the
//! stream, ready for the next bit. Chunks whose last write was such a byte
//! therefore end in one zero byte, and ours must too.
//!
//! [`BitReader`] reads the same bits back and fails with
//! [`ChunkError::EndOfStream`] rather than panicking when the data runs out.

use crate::ChunkError;

/// Appends bits to a byte buffer, most-significant bit first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Bits still free in the last byte of `bytes` (0 = start a new byte).
    free: u8,
}

impl BitWriter {
    /// An empty stream.
    pub fn new() -> Self {
        Self::from_bytes(Vec::new())
    }

    /// A stream that continues after `bytes`, starting at a fresh byte.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self { bytes, free: 0 }
    }

    /// Appends one bit.
    pub fn write_bit(&mut self, bit: bool) {
        let free = self.free_or_new_byte();
        if bit {
            *self.last_mut() |= 1 << (free - 1);
        }
        self.free -= 1;
    }

    /// Appends the 8 bits of `byte`.
    pub fn write_byte(&mut self, byte: u8) {
        let free = self.free_or_new_byte();
        // Complete the last byte with the high `free` bits of `byte`...
        *self.last_mut() |= byte >> (8 - free);
        // ...and start the next one with the rest (none when aligned: this
        // leaves an empty byte behind, as Prometheus does).
        self.bytes
            .push(byte.checked_shl(u32::from(free)).unwrap_or(0));
    }

    /// Appends the low `n` bits of `value`, most significant first.
    ///
    /// # Panics
    /// If `n > 64`: a caller's mistake, never a property of data.
    pub fn write_bits(&mut self, value: u64, n: u8) {
        assert!(n <= 64, "write_bits: {n} bits asked for, at most 64");
        if n == 0 {
            return;
        }
        let mut rest = value << (64 - u32::from(n));
        let mut n = n;
        while n >= 8 {
            self.write_byte((rest >> 56) as u8);
            rest <<= 8;
            n -= 8;
        }
        while n > 0 {
            self.write_bit(rest >> 63 == 1);
            rest <<= 1;
            n -= 1;
        }
    }

    /// The bytes written so far (the last one possibly partly filled).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes written so far, mutably (for headers patched in place).
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The buffer, giving up the writer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Starts a new byte if the last one is full; returns the free bits
    /// (at least 1) of the last byte.
    fn free_or_new_byte(&mut self) -> u8 {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        self.free
    }

    /// The last byte. Only called after [`Self::free_or_new_byte`], so
    /// there is one (`free > 0` implies a partly filled last byte).
    fn last_mut(&mut self) -> &mut u8 {
        let last = self.bytes.len() - 1;
        &mut self.bytes[last]
    }
}

impl Default for BitWriter {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads bits from a byte slice, most-significant bit first.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// Index of the next bit to read, counted from the first byte's top bit.
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader at the first bit of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Bits left to read.
    pub fn remaining_bits(&self) -> usize {
        self.bytes.len() * 8 - self.pos
    }

    /// Reads one bit.
    pub fn read_bit(&mut self) -> Result<bool, ChunkError> {
        let byte = self
            .bytes
            .get(self.pos / 8)
            .ok_or(ChunkError::EndOfStream)?;
        let bit = byte >> (7 - self.pos % 8) & 1 == 1;
        self.pos += 1;
        Ok(bit)
    }

    /// Reads `n` bits (at most 64) as the low bits of a `u64`.
    pub fn read_bits(&mut self, n: u8) -> Result<u64, ChunkError> {
        if n > 64 {
            return Err(ChunkError::BitWidth(n));
        }
        if self.remaining_bits() < usize::from(n) {
            return Err(ChunkError::EndOfStream);
        }
        let mut value = 0u64;
        let mut n = n;
        while n > 0 {
            // Take as many bits as are left in the current byte, up to n.
            let offset = (self.pos % 8) as u8;
            let take = (8 - offset).min(n);
            let byte = self.bytes[self.pos / 8];
            let bits = (byte << offset) >> (8 - take);
            value = value << take | u64::from(bits);
            self.pos += usize::from(take);
            n -= take;
        }
        Ok(value)
    }

    /// Reads 8 bits.
    pub fn read_byte(&mut self) -> Result<u8, ChunkError> {
        self.read_bits(8).map(|b| b as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_come_back_in_order() {
        let mut w = BitWriter::new();
        w.write_bit(true);
        w.write_bits(0b101, 3);
        w.write_byte(0xa5);
        w.write_bits(u64::MAX, 64);
        w.write_bits(0x1234, 13);
        w.write_bits(7, 0);
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes);
        assert!(r.read_bit().unwrap());
        assert_eq!(r.read_bits(3).unwrap(), 0b101);
        assert_eq!(r.read_byte().unwrap(), 0xa5);
        assert_eq!(r.read_bits(64).unwrap(), u64::MAX);
        assert_eq!(r.read_bits(13).unwrap(), 0x1234 & 0x1fff);
        assert_eq!(r.read_bits(0).unwrap(), 0);
    }

    #[test]
    fn msb_first_layout() {
        let mut w = BitWriter::new();
        w.write_bit(true);
        w.write_bit(false);
        w.write_bits(0b11, 2);
        assert_eq!(w.bytes(), [0b1011_0000]);
        w.write_byte(0xff);
        assert_eq!(w.bytes(), [0b1011_1111, 0b1111_0000]);
    }

    #[test]
    fn aligned_byte_leaves_an_empty_byte_like_prometheus() {
        let mut w = BitWriter::new();
        w.write_byte(0x42);
        assert_eq!(w.bytes(), [0x42, 0]);
        w.write_bit(true);
        assert_eq!(w.bytes(), [0x42, 0x80]);
        let mut w = BitWriter::new();
        w.write_bits(0xff, 8);
        w.write_bits(0, 8);
        assert_eq!(w.bytes(), [0xff, 0, 0]);
    }

    #[test]
    fn reads_past_the_end_fail() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read_bits(9), Err(ChunkError::EndOfStream));
        assert_eq!(r.read_bits(65), Err(ChunkError::BitWidth(65)));
        assert_eq!(r.read_bits(7).unwrap(), 0x7f);
        assert!(r.read_bit().unwrap());
        assert_eq!(r.read_bit(), Err(ChunkError::EndOfStream));
        assert_eq!(r.read_byte(), Err(ChunkError::EndOfStream));
    }
}
