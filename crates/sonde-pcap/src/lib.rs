//! Offline capture reading for `sonde analyze --pcap FILE`: a pcap or pcapng
//! file in, TCP byte streams and UDP datagram flows out, ready for the
//! protocol parsers.
//!
//! The data path, file by file:
//! - `file.rs`: pcap (both byte orders, µs and ns timestamps) and pcapng
//!   (several interfaces, each with its link type and `if_tsresol`) records
//!   to frames, streamed through `pcap-parser`; corrupt framing becomes a
//!   typed [`PcapError`] with its byte offset. `file_header.rs` tells the
//!   format from the file's first bytes.
//! - `link.rs`: Ethernet (with VLAN tags), Linux cooked SLL/SLL2, raw IP and
//!   BSD loopback headers stripped; `etherparse` slices the rest.
//! - `packet.rs`: IPv4/IPv6 and TCP/UDP headers to a segment, or the reason
//!   there is none (counted in [`PcapStats`]).
//! - `flows.rs`: the bounded flow table; directions, open and close.
//! - `tcp_reassembly.rs`: per-direction TCP reassembly.
//! - `reader.rs`: [`Reader`], the iterator tying it together.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use sonde_pcap::StreamEvent;
//! let file = std::fs::File::open("capture.pcap")?;
//! for event in sonde_pcap::events(file)? {
//!     if let StreamEvent::Data { flow, dir, bytes, .. } = event? {
//!         println!("flow {flow} {dir:?}: {} bytes", bytes.len());
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod error;
mod event;
mod file;
mod file_header;
mod flows;
mod link;
mod packet;
mod reader;
mod stats;
mod tcp_reassembly;

pub use error::PcapError;
pub use event::{Direction, FlowId, FlowKey, StreamEvent, Transport};
pub use reader::{events, Reader, ReaderConfig};
pub use stats::PcapStats;
