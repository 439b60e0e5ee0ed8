//! Capture file framing: classic pcap and pcapng records to [`Frame`]s.
//!
//! The file is streamed through `pcap-parser` with a fixed-size buffer; this
//! module adds what the parser leaves to its caller: format detection with
//! clear errors, per-interface link types and timestamp resolutions for
//! pcapng, nanosecond timestamps, and byte offsets in every error.

use std::io::{self, Cursor, Read};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{LegacyPcapReader, Linktype, PcapBlockOwned, PcapNGReader};

use crate::file_header::{
    self, header_rejected, take_io_error, FileKind, KeepIoError, SharedIoError, Sniffed,
};
use crate::PcapError;

/// Initial size of the read buffer; it doubles as records need it.
const INITIAL_BUFFER_BYTES: usize = 64 << 10;
/// Largest size of the read buffer, and so the largest record accepted.
const MAX_BUFFER_BYTES: usize = 2 << 20;
/// Largest captured length of a classic pcap record when the file's snaplen
/// is smaller (libpcap's own limit for its largest snaplen).
const MAX_SNAPLEN: u64 = 262_144;

/// One captured packet, borrowed from the read buffer.
pub(crate) struct Frame<'a> {
    /// Capture time, in nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// Link-layer header type of the interface it was captured on.
    pub linktype: Linktype,
    /// The captured bytes (`caplen` of them).
    pub data: &'a [u8],
    /// The packet's length on the wire (at least `data.len()`).
    pub orig_len: u64,
}

/// What a pcapng interface description says about its packets.
#[derive(Clone, Copy)]
struct Interface {
    linktype: Linktype,
    /// Timestamp units per second.
    units_per_second: u64,
    /// Seconds added to every timestamp.
    offset_seconds: i64,
}

/// The state each format needs besides the parser.
enum Format {
    Pcap {
        linktype: Linktype,
        nanoseconds: bool,
        max_caplen: u64,
        big_endian: bool,
    },
    PcapNg {
        interfaces: Vec<Interface>,
        big_endian: bool,
        /// Timestamp of the last packet, for simple packet blocks (which have none).
        last_time_ns: u64,
    },
}

/// The reader handed to `pcap-parser`: the header bytes already read for
/// format detection, then the rest of the caller's reader.
type Source<R> = io::Chain<Cursor<Vec<u8>>, KeepIoError<R>>;

enum Parser<R: Read> {
    Pcap(LegacyPcapReader<Source<R>>),
    PcapNg(PcapNGReader<Source<R>>),
}

/// A capture file being read record by record.
pub(crate) struct CaptureFile<R: Read> {
    parser: Parser<R>,
    format: Format,
    io_error: SharedIoError,
    /// Current size of the read buffer.
    buffer_bytes: usize,
    /// Packet records read so far.
    packets: u64,
    /// Packet records naming an interface that was never described.
    undescribed_interface: u64,
}

/// What one record turned out to be.
enum Record<T> {
    /// A packet, and what the caller's function made of it.
    Packet(T),
    /// A record that carries no packet (file header, interface description...).
    Other,
    /// A packet record naming an interface the file never described.
    UnknownInterface,
    /// A packet record whose captured length is beyond any real snaplen.
    TooLarge { len: u64, max: u64 },
}

impl<R: Read> CaptureFile<R> {
    /// Reads the file header and prepares to read records.
    pub fn open(reader: R) -> Result<Self, PcapError> {
        let Sniffed {
            kind,
            header,
            rest,
            io_error,
        } = file_header::sniff(reader, MAX_BUFFER_BYTES)?;
        let buffer_bytes = INITIAL_BUFFER_BYTES.max(header.len());
        let source = Cursor::new(header).chain(rest);
        let rejected = |e: pcap_parser::PcapError<&[u8]>| header_rejected(&describe(&e));
        let (parser, format) = match kind {
            FileKind::PcapNg { big_endian } => (
                Parser::PcapNg(PcapNGReader::new(buffer_bytes, source).map_err(rejected)?),
                Format::PcapNg {
                    interfaces: Vec::new(),
                    big_endian,
                    last_time_ns: 0,
                },
            ),
            FileKind::Pcap => {
                let mut parser = LegacyPcapReader::new(buffer_bytes, source).map_err(rejected)?;
                let format = match parser.next() {
                    Ok((_, PcapBlockOwned::LegacyHeader(h))) => Format::Pcap {
                        linktype: h.network,
                        nanoseconds: h.is_nanosecond_precision(),
                        max_caplen: MAX_SNAPLEN.max(u64::from(h.snaplen)),
                        big_endian: h.is_bigendian(),
                    },
                    _ => return Err(header_rejected("no pcap file header")),
                };
                (Parser::Pcap(parser), format)
            }
        };
        Ok(Self {
            parser,
            format,
            io_error,
            buffer_bytes,
            packets: 0,
            undescribed_interface: 0,
        })
    }

    /// Reads records until the next packet and returns what `on_frame` made of
    /// it, or `None` at the end of the file. Packet records naming an
    /// interface that was never described are skipped and counted.
    pub fn next_frame<T>(
        &mut self,
        mut on_frame: impl FnMut(Frame<'_>) -> T,
    ) -> Result<Option<T>, PcapError> {
        loop {
            let offset = self.offset();
            let packet = self.packets + 1;
            let parser = self.parser.as_dyn();
            let (len, record) = match parser.next() {
                Ok((len, block)) => (len, self.format.record(block, &mut on_frame)),
                Err(pcap_parser::PcapError::Eof) => return Ok(None),
                Err(pcap_parser::PcapError::Incomplete(_)) => {
                    let before = parser.data().len();
                    if parser.refill().is_err() {
                        return Err(self.read_failed(offset, packet));
                    }
                    // A full buffer and the record still incomplete.
                    let stuck = parser.data().len() == before && !parser.reader_exhausted();
                    if stuck && !self.grow_buffer() {
                        return Err(self.record_too_large(offset, packet));
                    }
                    continue;
                }
                Err(pcap_parser::PcapError::BufferTooSmall) => {
                    if !self.grow_buffer() {
                        return Err(self.record_too_large(offset, packet));
                    }
                    continue;
                }
                Err(pcap_parser::PcapError::ReadError) => {
                    return Err(self.read_failed(offset, packet))
                }
                Err(pcap_parser::PcapError::UnexpectedEof) => {
                    return Err(self.framing_error(offset, packet, None))
                }
                Err(e) => {
                    let detail = describe(&e);
                    return Err(self.framing_error(offset, packet, Some(detail)));
                }
            };
            self.parser.as_dyn().consume(len);
            match record {
                Record::Packet(value) => {
                    self.packets += 1;
                    return Ok(Some(value));
                }
                Record::UnknownInterface => {
                    self.packets += 1;
                    self.undescribed_interface += 1;
                }
                Record::Other => {}
                Record::TooLarge { len, max } => {
                    return Err(PcapError::RecordTooLarge {
                        offset,
                        packet,
                        len,
                        max,
                    })
                }
            }
        }
    }

    /// Packet records skipped because they name an interface that was never
    /// described.
    pub fn undescribed_interface_packets(&self) -> u64 {
        self.undescribed_interface
    }

    /// Doubles the read buffer, up to its largest size; false if it is
    /// already that large.
    fn grow_buffer(&mut self) -> bool {
        if self.buffer_bytes >= MAX_BUFFER_BYTES {
            return false;
        }
        self.buffer_bytes = (self.buffer_bytes * 2).min(MAX_BUFFER_BYTES);
        self.parser.as_dyn().grow(self.buffer_bytes)
    }

    /// The error for a record that does not fit the largest buffer.
    fn record_too_large(&mut self, offset: u64, packet: u64) -> PcapError {
        let detail = "record does not fit the read buffer".to_owned();
        self.framing_error(offset, packet, Some(detail))
    }

    /// Byte offset of the next record.
    fn offset(&mut self) -> u64 {
        self.parser.as_dyn().consumed() as u64
    }

    /// The error for a failed read: the reader's own error if it gave one.
    fn read_failed(&mut self, offset: u64, packet: u64) -> PcapError {
        match take_io_error(&self.io_error) {
            Some(source) => PcapError::Io { offset, source },
            None => PcapError::Truncated { offset, packet },
        }
    }

    /// Turns a parser error about the record at `offset` into a [`PcapError`]:
    /// an absurd declared length if the record has one, else a truncated file
    /// (`detail` is `None`) or a corrupt record.
    fn framing_error(&mut self, offset: u64, packet: u64, detail: Option<String>) -> PcapError {
        let data = self.parser.as_dyn().data();
        if let Some((len, max)) = self
            .format
            .declared_len(data)
            .filter(|(len, max)| len > max)
        {
            return PcapError::RecordTooLarge {
                offset,
                packet,
                len,
                max,
            };
        }
        match detail {
            None => PcapError::Truncated { offset, packet },
            Some(detail) => PcapError::Corrupt {
                offset,
                packet,
                detail,
            },
        }
    }
}

impl<R: Read> Parser<R> {
    fn as_dyn(&mut self) -> &mut dyn PcapReaderIterator {
        match self {
            Parser::Pcap(p) => p,
            Parser::PcapNg(p) => p,
        }
    }
}

impl Format {
    /// Interprets one record; packets go to `on_frame`.
    fn record<T>(
        &mut self,
        block: PcapBlockOwned<'_>,
        on_frame: &mut impl FnMut(Frame<'_>) -> T,
    ) -> Record<T> {
        match (self, block) {
            (
                Format::Pcap {
                    linktype,
                    nanoseconds,
                    max_caplen,
                    ..
                },
                PcapBlockOwned::Legacy(b),
            ) => {
                if u64::from(b.caplen) > *max_caplen {
                    return Record::TooLarge {
                        len: b.caplen.into(),
                        max: *max_caplen,
                    };
                }
                let fraction_ns = if *nanoseconds {
                    u64::from(b.ts_usec)
                } else {
                    u64::from(b.ts_usec) * 1_000
                };
                Record::Packet(on_frame(Frame {
                    time_ns: u64::from(b.ts_sec) * 1_000_000_000 + fraction_ns,
                    linktype: *linktype,
                    data: b.data,
                    orig_len: u64::from(b.origlen.max(b.caplen)),
                }))
            }
            (
                Format::PcapNg {
                    interfaces,
                    big_endian,
                    last_time_ns,
                },
                PcapBlockOwned::NG(block),
            ) => match block {
                Block::SectionHeader(shb) => {
                    interfaces.clear();
                    *big_endian = shb.big_endian();
                    Record::Other
                }
                Block::InterfaceDescription(idb) => {
                    interfaces.push(Interface {
                        linktype: idb.linktype,
                        units_per_second: idb.ts_resolution().unwrap_or(1_000_000),
                        offset_seconds: idb.ts_offset(),
                    });
                    Record::Other
                }
                Block::EnhancedPacket(epb) => match interfaces.get(epb.if_id as usize) {
                    Some(interface) => {
                        let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        *last_time_ns = interface.time_ns(ticks);
                        let data = epb.packet_data();
                        Record::Packet(on_frame(Frame {
                            time_ns: *last_time_ns,
                            linktype: interface.linktype,
                            data,
                            orig_len: u64::from(epb.origlen).max(data.len() as u64),
                        }))
                    }
                    None => Record::UnknownInterface,
                },
                Block::SimplePacket(spb) => match interfaces.first() {
                    Some(interface) => {
                        let data = spb.packet_data();
                        Record::Packet(on_frame(Frame {
                            time_ns: *last_time_ns,
                            linktype: interface.linktype,
                            data,
                            orig_len: u64::from(spb.origlen).max(data.len() as u64),
                        }))
                    }
                    None => Record::UnknownInterface,
                },
                _ => Record::Other,
            },
            _ => Record::Other,
        }
    }

    /// The length a record declares in its first bytes, if they are there,
    /// and the largest length accepted.
    fn declared_len(&self, data: &[u8]) -> Option<(u64, u64)> {
        let (at, big_endian, max) = match self {
            Format::Pcap {
                big_endian,
                max_caplen,
                ..
            } => (8, *big_endian, *max_caplen),
            Format::PcapNg { big_endian, .. } => (4, *big_endian, MAX_BUFFER_BYTES as u64),
        };
        let bytes: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        let len = if big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        };
        Some((len.into(), max))
    }
}

impl Interface {
    fn time_ns(&self, ticks: u64) -> u64 {
        let units = u128::from(self.units_per_second.max(1));
        let ns = u128::from(ticks) * 1_000_000_000 / units;
        let offset_ns = i128::from(self.offset_seconds) * 1_000_000_000;
        (ns as i128 + offset_ns).clamp(0, i128::from(u64::MAX)) as u64
    }
}

/// Words for a parser error, without the input bytes it carries.
fn describe(error: &pcap_parser::PcapError<&[u8]>) -> String {
    use pcap_parser::PcapError as E;
    match error {
        E::NomError(_, kind) | E::OwnedNomError(_, kind) => {
            format!("invalid record framing (check {kind:?} failed)")
        }
        other => other.to_string(),
    }
}
