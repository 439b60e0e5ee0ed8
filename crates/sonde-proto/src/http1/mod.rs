//! HTTP/1.x: a streaming message parser ([`Parser`]) and the request/response
//! pairing that turns its events into exchanges ([`conversation`]).
//!
//! The head parser is hand-written rather than built on `httparse`: it must be
//! fed byte by byte without re-scanning, reject what llhttp's strict mode rejects
//! (unknown methods, bare LF, obs-fold, `Content-Length` with `Transfer-Encoding`)
//! and resynchronise after a loss, none of which `httparse` offers.

pub(crate) mod conversation;
mod framing;
pub mod head;
mod parser;

pub use head::{Head, Header, StartLine};
pub use parser::{Done, Event, Kind, Parser, SkipOutcome};

/// Why an HTTP/1.x message was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Http1Error {
    /// The request method is not a known token.
    #[error("invalid method")]
    InvalidMethod,
    /// The request target is empty or has forbidden bytes.
    #[error("invalid request target")]
    InvalidTarget,
    /// The protocol is not `HTTP/` (or `RTSP/`/`ICE/` where llhttp allows them).
    #[error("invalid protocol")]
    InvalidProtocol,
    /// The version is malformed or unknown.
    #[error("invalid HTTP version")]
    InvalidVersion,
    /// The status code is not three digits, or the reason has forbidden bytes.
    #[error("invalid status line")]
    InvalidStatus,
    /// A header name is empty or not a token (this includes obs-fold lines).
    #[error("invalid header name")]
    InvalidHeaderName,
    /// A header value has forbidden bytes.
    #[error("invalid header value")]
    InvalidHeaderValue,
    /// A line ended in LF without CR, or a CR was not followed by LF.
    #[error("invalid line ending")]
    LineEnding,
    /// The head exceeded the configured limit.
    #[error("head larger than {0} bytes")]
    HeadTooLarge(usize),
    /// `Content-Length` is malformed, repeated or overflows.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// `Content-Length` and `Transfer-Encoding` were both present.
    #[error("Content-Length with Transfer-Encoding")]
    ContentLengthWithTransferEncoding,
    /// A request's `Transfer-Encoding` does not end in `chunked`.
    #[error("invalid Transfer-Encoding")]
    InvalidTransferEncoding,
    /// A chunk size line is malformed.
    #[error("invalid chunk size")]
    InvalidChunkSize,
    /// A chunk extension is malformed.
    #[error("invalid chunk extension")]
    InvalidChunkExtension,
    /// Chunk data was not followed by CRLF.
    #[error("missing CRLF after chunk data")]
    ChunkDataEnd,
    /// Bytes arrived after a message that announced `Connection: close`.
    #[error("data after Connection: close")]
    DataAfterClose,
    /// The stream ended inside a message.
    #[error("unexpected end of stream")]
    UnexpectedEof,
}
