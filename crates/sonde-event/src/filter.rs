use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Event;

/// The kinds of event, as named in the API and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ProcessExec,
    ProcessExit,
}

impl EventKind {
    pub const ALL: [EventKind; 2] = [EventKind::ProcessExec, EventKind::ProcessExit];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ProcessExec => "process_exec",
            EventKind::ProcessExit => "process_exit",
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
            .find(|k| k.as_str() == s || k.as_str().strip_prefix("process_") == Some(s))
            .ok_or_else(|| {
                format!("unknown event type `{s}`; expected one of: process_exec, process_exit")
            })
    }
}

/// What to keep of a stream of events. Every field that is set must match;
/// an empty filter keeps everything.
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
}

impl EventFilter {
    pub fn matches(&self, event: &Event) -> bool {
        let p = event.process();
        (self.kinds.is_empty() || self.kinds.contains(&event.kind()))
            && self.pid.is_none_or(|pid| p.pid == pid)
            && self.comm.as_deref().is_none_or(|c| p.comm == c)
            && self
                .binary
                .as_deref()
                .is_none_or(|b| p.binary == b || p.binary.rsplit('/').next() == Some(b))
            && self.container.as_deref().is_none_or(|prefix| {
                p.container
                    .as_ref()
                    .is_some_and(|c| c.id.starts_with(prefix))
            })
            && self.exec_id.as_deref().is_none_or(|id| p.exec_id == id)
    }
}
