//! Alerts: a detection rule fired. An alert is an event like any other
//! (stored, retained, queried, streamed); it embeds the event(s) that
//! triggered it and the process ancestry at the time.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Ancestor, Event, Timestamp, Workload};

/// A rule's severity, most severe first (Falco's scale).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertPriority {
    Emergency,
    Alert,
    Critical,
    Error,
    Warning,
    Notice,
    Informational,
    Debug,
}

impl AlertPriority {
    pub const ALL: [AlertPriority; 8] = [
        AlertPriority::Emergency,
        AlertPriority::Alert,
        AlertPriority::Critical,
        AlertPriority::Error,
        AlertPriority::Warning,
        AlertPriority::Notice,
        AlertPriority::Informational,
        AlertPriority::Debug,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertPriority::Emergency => "EMERGENCY",
            AlertPriority::Alert => "ALERT",
            AlertPriority::Critical => "CRITICAL",
            AlertPriority::Error => "ERROR",
            AlertPriority::Warning => "WARNING",
            AlertPriority::Notice => "NOTICE",
            AlertPriority::Informational => "INFORMATIONAL",
            AlertPriority::Debug => "DEBUG",
        }
    }
}

impl std::str::FromStr for AlertPriority {
    type Err = String;

    /// Case-insensitive; `INFO` and `WARN` are accepted too.
    fn from_str(s: &str) -> Result<Self, String> {
        let up = s.to_ascii_uppercase();
        let up = match up.as_str() {
            "INFO" => "INFORMATIONAL",
            "WARN" => "WARNING",
            other => other,
        };
        AlertPriority::ALL
            .into_iter()
            .find(|p| p.as_str() == up)
            .ok_or_else(|| {
                format!(
                    "unknown priority `{s}`; expected one of: {}",
                    AlertPriority::ALL.map(|p| p.as_str()).join(", ")
                )
            })
    }
}

impl std::fmt::Display for AlertPriority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A detection rule fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Alert {
    /// When the rule fired (the triggering event's time).
    pub time: Timestamp,
    /// The rule's name.
    pub rule: String,
    pub priority: AlertPriority,
    pub tags: Vec<String>,
    /// The rule's `output`, rendered with the triggering event's fields.
    pub output: String,
    /// The process the triggering event is about, when known.
    pub process: Option<Workload>,
    /// Its ancestry, parent first, as the agent knew it.
    pub ancestors: Vec<Ancestor>,
    /// The event(s) that made the rule fire (the last one for a sequence).
    pub events: Vec<Event>,
    /// Where the rule is defined (`file:line`).
    pub origin: String,
}
