use sonde_event::Event;
use sonde_store::EventStore;

use crate::common::*;

/// Measures what a typical exec event costs on disk; run with `--nocapture`
/// to see the figures.
#[test]
fn bytes_per_realistic_exec_event() {
    const EVENTS: u64 = 10_000;
    const BATCH: u64 = 100;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for batch in 0..EVENTS / BATCH {
        let events: Vec<Event> = (batch * BATCH..(batch + 1) * BATCH)
            .map(|i| realistic_exec(T0 + i * 1_000_000, 10_000 + i as u32))
            .collect();
        store.append(&events).unwrap();
    }

    let stats = store.stats().unwrap();
    let value_bytes = stats.per_kind[0].bytes as f64 / stats.per_kind[0].events as f64;
    let file_bytes = stats.file_bytes as f64 / stats.events as f64;
    eprintln!(
        "realistic exec event: {value_bytes:.1} value bytes, {file_bytes:.1} file bytes per event \
         ({EVENTS} events in batches of {BATCH}, file {} bytes)",
        stats.file_bytes
    );
    assert_eq!(stats.per_kind[0].events, EVENTS);
    assert!(value_bytes < 1024.0, "{value_bytes} bytes per exec event");
}
