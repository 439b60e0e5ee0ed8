use std::time::Duration;

use serde::Serialize;

/// How much history to keep. Unset limits do not apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Events older than this are deleted.
    pub max_age: Option<Duration>,
    /// The oldest events are deleted until the stored event bytes (see
    /// [`StoreStats::bytes`](crate::StoreStats::bytes)) are at most this.
    pub max_bytes: Option<u64>,
}

/// What one [`EventStore::apply_retention`](crate::EventStore::apply_retention) deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub deleted_events: u64,
    /// Encoded bytes of the deleted events.
    pub deleted_bytes: u64,
    /// Values due for deletion that could not be decoded: they are kept, as
    /// queries keep them, and still count towards the stored bytes.
    pub skipped_corrupt: u64,
}
