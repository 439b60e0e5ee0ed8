//! The crate's one error type: everything that stops reading a capture file.
//!
//! Problems inside a single packet (bad headers, fragments, unknown link types)
//! are not errors: they are counted in [`crate::PcapStats`] and the packet is
//! skipped. A [`PcapError`] means the file itself cannot be read any further.

/// Why a capture file could not be read (any further).
///
/// Every variant that concerns a record names the byte `offset` where the
/// record starts and the 1-based number of the `packet` being read (packets
/// delivered before it, plus one), so a user can find the spot with a hex
/// editor or `tcpdump -r`.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    /// The underlying reader failed.
    #[error("reading the capture failed near byte offset {offset}: {source}")]
    Io {
        /// Byte offset of the first record not yet fully read.
        offset: u64,
        /// The error the reader returned.
        #[source]
        source: std::io::Error,
    },
    /// The file starts with neither a pcap nor a pcapng magic number.
    #[error("not a pcap or pcapng file: unknown magic number {magic:#010x} at byte offset 0")]
    UnknownFormat {
        /// The first four bytes, read big-endian.
        magic: u32,
    },
    /// The file ends before its file header (pcap) or section header block
    /// (pcapng) is complete.
    #[error("capture file ends inside its {what} header: {len} bytes present, {needed} needed")]
    TruncatedHeader {
        /// Which header: `"pcap file"` or `"pcapng section"`.
        what: &'static str,
        /// How many bytes the file has.
        len: u64,
        /// How many bytes the header needs.
        needed: u64,
    },
    /// The file ends in the middle of a record.
    #[error("capture file ends inside the record at byte offset {offset} (packet {packet})")]
    Truncated {
        /// Byte offset where the incomplete record starts.
        offset: u64,
        /// 1-based number of the packet being read.
        packet: u64,
    },
    /// A record declares a length larger than any real capture would use.
    #[error(
        "record at byte offset {offset} (packet {packet}) declares {len} bytes, more than the {max} allowed"
    )]
    RecordTooLarge {
        /// Byte offset where the record starts.
        offset: u64,
        /// 1-based number of the packet being read.
        packet: u64,
        /// The declared length.
        len: u64,
        /// The largest length accepted.
        max: u64,
    },
    /// A record's framing is invalid (bad block length, bad header fields).
    #[error("corrupt record at byte offset {offset} (packet {packet}): {detail}")]
    Corrupt {
        /// Byte offset where the record starts.
        offset: u64,
        /// 1-based number of the packet being read.
        packet: u64,
        /// What is wrong, in words.
        detail: String,
    },
}
