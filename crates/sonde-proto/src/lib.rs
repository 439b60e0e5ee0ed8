//! Pure protocol parsers for request tracing: bytes in, records or typed errors out.
//!
//! No I/O, no clocks, no global state, no threads. The entry point is
//! [`Conversation`]: feed it the bytes of one TCP connection (or one UDP peer pair)
//! as observed from one endpoint, and drain finished [`Exchange`]s.

pub mod conversation;
pub mod dns;
pub mod fuzzing;
pub mod http1;
pub mod infer;
mod types;

pub use conversation::Conversation;
pub use dns::names::{qtype_name, rcode_name};
pub use types::{
    Config, ConversationStats, Detail, Direction, DnsExchange, DnsQuestion, DnsRecord, Edns,
    Exchange, ExchangeFlag, Hints, HttpExchange, Protocol, Transport,
};
