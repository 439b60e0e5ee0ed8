//! Enforcements: the kernel killed a process at exec or denied a connect
//! because a policy said so, or (dry run) would have. Every enforcement is an
//! event of its own, stored and streamed like any other.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Endpoint, Timestamp, Workload};

/// What the kernel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnforcementAction {
    /// SIGKILL at exec, before the new image ran its first instruction.
    Kill,
    /// connect() failed with EPERM.
    DenyConnect,
    /// A datagram sent to an address (sendto/sendmsg on an unconnected UDP
    /// socket) failed with EPERM, under a deny-connect policy.
    DenySend,
}

impl EnforcementAction {
    pub fn as_str(self) -> &'static str {
        match self {
            EnforcementAction::Kill => "kill",
            EnforcementAction::DenyConnect => "deny_connect",
            EnforcementAction::DenySend => "deny_send",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Enforcement {
    pub time: Timestamp,
    pub action: EnforcementAction,
    /// The policy only reports: the process was not killed, the connect was
    /// allowed.
    pub dry_run: bool,
    /// The policy matched PID 1 or sonde itself, which are never signalled.
    pub spared: bool,
    /// The name of the rule whose policy this was (`rule#ID` when the
    /// policy was replaced before the record was read).
    pub rule: String,
    pub pid: u32,
    pub tid: u32,
    /// Kernel task name at the time (for a kill: the new image's name).
    pub comm: String,
    /// Kill: the path execve() was given.
    pub binary: Option<String>,
    /// Deny-connect, deny-send: the destination the process asked for.
    pub destination: Option<Endpoint>,
    /// The task's cgroup v2 id.
    pub cgroup_id: u64,
    /// Kill: the kernel's error when the signal could not be sent (errno,
    /// negative); `None` when it was sent or not attempted.
    pub error: Option<i32>,
    /// The process, as the process table knew it when the record was read.
    pub process: Option<Workload>,
}
