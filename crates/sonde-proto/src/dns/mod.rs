//! DNS message parsing (RFC 1035, EDNS per RFC 6891).
//!
//! Hand-written rather than a dependency: we need only decoding of the header,
//! questions and a readable form of common record data, with strict bounds and
//! compression-loop protection; the small crates that do this either allocate
//! per label without limits or pull in a resolver.

pub(crate) mod conversation;
mod message;
mod name;
pub mod names;

pub use message::{Header, Message};

/// Why a DNS message failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The message ended before a field it announced.
    #[error("message truncated")]
    Truncated,
    /// A label length byte uses the reserved 0x40/0x80 forms.
    #[error("bad label type {0:#04x}")]
    BadLabel(u8),
    /// Compression pointers form a loop or point forwards.
    #[error("compression pointer loop")]
    CompressionLoop,
    /// A name exceeds 255 bytes.
    #[error("name too long")]
    NameTooLong,
    /// Section counts that cannot fit the message.
    #[error("implausible section counts")]
    BadCounts,
    /// Bytes left after the last record.
    #[error("trailing bytes after message")]
    TrailingBytes,
}
