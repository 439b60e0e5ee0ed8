//! Request events: one application-level request and its response (HTTP/1.x,
//! DNS), as the client, the server, or both saw it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sonde_proto::{Detail, Exchange, ExchangeFlag};

use crate::{Endpoint, Timestamp, Workload};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Request {
    /// When the request's first byte was sent or received.
    pub time: Timestamp,
    pub protocol: AppProtocol,
    /// Whether it was read as TLS plaintext (OpenSSL).
    pub tls: bool,
    pub transport: Transport,
    pub client: Endpoint,
    pub server: Endpoint,
    /// Network namespace inode of the observing socket (0 offline).
    pub netns: u32,
    /// The connection's id, as in its `tcp_connection` records (16 hex digits).
    pub conn_id: Option<String>,
    pub client_process: Option<Workload>,
    pub server_process: Option<Workload>,
    /// Which ends sonde saw it from.
    pub seen_by: SeenBy,
    /// HTTP method; for DNS the opcode (`QUERY`).
    pub method: String,
    /// HTTP request target; for DNS the first question's name.
    pub target: String,
    /// HTTP status; for DNS the response code (with EDNS's extended bits).
    pub status: Option<u16>,
    /// Request start to response end, as the client saw it if sonde saw the
    /// client, else as the server did.
    pub latency_ns: Option<u64>,
    /// Request start to response end as the server saw it, when both ends
    /// were seen.
    pub server_latency_ns: Option<u64>,
    /// Whole messages: head and body.
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub http: Option<HttpDetail>,
    pub dns: Option<DnsDetail>,
    pub flags: Vec<RequestFlag>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppProtocol {
    Http,
    Dns,
}

impl AppProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            AppProtocol::Http => "http",
            AppProtocol::Dns => "dns",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeenBy {
    Client,
    Server,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestFlag {
    /// No response arrived (timeout, close, or too many unanswered requests).
    NoResponse,
    /// Bytes were lost inside a message; some fields may be partial.
    Truncated,
    /// A message did not parse.
    ParseError,
    /// The connection switched protocols (101, CONNECT); later bytes are not parsed.
    Upgraded,
    /// The server sent `100 Continue` first.
    Continue100,
}

impl RequestFlag {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestFlag::NoResponse => "no_response",
            RequestFlag::Truncated => "truncated",
            RequestFlag::ParseError => "parse_error",
            RequestFlag::Upgraded => "upgraded",
            RequestFlag::Continue100 => "continue_100",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HttpDetail {
    /// `1.1`, `1.0`.
    pub version: String,
    pub host: Option<String>,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    pub reason: Option<String>,
    pub request_body_bytes: u64,
    pub response_body_bytes: u64,
    pub request_chunked: bool,
    pub response_chunked: bool,
    pub upgrade: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DnsDetail {
    pub id: u16,
    /// `NOERROR`, `NXDOMAIN`, …; absent without a response.
    pub rcode_name: Option<String>,
    pub questions: Vec<DnsQuestion>,
    pub answers: Vec<DnsAnswer>,
    pub authoritative: bool,
    pub truncated: bool,
    pub recursion_desired: bool,
    /// The EDNS payload size the query advertised, if it used EDNS.
    pub edns_udp_size: Option<u16>,
    pub dnssec_ok: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DnsQuestion {
    pub name: String,
    /// `A`, `AAAA`, … or the number.
    pub qtype: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DnsAnswer {
    pub name: String,
    pub rtype: String,
    pub ttl: u32,
    pub data: String,
}

/// Where an exchange was observed, to place it in a [`Request`].
#[derive(Debug, Clone)]
pub struct Observation {
    /// The observing socket's own end and its peer.
    pub local: Endpoint,
    pub remote: Endpoint,
    pub transport: Transport,
    pub tls: bool,
    pub netns: u32,
    pub conn_id: Option<u64>,
    /// The process that owns the observing socket.
    pub process: Option<Workload>,
}

impl Request {
    /// Builds the request record of one parsed exchange; `wall` turns the
    /// exchange's clock into wall-clock time.
    pub fn from_exchange(
        x: &Exchange,
        seen: Observation,
        wall: impl Fn(u64) -> Timestamp,
    ) -> Request {
        let client_side = x.request_direction == sonde_proto::Direction::Egress;
        let (client, server) = if client_side {
            (seen.local, seen.remote)
        } else {
            (seen.remote, seen.local)
        };
        let (client_process, server_process) = if client_side {
            (seen.process, None)
        } else {
            (None, seen.process)
        };
        let mut request = Request {
            time: wall(x.request_start_ns),
            protocol: AppProtocol::Http,
            tls: seen.tls,
            transport: seen.transport,
            client,
            server,
            netns: seen.netns,
            conn_id: seen.conn_id.map(|id| format!("{id:016x}")),
            client_process,
            server_process,
            seen_by: if client_side {
                SeenBy::Client
            } else {
                SeenBy::Server
            },
            method: String::new(),
            target: String::new(),
            status: None,
            latency_ns: x.latency_ns(),
            server_latency_ns: None,
            request_bytes: x.request_bytes,
            response_bytes: x.response_bytes,
            http: None,
            dns: None,
            flags: x.flags.iter().map(|f| flag(*f)).collect(),
        };
        match &x.detail {
            Detail::Http(h) => {
                request.method = h.method.clone();
                request.target = h.target.clone();
                request.status = h.status;
                request.http = Some(HttpDetail {
                    version: h.version.clone(),
                    host: h.host.clone(),
                    user_agent: h.user_agent.clone(),
                    content_type: h.content_type.clone(),
                    reason: h.reason.clone(),
                    request_body_bytes: h.request_body_bytes,
                    response_body_bytes: h.response_body_bytes,
                    request_chunked: h.request_chunked,
                    response_chunked: h.response_chunked,
                    upgrade: h.upgrade.clone(),
                });
            }
            Detail::Dns(d) => {
                request.protocol = AppProtocol::Dns;
                request.method = opcode_name(d.opcode).into();
                request.target = d
                    .questions
                    .first()
                    .map(|q| q.name.clone())
                    .unwrap_or_default();
                request.status = d.rcode;
                request.dns = Some(DnsDetail {
                    id: d.id,
                    rcode_name: d.rcode.map(|r| sonde_proto::rcode_name(r).to_string()),
                    questions: d
                        .questions
                        .iter()
                        .map(|q| DnsQuestion {
                            name: q.name.clone(),
                            qtype: type_name(q.qtype),
                        })
                        .collect(),
                    answers: d
                        .answers
                        .iter()
                        .map(|a| DnsAnswer {
                            name: a.name.clone(),
                            rtype: type_name(a.rtype),
                            ttl: a.ttl,
                            data: a.data.clone(),
                        })
                        .collect(),
                    authoritative: d.authoritative,
                    truncated: d.truncated,
                    recursion_desired: d.recursion_desired,
                    edns_udp_size: d.edns.as_ref().map(|e| e.udp_payload_size),
                    dnssec_ok: d.edns.as_ref().is_some_and(|e| e.dnssec_ok),
                });
            }
        }
        request
    }

    /// An error for RED metrics: HTTP 5xx, a DNS failure other than
    /// NXDOMAIN, or no response.
    pub fn is_error(&self) -> bool {
        self.flags.contains(&RequestFlag::NoResponse)
            || match self.protocol {
                AppProtocol::Http => self.status.is_some_and(|s| s >= 500),
                AppProtocol::Dns => self.status.is_some_and(|r| r != 0 && r != 3),
            }
    }

    /// Joins the same request seen from the server's socket into this one,
    /// seen from the client's.
    pub fn merge_server_view(&mut self, server: Request) {
        self.server_process = server.server_process;
        self.server_latency_ns = server.latency_ns;
        self.seen_by = SeenBy::Both;
        for f in server.flags {
            if !self.flags.contains(&f) {
                self.flags.push(f);
            }
        }
    }
}

fn flag(f: ExchangeFlag) -> RequestFlag {
    match f {
        ExchangeFlag::NoResponse => RequestFlag::NoResponse,
        ExchangeFlag::Truncated => RequestFlag::Truncated,
        ExchangeFlag::ParseError => RequestFlag::ParseError,
        ExchangeFlag::Upgraded => RequestFlag::Upgraded,
        ExchangeFlag::Continue100 => RequestFlag::Continue100,
    }
}

fn type_name(t: u16) -> String {
    sonde_proto::qtype_name(t).map_or_else(|| t.to_string(), str::to_string)
}

fn opcode_name(opcode: u8) -> &'static str {
    match opcode {
        0 => "QUERY",
        1 => "IQUERY",
        2 => "STATUS",
        4 => "NOTIFY",
        5 => "UPDATE",
        _ => "OPCODE",
    }
}
