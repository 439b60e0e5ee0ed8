use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Endpoint, Event, Subject};

mod request;

pub use request::{ParseStatusError, StatusMatch};

/// The kinds of event, as named in the API and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ProcessExec,
    ProcessExit,
    TcpConnection,
    PacketDrop,
    UdpFlow,
    Request,
    Profile,
    File,
    Security,
    Alert,
    Enforcement,
    Listen,
}

impl EventKind {
    pub const ALL: [EventKind; 12] = [
        EventKind::ProcessExec,
        EventKind::ProcessExit,
        EventKind::TcpConnection,
        EventKind::PacketDrop,
        EventKind::UdpFlow,
        EventKind::Request,
        EventKind::Profile,
        EventKind::File,
        EventKind::Security,
        EventKind::Alert,
        EventKind::Enforcement,
        EventKind::Listen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ProcessExec => "process_exec",
            EventKind::ProcessExit => "process_exit",
            EventKind::TcpConnection => "tcp_connection",
            EventKind::PacketDrop => "packet_drop",
            EventKind::UdpFlow => "udp_flow",
            EventKind::Request => "request",
            EventKind::Profile => "profile",
            EventKind::File => "file",
            EventKind::Security => "security",
            EventKind::Alert => "alert",
            EventKind::Enforcement => "enforcement",
            EventKind::Listen => "listen",
        }
    }

    /// The short name: `exec`, `exit`, `tcp`, `drop`.
    pub fn short(self) -> &'static str {
        match self {
            EventKind::ProcessExec => "exec",
            EventKind::ProcessExit => "exit",
            EventKind::TcpConnection => "tcp",
            EventKind::PacketDrop => "drop",
            EventKind::UdpFlow => "udp",
            EventKind::Request => "request",
            EventKind::Profile => "profile",
            EventKind::File => "file",
            EventKind::Security => "security",
            EventKind::Alert => "alert",
            EventKind::Enforcement => "enforce",
            EventKind::Listen => "listen",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = String;

    /// Accepts the full name (`process_exec`) or the short one (`exec`).
    fn from_str(s: &str) -> Result<Self, String> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.short() == s)
            .ok_or_else(|| {
                format!(
                    "unknown event type `{s}`; expected one of: {}",
                    EventKind::ALL.map(|k| k.short()).join(", ")
                )
            })
    }
}

/// Whether a packet went through or was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Forwarded,
    Dropped,
}

impl FromStr for Verdict {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "forwarded" => Ok(Verdict::Forwarded),
            "dropped" => Ok(Verdict::Dropped),
            _ => Err(format!(
                "unknown verdict `{s}`; expected forwarded or dropped"
            )),
        }
    }
}

/// What to keep of a stream of events. Every field that is set must match;
/// an empty filter keeps everything. Network fields match network and
/// request events only; request fields match request events only. A request
/// matches the process fields when its client or its server process does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFilter {
    /// Any of these kinds (empty: all kinds).
    #[serde(default)]
    pub kinds: Vec<EventKind>,
    pub pid: Option<u32>,
    /// Matches the full binary path or its file name.
    pub binary: Option<String>,
    /// Matches the kernel task name exactly.
    pub comm: Option<String>,
    /// Prefix of the container id (as `docker ps` shortens it).
    pub container: Option<String>,
    pub exec_id: Option<String>,
    /// Either end's address.
    pub ip: Option<IpAddr>,
    /// The client's address (connections) or the packet's source (drops).
    pub from_ip: Option<IpAddr>,
    /// The server's address (connections) or the packet's destination (drops).
    pub to_ip: Option<IpAddr>,
    /// Either end's port.
    pub port: Option<u16>,
    /// `tcp`, `udp`, …
    pub protocol: Option<String>,
    pub verdict: Option<Verdict>,
    /// The drop reason's name (`NO_SOCKET`).
    pub drop_reason: Option<String>,
    /// The response's status: `5xx`, `404`, `NXDOMAIN`.
    pub status: Option<StatusMatch>,
    /// The request target (HTTP) or name (DNS): a prefix, or a glob over the
    /// whole target when it holds a `*`.
    pub path: Option<String>,
    /// Requests that took at least this long; those without a latency do not
    /// match.
    pub min_latency_ns: Option<u64>,
}

/// The network side of an event, for the network filters.
struct Flow<'a> {
    from: Option<Endpoint>,
    to: Option<Endpoint>,
    protocol: &'a str,
    /// None for a listening socket, which carries no packets.
    verdict: Option<Verdict>,
    reason: Option<&'a str>,
}

fn flow(event: &Event) -> Option<Flow<'_>> {
    match event {
        Event::TcpConnection(c) => {
            let (from, to) = c.client_server();
            Some(Flow {
                from: Some(from),
                to: Some(to),
                protocol: "tcp",
                verdict: Some(Verdict::Forwarded),
                reason: None,
            })
        }
        Event::PacketDrop(d) => Some(Flow {
            from: d.source,
            to: d.destination,
            protocol: &d.protocol,
            verdict: Some(Verdict::Dropped),
            reason: Some(&d.reason),
        }),
        Event::UdpFlow(u) => Some(Flow {
            from: Some(u.local),
            to: Some(u.remote),
            protocol: "udp",
            verdict: Some(Verdict::Forwarded),
            reason: None,
        }),
        Event::Request(r) => Some(Flow {
            from: Some(r.client),
            to: Some(r.server),
            protocol: r.protocol.as_str(),
            verdict: Some(Verdict::Forwarded),
            reason: None,
        }),
        // A listener is the server end of the connections it will accept.
        Event::Listen(l) => Some(Flow {
            from: None,
            to: Some(l.local),
            protocol: "tcp",
            verdict: None,
            reason: None,
        }),
        Event::ProcessExec(_)
        | Event::ProcessExit(_)
        | Event::Profile(_)
        | Event::Alert(_)
        | Event::Enforcement(_)
        | Event::File(_)
        | Event::Security(_) => None,
    }
}

impl EventFilter {
    pub fn matches(&self, event: &Event) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&event.kind()))
            && self.matches_subject(event)
            && self.matches_network(event)
            && self.matches_request(event)
    }

    fn has_process_fields(&self) -> bool {
        self.pid.is_some()
            || self.binary.is_some()
            || self.comm.is_some()
            || self.container.is_some()
            || self.exec_id.is_some()
    }

    fn matches_subject(&self, event: &Event) -> bool {
        if !self.has_process_fields() {
            return true;
        }
        let subjects = match event {
            Event::Request(r) => [
                r.client_process.as_ref().map(Into::into),
                r.server_process.as_ref().map(Into::into),
            ],
            _ => [event.subject(), None],
        };
        subjects.into_iter().flatten().any(|p| self.is_subject(p))
    }

    fn is_subject(&self, p: Subject<'_>) -> bool {
        self.pid.is_none_or(|pid| p.pid == pid)
            && self.comm.as_deref().is_none_or(|c| p.comm == c)
            && self
                .binary
                .as_deref()
                .is_none_or(|b| p.binary == b || p.binary.rsplit('/').next() == Some(b))
            && self
                .container
                .as_deref()
                .is_none_or(|prefix| p.container.is_some_and(|c| c.id.starts_with(prefix)))
            && self.exec_id.as_deref().is_none_or(|id| p.exec_id == id)
    }

    fn has_network_fields(&self) -> bool {
        self.ip.is_some()
            || self.from_ip.is_some()
            || self.to_ip.is_some()
            || self.port.is_some()
            || self.protocol.is_some()
            || self.verdict.is_some()
            || self.drop_reason.is_some()
    }

    fn matches_network(&self, event: &Event) -> bool {
        if !self.has_network_fields() {
            return true;
        }
        let Some(f) = flow(event) else { return false };
        let ip_is = |end: Option<Endpoint>, ip: IpAddr| end.is_some_and(|e| same_ip(e.ip, ip));
        let ends = [f.from, f.to];
        self.ip.is_none_or(|ip| ends.iter().any(|e| ip_is(*e, ip)))
            && self.from_ip.is_none_or(|ip| ip_is(f.from, ip))
            && self.to_ip.is_none_or(|ip| ip_is(f.to, ip))
            && self
                .port
                .is_none_or(|port| ends.iter().flatten().any(|e| e.port == port))
            && self
                .protocol
                .as_deref()
                .is_none_or(|p| p.eq_ignore_ascii_case(f.protocol))
            && self.verdict.is_none_or(|v| f.verdict == Some(v))
            && self
                .drop_reason
                .as_deref()
                .is_none_or(|r| f.reason.is_some_and(|x| x.eq_ignore_ascii_case(r)))
    }

    fn matches_request(&self, event: &Event) -> bool {
        if self.status.is_none() && self.path.is_none() && self.min_latency_ns.is_none() {
            return true;
        }
        let Event::Request(r) = event else {
            return false;
        };
        self.status.is_none_or(|s| s.matches(r))
            && self
                .path
                .as_deref()
                .is_none_or(|p| request::target_matches(p, &r.target))
            && self
                .min_latency_ns
                .is_none_or(|min| r.latency_ns.is_some_and(|l| l >= min))
    }
}

/// 10.0.0.1 and ::ffff:10.0.0.1 are the same address.
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

#[cfg(test)]
mod tests;
