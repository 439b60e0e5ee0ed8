//! TCP reassembly for one direction of a connection: sequence numbers to an
//! in-order byte stream, with retransmissions trimmed, out-of-order segments
//! buffered within a bound, and holes given up on as gaps.
//!
//! Positions are kept as 64-bit stream offsets (bytes since the start of the
//! stream) so sequence-number wrap-around and streams beyond 4 GiB need no
//! special cases: an incoming 32-bit sequence number is placed by its signed
//! distance from the next expected one.

use std::collections::BTreeMap;

use crate::packet::TcpFlags;

/// What reassembly hands on, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// In-order payload.
    Data(Vec<u8>),
    /// Bytes never captured.
    Gap(u64),
}

/// Limits on the bytes held for out-of-order segments.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BufferLimits {
    pub per_direction: usize,
    pub total: usize,
}

/// Counters reassembly adds to.
#[derive(Debug, Default)]
pub(crate) struct ReassemblyCounters {
    pub retransmits: u64,
    pub out_of_order: u64,
    pub gap_bytes: u64,
    /// Bytes buffered across all directions of all flows.
    pub buffered_total: usize,
}

/// A buffered stretch of the stream.
#[derive(Debug)]
enum Piece {
    Bytes(Vec<u8>),
    /// Bytes known to exist but not captured (cut by the snap length).
    Hole(u64),
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Bytes(b) => b.len() as u64,
            Piece::Hole(n) => *n,
        }
    }

    /// The part of this piece from `from` to `to` (offsets within it).
    fn sub(&self, from: u64, to: u64) -> Piece {
        match self {
            Piece::Bytes(b) => Piece::Bytes(b[from as usize..to as usize].to_vec()),
            Piece::Hole(_) => Piece::Hole(to - from),
        }
    }
}

/// Where the next expected byte is.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// Its sequence number.
    seq: u32,
    /// Its stream offset.
    offset: u64,
}

/// Reassembly state of one direction.
#[derive(Debug, Default)]
pub(crate) struct HalfStream {
    /// `None` until the first segment of this direction.
    next: Option<Cursor>,
    /// Out-of-order pieces by stream offset; they never overlap each other or
    /// what was delivered.
    pending: BTreeMap<u64, Piece>,
    /// Bytes held in `pending`.
    buffered: usize,
    /// Stream offset of the FIN, once seen.
    fin_at: Option<u64>,
}

impl HalfStream {
    /// Takes in one segment sent in this direction and appends what becomes
    /// deliverable to `out`.
    pub fn segment(
        &mut self,
        flags: TcpFlags,
        payload: &[u8],
        missing: u64,
        limits: BufferLimits,
        counters: &mut ReassemblyCounters,
        out: &mut Vec<Delivery>,
    ) {
        // The SYN takes one sequence number; data starts after it.
        let data_seq = flags.seq.wrapping_add(u32::from(flags.syn));
        let next = *self.next.get_or_insert(Cursor {
            seq: data_seq,
            offset: 0,
        });
        let distance = i64::from(data_seq.wrapping_sub(next.seq) as i32);
        let Some(start) = next.offset.checked_add_signed(distance) else {
            // Before the start of the stream: an old retransmission.
            counters.retransmits += u64::from(!payload.is_empty() || missing > 0);
            return;
        };
        let captured_end = start + payload.len() as u64;
        if flags.fin {
            self.fin_at.get_or_insert(captured_end + missing);
        }
        if payload.is_empty() && missing == 0 {
            return;
        }
        if start > next.offset {
            counters.out_of_order += 1;
        }
        let mut overlapped = false;
        if !payload.is_empty() {
            overlapped |= self.insert(start, Piece::Bytes(payload.to_vec()), counters);
        }
        if missing > 0 {
            overlapped |= self.insert(captured_end, Piece::Hole(missing), counters);
        }
        if overlapped {
            counters.retransmits += 1;
        }
        self.drain(counters, out);
        while self.buffered > limits.per_direction || counters.buffered_total > limits.total {
            if !self.skip_hole(counters, out) {
                break;
            }
        }
    }

    /// Delivers everything buffered, giving up on every hole, including one
    /// before the FIN. Used when the connection closes or the capture ends.
    pub fn flush(&mut self, counters: &mut ReassemblyCounters, out: &mut Vec<Delivery>) {
        while self.skip_hole(counters, out) {}
        if let (Some(next), Some(fin_at)) = (self.next, self.fin_at) {
            if fin_at > next.offset {
                self.advance(fin_at - next.offset);
                self.emit_gap(fin_at - next.offset, counters, out);
            }
        }
    }

    /// Whether every byte up to this direction's FIN has been delivered.
    pub fn finished(&self) -> bool {
        matches!((self.next, self.fin_at), (Some(next), Some(fin_at)) if next.offset >= fin_at)
    }

    /// Buffers the parts of `piece` (at stream offset `start`) not already
    /// delivered or buffered. Returns whether any part was a duplicate.
    fn insert(&mut self, start: u64, piece: Piece, counters: &mut ReassemblyCounters) -> bool {
        let next = self.next.map_or(0, |c| c.offset);
        let end = start + piece.len();
        if end <= next {
            return true;
        }
        let mut overlapped = start < next;
        let mut cursor = start.max(next);
        let mut uncovered = Vec::new();
        let before = self
            .pending
            .range(..cursor)
            .next_back()
            .map(|(&at, p)| (at, at + p.len()));
        let within = self
            .pending
            .range(cursor..end)
            .map(|(&at, p)| (at, at + p.len()));
        for (at, at_end) in before.into_iter().chain(within) {
            if at_end <= cursor {
                continue;
            }
            overlapped = true;
            if at > cursor {
                uncovered.push((cursor, at));
            }
            cursor = cursor.max(at_end);
        }
        if cursor < end {
            uncovered.push((cursor, end));
        }
        for (from, to) in uncovered {
            let part = piece.sub(from - start, to - start);
            if let Piece::Bytes(b) = &part {
                self.buffered += b.len();
                counters.buffered_total += b.len();
            }
            self.pending.insert(from, part);
        }
        overlapped
    }

    /// Delivers the buffered pieces that continue the stream.
    fn drain(&mut self, counters: &mut ReassemblyCounters, out: &mut Vec<Delivery>) {
        while let Some(next) = self.next {
            let Some(entry) = self.pending.first_entry() else {
                return;
            };
            if *entry.key() != next.offset {
                return;
            }
            let piece = entry.remove();
            self.advance(piece.len());
            match piece {
                Piece::Bytes(bytes) => {
                    self.buffered -= bytes.len();
                    counters.buffered_total -= bytes.len();
                    out.push(Delivery::Data(bytes));
                }
                Piece::Hole(len) => self.emit_gap(len, counters, out),
            }
        }
    }

    /// Gives up on the hole before the first buffered piece and delivers from
    /// there on. Returns false if nothing is buffered.
    fn skip_hole(&mut self, counters: &mut ReassemblyCounters, out: &mut Vec<Delivery>) -> bool {
        let (Some(next), Some((&at, _))) = (self.next, self.pending.first_key_value()) else {
            return false;
        };
        if at > next.offset {
            self.advance(at - next.offset);
            self.emit_gap(at - next.offset, counters, out);
        }
        self.drain(counters, out);
        true
    }

    fn advance(&mut self, len: u64) {
        if let Some(next) = &mut self.next {
            next.offset += len;
            next.seq = next.seq.wrapping_add(len as u32);
        }
    }

    fn emit_gap(&self, len: u64, counters: &mut ReassemblyCounters, out: &mut Vec<Delivery>) {
        counters.gap_bytes += len;
        out.push(Delivery::Gap(len));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BufferLimits = BufferLimits {
        per_direction: 10,
        total: 100,
    };

    fn flags(seq: u32) -> TcpFlags {
        TcpFlags {
            seq,
            syn: false,
            ack: true,
            fin: false,
            rst: false,
        }
    }

    fn feed(
        h: &mut HalfStream,
        c: &mut ReassemblyCounters,
        seq: u32,
        data: &[u8],
    ) -> Vec<Delivery> {
        let mut out = Vec::new();
        h.segment(flags(seq), data, 0, LIMITS, c, &mut out);
        out
    }

    #[test]
    fn overlapping_out_of_order_pieces_are_trimmed_and_joined() {
        let (mut h, mut c) = (HalfStream::default(), ReassemblyCounters::default());
        assert_eq!(
            feed(&mut h, &mut c, 100, b"ab"),
            [Delivery::Data(b"ab".to_vec())]
        );
        assert!(feed(&mut h, &mut c, 104, b"ef").is_empty());
        assert!(feed(&mut h, &mut c, 103, b"def").is_empty());
        assert_eq!(
            feed(&mut h, &mut c, 101, b"bcd"),
            [
                Delivery::Data(b"c".to_vec()),
                Delivery::Data(b"d".to_vec()),
                Delivery::Data(b"ef".to_vec()),
            ]
        );
        assert_eq!((c.retransmits, c.out_of_order, c.buffered_total), (2, 2, 0));
    }

    #[test]
    fn overflowing_the_buffer_gives_up_on_the_hole() {
        let (mut h, mut c) = (HalfStream::default(), ReassemblyCounters::default());
        feed(&mut h, &mut c, 0, b"x");
        assert!(feed(&mut h, &mut c, 5, b"0123456789").is_empty());
        assert_eq!(
            feed(&mut h, &mut c, 15, b"!"),
            [
                Delivery::Gap(4),
                Delivery::Data(b"0123456789".to_vec()),
                Delivery::Data(b"!".to_vec()),
            ]
        );
        assert_eq!((c.gap_bytes, c.buffered_total), (4, 0));
    }
}
