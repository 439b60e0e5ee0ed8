use serde::Serialize;
use sonde_event::{EventKind, Timestamp};

/// What the store holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    /// Stored events.
    pub events: u64,
    /// Sum of the encoded event values, without keys, indexes or free space.
    pub bytes: u64,
    /// Size of the store's file on disk.
    pub file_bytes: u64,
    /// Time of the oldest stored event.
    pub oldest: Option<Timestamp>,
    /// Time of the newest stored event.
    pub newest: Option<Timestamp>,
    /// One entry per event kind, in [`EventKind::ALL`] order, zeros included.
    pub per_kind: Vec<KindStats>,
}

/// Stored events of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KindStats {
    pub kind: EventKind,
    pub events: u64,
    /// Sum of the encoded values of these events.
    pub bytes: u64,
}
