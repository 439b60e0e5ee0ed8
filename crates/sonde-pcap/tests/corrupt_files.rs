//! Corrupt and truncated capture files: typed errors, and every event of the
//! intact part delivered before the error.

mod support;

use std::io::{self, Read};

use sonde_pcap::{Direction, PcapError, Reader, StreamEvent};
use support::{addr, pcap, read_all, stream, tcp, timed, udp, PcapNg, L2};

const T0: u64 = 1_700_000_000_000_000_000;
const PCAP_HEADER: usize = 24;
const RECORD_HEADER: usize = 16;

/// A TCP flow with an out-of-order segment still buffered after packet 3,
/// then a UDP datagram.
fn frames() -> Vec<Vec<u8>> {
    let (c, s) = (addr("10.0.0.1:40000"), addr("10.0.0.2:80"));
    let (uc, us) = (addr("10.0.0.1:5353"), addr("10.0.0.2:53"));
    let e = L2::Ethernet;
    vec![
        tcp(e, c, s, 1, "PA", b"first"),
        tcp(e, c, s, 10, "PA", b"later"), // 4 bytes missing before it
        udp(e, uc, us, b"datagram"),
    ]
}

fn open_err(file: &[u8]) -> PcapError {
    match Reader::new(file) {
        Ok(_) => panic!("header accepted"),
        Err(e) => e,
    }
}

#[test]
fn header_errors() {
    assert!(matches!(
        open_err(&[]),
        PcapError::TruncatedHeader {
            len: 0,
            needed: 4,
            ..
        }
    ));
    let whole = pcap(1, false, false, &[]);
    assert!(matches!(
        open_err(&whole[..10]),
        PcapError::TruncatedHeader {
            what: "pcap file",
            len: 10,
            needed: 24
        }
    ));
    let garbage = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n";
    let error = open_err(garbage);
    assert!(matches!(
        error,
        PcapError::UnknownFormat { magic: 0x4745_5420 }
    ));
    assert_eq!(
        error.to_string(),
        "not a pcap or pcapng file: unknown magic number 0x47455420 at byte offset 0"
    );
    let ng = PcapNg::new().out;
    assert!(matches!(
        open_err(&ng[..20]),
        PcapError::TruncatedHeader {
            what: "pcapng section",
            len: 20,
            needed: 28
        }
    ));
    let mut bad_order = ng.clone();
    bad_order[8..12].copy_from_slice(b"junk");
    assert!(matches!(
        open_err(&bad_order),
        PcapError::Corrupt { offset: 0, .. }
    ));
}

#[test]
fn file_cut_inside_a_record_delivers_everything_before_it() {
    let frames = frames();
    let whole = pcap(1, false, false, &timed(T0, frames.clone()));
    let third_at = PCAP_HEADER + 2 * RECORD_HEADER + frames[0].len() + frames[1].len();
    for cut in [third_at + 3, third_at + RECORD_HEADER + 10] {
        let (events, error, stats) = read_all(&whole[..cut]);
        // The buffered segment comes out after a gap, the flow closes, and
        // only then the error.
        assert_eq!(stream(&events, 0, Direction::Egress), b"first????later");
        assert!(matches!(
            events.last(),
            Some(StreamEvent::Close { flow: 0, .. })
        ));
        match error {
            Some(PcapError::Truncated { offset, packet: 3 }) => assert_eq!(offset, third_at as u64),
            other => panic!("cut at {cut}: {other:?}"),
        }
        assert_eq!(stats.packets, 2);
    }
}

#[test]
fn absurd_captured_length_is_reported_with_its_offset() {
    let frames = frames();
    let mut file = pcap(1, false, false, &timed(T0, frames.clone()));
    let second_at = PCAP_HEADER + RECORD_HEADER + frames[0].len();
    for caplen in [0x7fff_ffffu32, 300_000] {
        file[second_at + 8..second_at + 12].copy_from_slice(&caplen.to_le_bytes());
        let (events, error, _) = read_all(&file);
        assert_eq!(stream(&events, 0, Direction::Egress), b"first");
        match error {
            Some(e @ PcapError::RecordTooLarge { .. }) => {
                let PcapError::RecordTooLarge {
                    offset,
                    packet,
                    len,
                    max,
                } = e
                else {
                    unreachable!()
                };
                assert_eq!(
                    (offset, packet, len, max),
                    (second_at as u64, 2, caplen.into(), 262_144)
                );
                assert!(
                    e.to_string()
                        .contains(&format!("byte offset {second_at} (packet 2)")),
                    "{e}"
                );
            }
            other => panic!("caplen {caplen}: {other:?}"),
        }
    }
}

#[test]
fn garbage_after_the_header_is_an_error_not_a_panic() {
    let mut file = pcap(1, true, true, &[]);
    file.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let (_, error, _) = read_all(&file);
    assert!(error.is_some());
}

#[test]
fn pcapng_block_errors() {
    let packets = timed(T0, frames());
    let file = PcapNg::new()
        .interface(1, None)
        .packet(0, &packets[0])
        .packet(0, &packets[1])
        .out;
    let second_at = file.len() - (packets[1].data.len().next_multiple_of(4) + 32);

    let (events, error, _) = read_all(&file[..file.len() - 5]);
    assert_eq!(stream(&events, 0, Direction::Egress), b"first");
    assert!(
        matches!(error, Some(PcapError::Truncated { offset, packet: 2 }) if offset == second_at as u64),
        "{error:?}"
    );

    let mut absurd = file.clone();
    absurd[second_at + 4..second_at + 8].copy_from_slice(&0x4000_0000u32.to_le_bytes());
    let (events, error, _) = read_all(&absurd);
    assert_eq!(stream(&events, 0, Direction::Egress), b"first");
    assert!(
        matches!(error, Some(PcapError::RecordTooLarge { offset, packet: 2, len: 0x4000_0000, .. }) if offset == second_at as u64),
        "{error:?}"
    );

    let mut tiny = file.clone();
    tiny[second_at + 4..second_at + 8].copy_from_slice(&8u32.to_le_bytes());
    let (_, error, _) = read_all(&tiny);
    let error = error.expect("an error");
    assert!(
        matches!(error, PcapError::Corrupt { offset, packet: 2, .. } if offset == second_at as u64),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "corrupt record at byte offset {second_at} (packet 2): invalid record framing (check Verify failed)"
        )
    );
}

/// Reads `data`, then fails.
struct FailingReader<'a> {
    data: &'a [u8],
}

impl Read for FailingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.data.len()).min(7); // short reads, too
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn reader_errors_keep_their_cause() {
    let frames = frames();
    let file = pcap(1, false, false, &timed(T0, frames.clone()));
    let cut = PCAP_HEADER + RECORD_HEADER + frames[0].len() + 3;
    let reader = Reader::new(FailingReader { data: &file[..cut] }).unwrap();
    let items: Vec<_> = reader.collect();
    let Some(Err(PcapError::Io { offset, source })) = items.last() else {
        panic!("{items:?}");
    };
    assert_eq!(*offset, (cut - 3) as u64);
    assert_eq!(source.to_string(), "disk on fire");
    assert!(items
        .iter()
        .any(|i| matches!(i, Ok(StreamEvent::Data { bytes, .. }) if bytes == b"first")));
}

#[test]
fn no_single_byte_corruption_panics() {
    let packets = timed(T0, frames());
    let files = [
        pcap(1, false, false, &packets),
        PcapNg::new()
            .interface(1, Some(9))
            .packet(0, &packets[0])
            .packet(0, &packets[1])
            .packet(0, &packets[2])
            .out,
    ];
    for file in files {
        for at in 0..file.len() {
            for value in [0x00, 0xff, file[at] ^ 0x80] {
                let mut bad = file.clone();
                bad[at] = value;
                if let Ok(reader) = Reader::new(&bad[..]) {
                    // Ends, with or without an error, and never panics.
                    assert!(reader.count() < 100);
                }
            }
        }
    }
}
