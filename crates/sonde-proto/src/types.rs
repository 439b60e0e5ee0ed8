//! Public vocabulary shared by every protocol: directions, hints, configuration,
//! and the finished [`Exchange`] records a [`crate::Conversation`] emits.

/// Transport a conversation runs over.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A byte stream: data arrives in order, message boundaries are the parser's job.
    Tcp,
    /// Datagrams: each `bytes()` call is exactly one message.
    Udp,
}

/// Which way bytes flowed, from the observing endpoint's point of view.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the observed endpoint.
    Egress,
    /// Received by the observed endpoint.
    Ingress,
}

impl Direction {
    /// The other direction.
    pub fn opposite(self) -> Direction {
        match self {
            Direction::Egress => Direction::Ingress,
            Direction::Ingress => Direction::Egress,
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Direction::Egress => 0,
            Direction::Ingress => 1,
        }
    }
}

/// Application protocol recognised on a conversation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// HTTP/1.0 or HTTP/1.1.
    Http1,
    /// DNS over UDP or TCP.
    Dns,
    /// Raw TLS records (ciphertext; plaintext arrives through another path).
    Tls,
}

/// Limits that bound the memory and work spent on one conversation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Unanswered requests kept per conversation; older ones are dropped and counted.
    pub max_pending: usize,
    /// Largest message head (request/status line plus headers) accepted, in bytes.
    pub max_head_bytes: usize,
    /// Bytes per direction after which an unrecognised stream is given up.
    pub infer_limit: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_pending: 64,
            max_head_bytes: 64 * 1024,
            infer_limit: 4096,
        }
    }
}

/// What the caller knows about the conversation besides its bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Hints {
    /// TCP or UDP.
    pub transport: Transport,
    /// Port of the observing endpoint; 0 when unknown.
    pub local_port: u16,
    /// Port of the peer; 0 when unknown.
    pub remote_port: u16,
}

impl Hints {
    pub(crate) fn has_port(&self, port: u16) -> bool {
        self.local_port == port || self.remote_port == port
    }
}

/// Counters for everything a conversation saw, including what it lost.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct ConversationStats {
    /// Exchanges emitted (answered or not).
    pub exchanges: u64,
    /// Messages that failed to parse.
    pub parse_errors: u64,
    /// Times a direction discarded bytes to find the start of a message again.
    pub resyncs: u64,
    /// Responses with no request to pair with (e.g. attached mid-connection).
    pub orphan_responses: u64,
    /// Requests dropped because `max_pending` were already waiting.
    pub pending_overflow: u64,
    /// Skipped bytes that fell inside a body of known length (framing kept).
    pub skipped_in_body: u64,
    /// Skipped bytes that broke framing.
    pub skipped_lost: u64,
}

/// One request and, if seen, its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Protocol of the exchange.
    pub protocol: Protocol,
    /// Egress when the observer sent the request (it is the client), Ingress when it is the server.
    pub request_direction: Direction,
    /// Time of the `bytes()` call that carried the first request byte.
    pub request_start_ns: u64,
    /// Time of the `bytes()` call that completed the request.
    pub request_end_ns: u64,
    /// Time of the call that carried the first byte of the final response.
    pub response_start_ns: Option<u64>,
    /// Time of the call that completed the response.
    pub response_end_ns: Option<u64>,
    /// Whole request message: head + body (+ chunk framing).
    pub request_bytes: u64,
    /// Whole response message(s), interim 1xx responses included.
    pub response_bytes: u64,
    /// Protocol-specific fields.
    pub detail: Detail,
    /// Anything unusual about the exchange.
    pub flags: Vec<ExchangeFlag>,
}

impl Exchange {
    /// Whether `flag` is set.
    pub fn has(&self, flag: ExchangeFlag) -> bool {
        self.flags.contains(&flag)
    }

    /// Duration from the first request byte to the last response byte, if answered.
    pub fn latency_ns(&self) -> Option<u64> {
        self.response_end_ns
            .map(|end| end.saturating_sub(self.request_start_ns))
    }
}

/// Notable conditions on an exchange.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExchangeFlag {
    /// No response arrived (timeout, close, or the pending queue overflowed).
    NoResponse,
    /// A skip broke the message; fields may be partial.
    Truncated,
    /// The request or response failed to parse.
    ParseError,
    /// The connection switched protocols (101 or CONNECT 2xx); parsing stopped.
    Upgraded,
    /// An interim `100 Continue` preceded the final response.
    Continue100,
}

/// Protocol-specific fields of an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    /// HTTP/1.x request/response.
    Http(HttpExchange),
    /// DNS query/response.
    Dns(DnsExchange),
}

/// Fields of an HTTP/1.x exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpExchange {
    /// Request method, e.g. `GET`.
    pub method: String,
    /// Request target as sent, e.g. `/index.html?q=1`.
    pub target: String,
    /// Request version without the `HTTP/` prefix, e.g. `1.1`.
    pub version: String,
    /// `Host` header of the request.
    pub host: Option<String>,
    /// `User-Agent` header of the request.
    pub user_agent: Option<String>,
    /// `Content-Type` of the response, or of the request when there is no response.
    pub content_type: Option<String>,
    /// Final status code.
    pub status: Option<u16>,
    /// Reason phrase of the final response.
    pub reason: Option<String>,
    /// Request body bytes (decoded chunk payload when chunked).
    pub request_body_bytes: u64,
    /// Response body bytes (decoded chunk payload when chunked).
    pub response_body_bytes: u64,
    /// Request used chunked transfer coding.
    pub request_chunked: bool,
    /// Response used chunked transfer coding.
    pub response_chunked: bool,
    /// Protocol switched to (`Upgrade` header of a 101, or `CONNECT` for a tunnel).
    pub upgrade: Option<String>,
}

/// Fields of a DNS exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsExchange {
    /// Message ID.
    pub id: u16,
    /// Opcode (0 = QUERY).
    pub opcode: u8,
    /// Question section of the query.
    pub questions: Vec<DnsQuestion>,
    /// Response code including EDNS extended bits; `None` without a response.
    pub rcode: Option<u16>,
    /// Answer section of the response.
    pub answers: Vec<DnsRecord>,
    /// AA bit of the response.
    pub authoritative: bool,
    /// TC bit of the response.
    pub truncated: bool,
    /// RD bit of the query.
    pub recursion_desired: bool,
    /// EDNS OPT of the response, else of the query.
    pub edns: Option<Edns>,
}

/// One entry of a DNS question section.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsQuestion {
    /// Fully qualified name with a trailing dot (`example.com.`; the root is `.`).
    pub name: String,
    /// Query type.
    pub qtype: u16,
    /// Query class (1 = IN).
    pub qclass: u16,
}

/// One resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// Owner name with a trailing dot.
    pub name: String,
    /// Record type.
    pub rtype: u16,
    /// Record class.
    pub class: u16,
    /// Time to live in seconds.
    pub ttl: u32,
    /// A/AAAA as address, CNAME/NS/PTR as name, MX `10 mx.example.`, TXT quoted, others hex.
    pub data: String,
}

/// EDNS(0) parameters from an OPT pseudo-record.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Edns {
    /// Requestor's UDP payload size.
    pub udp_payload_size: u16,
    /// EDNS version.
    pub version: u8,
    /// DO bit.
    pub dnssec_ok: bool,
}
