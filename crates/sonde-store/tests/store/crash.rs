//! A writer killed with SIGKILL loses none of the events it was told were
//! stored. The test runs itself again as the writer.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sonde_event::Event;
use sonde_store::EventStore;

use crate::common::*;

/// Set, to the data directory, in the writer process.
const WRITER_DIR_VAR: &str = "SONDE_STORE_CRASH_WRITER_DIR";
const TEST_NAME: &str = "crash::acknowledged_events_survive_sigkill";
const BATCH: u64 = 50;
const ACKS_BEFORE_KILL: usize = 5;

#[test]
fn acknowledged_events_survive_sigkill() {
    if let Some(dir) = std::env::var_os(WRITER_DIR_VAR) {
        return write_until_killed(Path::new(&dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture"])
        .env(WRITER_DIR_VAR, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    let acks = BufReader::new(writer.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| {
            line.strip_prefix("acked ")
                .map(|n| n.parse::<u64>().unwrap())
        });
    let acked = acks
        .take(ACKS_BEFORE_KILL)
        .last()
        .expect("the writer acknowledged appends");
    writer.kill().unwrap();
    writer.wait().unwrap();

    let stored = all(&open(dir.path()));
    let stored_times = offsets(&stored);
    eprintln!(
        "{acked} events acknowledged, {} stored after SIGKILL",
        stored.len()
    );
    assert!(
        stored.len() as u64 >= acked,
        "{} stored, {acked} acknowledged",
        stored.len()
    );
    assert_eq!(
        stored_times[..acked as usize],
        (0..acked).collect::<Vec<_>>()[..]
    );
    assert_eq!(stored.len() as u64 % BATCH, 0, "appends are all or nothing");
}

/// Appends batches forever, printing the total acknowledged after each.
fn write_until_killed(dir: &Path) {
    let store = open(dir);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut stdout = std::io::stdout();
    for batch in 0.. {
        assert!(
            Instant::now() < deadline,
            "the parent should have killed this writer"
        );
        let events: Vec<Event> = (batch * BATCH..(batch + 1) * BATCH)
            .map(|i| realistic_exec(T0 + i, 100 + (i % 1000) as u32))
            .collect();
        store.append(&events).unwrap();
        writeln!(stdout, "acked {}", (batch + 1) * BATCH).unwrap();
        stdout.flush().unwrap();
    }
}
