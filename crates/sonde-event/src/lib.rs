//! The event model: every collector produces [`Event`]s, every consumer (store,
//! API, CLI) reads them. The JSON form is versioned by [`SCHEMA_VERSION`] and
//! described in `docs/events.md` and `docs/event-schema.json`.

mod alert;
pub mod compat;
mod container;
mod enforcement;
pub mod exec_id;
mod file;
mod filter;
mod network;
mod process;
mod profile;
mod request;
mod security;
mod service_map;
mod time;

pub use alert::{Alert, AlertPriority};
pub use container::{parse_container, Container, ContainerRuntime};
pub use enforcement::{Enforcement, EnforcementAction};
pub use exec_id::ExecIds;
pub use file::{at_flag_names, open_flag_names, FileEvent, FileOperation};
pub use filter::{EventFilter, EventKind, ParseStatusError, StatusMatch, Verdict};
pub use network::{
    protocol_name, Direction, Endpoint, Interface, PacketDrop, TcpConnection, TcpEnd, UdpFlow,
    Workload,
};
pub use network::{IpFamily, ListenEvent, ListenState};
pub use process::{
    Ancestor, Cgroup, ExitStatus, FileType, Namespaces, Origin, Process, ProcessExec, ProcessExit,
    SocketFamily, Stdio, StdioFile,
};
pub use profile::{Frame, FrameKind, Profile, ProfileStats, StackCount};
pub use request::{
    AppProtocol, DnsAnswer, DnsDetail, DnsQuestion, HttpDetail, Observation, Request, RequestFlag,
    SeenBy, Transport,
};
pub use security::{
    capability_names, namespace_names, ptrace_request_name, Credentials, SecurityDetail,
    SecurityEvent, SecurityKind,
};
pub use service_map::{Edge, EdgeStats, Node, ServiceMap};
pub use time::Timestamp;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of the event schema. Bumped on any change that is not a pure
/// addition of an optional field; see `docs/events.md` for the history.
pub const SCHEMA_VERSION: u32 = 1;

/// One observation. Externally tagged, so the JSON form of an exec is
/// `{"process_exec": {...}}` as in Tetragon's export format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    ProcessExec(ProcessExec),
    ProcessExit(ProcessExit),
    TcpConnection(TcpConnection),
    PacketDrop(PacketDrop),
    UdpFlow(UdpFlow),
    /// Boxed: by far the largest event.
    Request(Box<Request>),
    /// Boxed: a window of stacks.
    Profile(Box<Profile>),
    /// A file operation on a watched path. Boxed: it carries the process.
    File(Box<FileEvent>),
    /// A privilege, ptrace, memfd, mount, module, BPF or namespace operation.
    Security(Box<SecurityEvent>),
    /// A detection rule fired. Boxed: it embeds the triggering event(s).
    Alert(Box<Alert>),
    /// The kernel enforced a policy (or, dry run, would have).
    Enforcement(Box<Enforcement>),
    /// A TCP socket started or stopped listening.
    Listen(ListenEvent),
}

/// The process an event is about, whatever the event's type.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub pid: u32,
    pub exec_id: &'a str,
    pub comm: &'a str,
    pub binary: &'a str,
    pub container: Option<&'a Container>,
}

impl<'a> From<&'a Process> for Subject<'a> {
    fn from(p: &'a Process) -> Self {
        Subject {
            pid: p.pid,
            exec_id: &p.exec_id,
            comm: &p.comm,
            binary: &p.binary,
            container: p.container.as_ref(),
        }
    }
}

impl<'a> From<&'a Workload> for Subject<'a> {
    fn from(w: &'a Workload) -> Self {
        Subject {
            pid: w.pid,
            exec_id: &w.exec_id,
            comm: &w.comm,
            binary: &w.binary,
            container: w.container.as_ref(),
        }
    }
}

impl Event {
    /// When the event happened (wall clock).
    pub fn time(&self) -> Timestamp {
        match self {
            Event::ProcessExec(e) => e.time,
            Event::ProcessExit(e) => e.time,
            Event::TcpConnection(e) => e.time,
            Event::PacketDrop(e) => e.time,
            Event::UdpFlow(e) => e.time,
            Event::Request(e) => e.time,
            Event::Profile(e) => e.time,
            Event::File(e) => e.time,
            Event::Security(e) => e.time,
            Event::Alert(e) => e.time,
            Event::Enforcement(e) => e.time,
            Event::Listen(e) => e.time,
        }
    }

    pub fn kind(&self) -> EventKind {
        match self {
            Event::ProcessExec(_) => EventKind::ProcessExec,
            Event::ProcessExit(_) => EventKind::ProcessExit,
            Event::TcpConnection(_) => EventKind::TcpConnection,
            Event::PacketDrop(_) => EventKind::PacketDrop,
            Event::UdpFlow(_) => EventKind::UdpFlow,
            Event::Request(_) => EventKind::Request,
            Event::Profile(_) => EventKind::Profile,
            Event::File(_) => EventKind::File,
            Event::Security(_) => EventKind::Security,
            Event::Alert(_) => EventKind::Alert,
            Event::Enforcement(_) => EventKind::Enforcement,
            Event::Listen(_) => EventKind::Listen,
        }
    }

    /// The process the event is about, if one is known.
    pub fn subject(&self) -> Option<Subject<'_>> {
        match self {
            Event::ProcessExec(e) => Some((&e.process).into()),
            Event::ProcessExit(e) => Some((&e.process).into()),
            Event::TcpConnection(e) => e.process.as_ref().map(Into::into),
            Event::PacketDrop(e) => e.process.as_ref().map(Into::into),
            Event::UdpFlow(e) => e.process.as_ref().map(Into::into),
            Event::Request(e) => e
                .server_process
                .as_ref()
                .or(e.client_process.as_ref())
                .map(Into::into),
            Event::Profile(e) => Some((&e.process).into()),
            Event::File(e) => Some((&e.process).into()),
            Event::Security(e) => Some((&e.process).into()),
            Event::Alert(e) => e.process.as_ref().map(Into::into),
            Event::Enforcement(e) => e.process.as_ref().map(Into::into),
            Event::Listen(e) => e.process.as_ref().map(Into::into),
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.subject().map(|s| s.pid)
    }
}

/// The JSON Schema of [`Event`], as checked in at `docs/event-schema.json`.
pub fn json_schema() -> schemars::Schema {
    let mut schema = schemars::schema_for!(Event);
    schema.insert(
        "$id".into(),
        format!("sonde-event-v{SCHEMA_VERSION}").into(),
    );
    schema
}
