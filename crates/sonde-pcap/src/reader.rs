//! The public reader: capture file in, [`StreamEvent`]s out.

use std::collections::VecDeque;
use std::io::Read;

use crate::file::{CaptureFile, Frame};
use crate::flows::{FlowLimits, FlowTable};
use crate::link::Link;
use crate::packet::{self, Decoded};
use crate::tcp_reassembly::BufferLimits;
use crate::{PcapError, PcapStats, StreamEvent};

/// Memory bounds of a [`Reader`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderConfig {
    /// Flows tracked at once; beyond it the least recently active are
    /// closed (counted in [`PcapStats::flows_evicted`]).
    pub max_flows: usize,
    /// Out-of-order TCP bytes buffered per direction of a connection before
    /// the hole in front of them is given up on (reported as a gap).
    pub max_buffered_per_direction: usize,
    /// Out-of-order TCP bytes buffered across all connections; past it, the
    /// connection that receives a segment gives up on its hole.
    pub max_buffered_total: usize,
}

impl Default for ReaderConfig {
    /// 65,536 flows, 1 MiB per direction, 256 MiB in all.
    fn default() -> Self {
        ReaderConfig {
            max_flows: 65_536,
            max_buffered_per_direction: 1 << 20,
            max_buffered_total: 256 << 20,
        }
    }
}

/// Reads a pcap or pcapng capture and yields its flows' [`StreamEvent`]s.
///
/// The reader streams the file through a buffer of 64 KiB that grows up to
/// 2 MiB (the largest record accepted). It is an [`Iterator`] of
/// `Result<StreamEvent, PcapError>`: events come in the order of the packets
/// that produced them; at the end of the file every flow still open is
/// closed (in the order the flows opened). If the file
/// turns out to be corrupt or truncated, the reader first yields everything
/// the intact part produced, closes every open flow, then yields the
/// [`PcapError`] and ends. Problems inside single packets never stop it: they
/// are counted in [`Reader::stats`].
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let file = std::fs::File::open("capture.pcapng")?;
/// let mut reader = sonde_pcap::Reader::new(file)?;
/// for event in &mut reader {
///     println!("{:?}", event?);
/// }
/// println!("{:?}", reader.stats());
/// # Ok(())
/// # }
/// ```
pub struct Reader<R: Read> {
    file: CaptureFile<R>,
    flows: FlowTable,
    queue: VecDeque<StreamEvent>,
    stats: PcapStats,
    last_time_ns: u64,
    state: State,
}

enum State {
    Reading,
    /// The file failed; the error is yielded once the queue is empty.
    Failed(PcapError),
    Done,
}

/// Opens a capture with the default [`ReaderConfig`]; the same as
/// [`Reader::new`].
pub fn events<R: Read>(reader: R) -> Result<Reader<R>, PcapError> {
    Reader::new(reader)
}

impl<R: Read> Reader<R> {
    /// Reads the file header with the default [`ReaderConfig`].
    pub fn new(reader: R) -> Result<Self, PcapError> {
        Self::with_config(reader, ReaderConfig::default())
    }

    /// Reads the file header; fails if the file is not a pcap or pcapng
    /// capture or its header is cut short.
    pub fn with_config(reader: R, config: ReaderConfig) -> Result<Self, PcapError> {
        Ok(Reader {
            file: CaptureFile::open(reader)?,
            flows: FlowTable::new(FlowLimits {
                max_flows: config.max_flows.max(1),
                buffers: BufferLimits {
                    per_direction: config.max_buffered_per_direction,
                    total: config.max_buffered_total,
                },
            }),
            queue: VecDeque::new(),
            stats: PcapStats::default(),
            last_time_ns: 0,
            state: State::Reading,
        })
    }

    /// What was counted so far (complete once the iterator has ended).
    pub fn stats(&self) -> PcapStats {
        let mut stats = self.stats;
        let undescribed = self.file.undescribed_interface_packets();
        stats.packets += undescribed;
        stats.malformed += undescribed;
        self.flows.add_stats(&mut stats);
        stats
    }

    /// Reads records until the queue has events or the file ends or fails.
    fn fill_queue(&mut self) {
        while self.queue.is_empty() {
            let Reader {
                file,
                flows,
                queue,
                stats,
                last_time_ns,
                ..
            } = self;
            let read =
                file.next_frame(|frame| take_frame(frame, flows, stats, last_time_ns, queue));
            match read {
                Ok(Some(())) => {}
                Ok(None) => {
                    self.flows.close_all(self.last_time_ns, &mut self.queue);
                    self.state = State::Done;
                    return;
                }
                Err(error) => {
                    self.flows.close_all(self.last_time_ns, &mut self.queue);
                    self.state = State::Failed(error);
                    return;
                }
            }
        }
    }
}

/// Counts one frame and feeds its segment, if any, to the flow table.
fn take_frame(
    frame: Frame<'_>,
    flows: &mut FlowTable,
    stats: &mut PcapStats,
    last_time_ns: &mut u64,
    queue: &mut VecDeque<StreamEvent>,
) {
    stats.packets += 1;
    stats.bytes += frame.orig_len;
    *last_time_ns = frame.time_ns;
    if (frame.data.len() as u64) < frame.orig_len {
        stats.truncated += 1;
    }
    let Some(link) = Link::from_linktype(frame.linktype) else {
        stats.unsupported_linktype += 1;
        return;
    };
    match packet::decode(link, frame.data, frame.orig_len) {
        Decoded::Segment(segment) => flows.segment(segment, frame.time_ns, queue),
        Decoded::NotIp => stats.non_ip += 1,
        Decoded::OtherTransport => stats.other_transport += 1,
        Decoded::Fragment => stats.fragments += 1,
        Decoded::Malformed => stats.malformed += 1,
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<StreamEvent, PcapError>;

    fn next(&mut self) -> Option<Self::Item> {
        if matches!(self.state, State::Reading) {
            self.fill_queue();
        }
        if let Some(event) = self.queue.pop_front() {
            return Some(Ok(event));
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::Failed(error) => Some(Err(error)),
            _ => None,
        }
    }
}

impl<R: Read> std::iter::FusedIterator for Reader<R> {}
