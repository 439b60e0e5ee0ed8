//! The event model: every collector produces [`Event`]s, every consumer (store,
//! API, CLI) reads them. The JSON form is versioned by [`SCHEMA_VERSION`] and
//! described in `docs/events.md` and `docs/event-schema.json`.

mod container;
pub mod exec_id;
mod filter;
mod process;
mod time;

pub use container::{parse_container, Container, ContainerRuntime};
pub use exec_id::ExecIds;
pub use filter::{EventFilter, EventKind};
pub use process::{
    Ancestor, Cgroup, ExitStatus, Namespaces, Origin, Process, ProcessExec, ProcessExit,
};
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
}

impl Event {
    /// When the event happened (wall clock).
    pub fn time(&self) -> Timestamp {
        match self {
            Event::ProcessExec(e) => e.time,
            Event::ProcessExit(e) => e.time,
        }
    }

    pub fn kind(&self) -> EventKind {
        match self {
            Event::ProcessExec(_) => EventKind::ProcessExec,
            Event::ProcessExit(_) => EventKind::ProcessExit,
        }
    }

    /// The process the event is about.
    pub fn process(&self) -> &Process {
        match self {
            Event::ProcessExec(e) => &e.process,
            Event::ProcessExit(e) => &e.process,
        }
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
