//! The start of a capture file: which format it is, read with clear errors
//! before `pcap-parser` takes over, and the reader wrapper that keeps I/O
//! errors for reporting.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use crate::PcapError;

const PCAP_HEADER_LEN: usize = 24;
const PCAPNG_SHB_MAGIC: u32 = 0x0a0d_0d0a;
const PCAPNG_BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
const PCAPNG_SHB_MIN_LEN: u32 = 28;
/// The first four bytes (read big-endian) of the classic pcap variants that
/// `pcap-parser` reads: µs and ns, both byte orders, and the modified format.
const PCAP_MAGICS: [u32; 5] = [
    0xd4c3_b2a1,
    0x4d3c_b2a1,
    0x34cd_b2a1,
    0xa1b2_c3d4,
    0xa1b2_3c4d,
];

/// The last I/O error of a [`KeepIoError`], shared with its owner.
pub(crate) type SharedIoError = Arc<Mutex<Option<io::Error>>>;

/// The capture formats.
pub(crate) enum FileKind {
    Pcap,
    PcapNg { big_endian: bool },
}

/// A capture file whose header has been read.
pub(crate) struct Sniffed<R> {
    pub kind: FileKind,
    /// The whole file header (pcap) or first section header block (pcapng).
    pub header: Vec<u8>,
    /// The rest of the file.
    pub rest: KeepIoError<R>,
    pub io_error: SharedIoError,
}

/// Reads the file header and tells the format. Headers longer than
/// `max_header` bytes are rejected.
pub(crate) fn sniff<R: Read>(reader: R, max_header: usize) -> Result<Sniffed<R>, PcapError> {
    let io_error = SharedIoError::default();
    let mut rest = KeepIoError {
        inner: reader,
        error: Arc::clone(&io_error),
    };
    let mut header = vec![0; 4];
    read_header(&mut rest, &mut header, 0, "pcap file", &io_error)?;
    let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let kind = if magic == PCAPNG_SHB_MAGIC {
        let big_endian = read_section_header(&mut rest, &mut header, max_header, &io_error)?;
        FileKind::PcapNg { big_endian }
    } else if PCAP_MAGICS.contains(&magic) {
        header.resize(PCAP_HEADER_LEN, 0);
        read_header(&mut rest, &mut header, 4, "pcap file", &io_error)?;
        FileKind::Pcap
    } else {
        return Err(PcapError::UnknownFormat { magic });
    };
    Ok(Sniffed {
        kind,
        header,
        rest,
        io_error,
    })
}

/// Takes the error a [`KeepIoError`] kept, if any.
pub(crate) fn take_io_error(shared: &SharedIoError) -> Option<io::Error> {
    shared.lock().ok().and_then(|mut e| e.take())
}

/// Reads the rest of a pcapng section header block into `header` (which holds
/// its first 4 bytes) and returns whether the section is big-endian.
fn read_section_header<R: Read>(
    reader: &mut KeepIoError<R>,
    header: &mut Vec<u8>,
    max_len: usize,
    io_error: &SharedIoError,
) -> Result<bool, PcapError> {
    const WHAT: &str = "pcapng section";
    header.resize(12, 0);
    read_header(reader, header, 4, WHAT, io_error)?;
    let word = |at: usize| [header[at], header[at + 1], header[at + 2], header[at + 3]];
    let big_endian = match word(8) {
        w if u32::from_le_bytes(w) == PCAPNG_BYTE_ORDER_MAGIC => false,
        w if u32::from_be_bytes(w) == PCAPNG_BYTE_ORDER_MAGIC => true,
        w => {
            return Err(header_rejected(&format!(
                "bad pcapng byte-order magic {:#010x}",
                u32::from_be_bytes(w)
            )))
        }
    };
    let len = if big_endian {
        u32::from_be_bytes(word(4))
    } else {
        u32::from_le_bytes(word(4))
    };
    if len as usize > max_len {
        return Err(PcapError::RecordTooLarge {
            offset: 0,
            packet: 1,
            len: len.into(),
            max: max_len as u64,
        });
    }
    if len < PCAPNG_SHB_MIN_LEN || len % 4 != 0 {
        return Err(header_rejected(&format!(
            "bad pcapng section header length {len}"
        )));
    }
    header.resize(len as usize, 0);
    read_header(reader, header, 12, WHAT, io_error)?;
    Ok(big_endian)
}

/// Fills `buf` from byte `from` on (the bytes before it were read earlier)
/// by reading from `reader`.
fn read_header<R: Read>(
    reader: &mut KeepIoError<R>,
    buf: &mut [u8],
    from: usize,
    what: &'static str,
    io_error: &SharedIoError,
) -> Result<(), PcapError> {
    let mut filled = from;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(PcapError::TruncatedHeader {
                    what,
                    len: filled as u64,
                    needed: buf.len() as u64,
                })
            }
            Ok(n) => filled += n,
            Err(_) => {
                let source =
                    take_io_error(io_error).unwrap_or_else(|| io::Error::other("read failed"));
                return Err(PcapError::Io { offset: 0, source });
            }
        }
    }
    Ok(())
}

pub(crate) fn header_rejected(detail: &str) -> PcapError {
    PcapError::Corrupt {
        offset: 0,
        packet: 1,
        detail: detail.to_owned(),
    }
}

/// Passes reads through, retrying interrupted ones, and keeps the last error
/// so it can be reported (the parser only says that a read failed).
pub(crate) struct KeepIoError<R> {
    inner: R,
    error: Arc<Mutex<Option<io::Error>>>,
}

impl<R: Read> Read for KeepIoError<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let kind = e.kind();
                    if let Ok(mut slot) = self.error.lock() {
                        *slot = Some(e);
                    }
                    return Err(kind.into());
                }
                ok => return ok,
            }
        }
    }
}
