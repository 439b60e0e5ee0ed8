//! Reading the log back on open: the newest checkpoint, then every
//! segment after it, in order.
//!
//! A segment that ends in a torn or corrupt frame is truncated at the end
//! of its last good frame, and the loss is reported as a
//! [`WalCorruption`]; every record before it is replayed. Corruption in a
//! segment that is not the last is handled the same way and replay goes
//! on with the next segment, so intact later segments are not lost
//! (samples whose series record was in the dropped part are counted by
//! the caller as unknown-series samples).

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::wal::frame::{scan, CorruptionReason};
use crate::wal::record::Record;
use crate::wal::{checkpoint_path, list_checkpoints, list_segments, segment_path};

/// Records lost from one file of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalCorruption {
    /// The segment or checkpoint file.
    pub path: PathBuf,
    /// Where the first bad frame began: the file now ends here.
    pub offset: u64,
    /// Bytes cut off the file (from `offset` to its old end).
    pub bytes_dropped: u64,
    /// Good records replayed from this file before the damage.
    pub records_before: u64,
    /// What was wrong at `offset`.
    pub reason: CorruptionReason,
}

/// What replay found.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Records handed to the callback.
    pub records: u64,
    /// The checkpoint replayed, if any.
    pub checkpoint: Option<u32>,
    /// Segments replayed.
    pub segments: Vec<u32>,
    /// Damaged files, each truncated at its last good record.
    pub corruptions: Vec<WalCorruption>,
    /// The number the next segment should get.
    pub next_segment: u32,
}

/// Replays the log in `dir` (which may not exist yet) into `on_record`.
pub fn replay(dir: &Path, mut on_record: impl FnMut(Record)) -> io::Result<Replayed> {
    let mut out = Replayed::default();
    if !dir.exists() {
        return Ok(out);
    }
    let checkpoint = list_checkpoints(dir)?.last().copied();
    if let Some(n) = checkpoint {
        replay_file(&checkpoint_path(dir, n), &mut on_record, &mut out)?;
        out.checkpoint = Some(n);
        out.next_segment = n + 1;
    }
    for n in list_segments(dir)? {
        let path = segment_path(dir, n);
        if checkpoint.is_some_and(|c| n <= c) {
            // Left over from a crash between checkpoint and clean-up.
            fs::remove_file(&path)?;
            continue;
        }
        replay_file(&path, &mut on_record, &mut out)?;
        out.segments.push(n);
        out.next_segment = out.next_segment.max(n + 1);
    }
    Ok(out)
}

fn replay_file(
    path: &Path,
    on_record: &mut impl FnMut(Record),
    out: &mut Replayed,
) -> io::Result<()> {
    let bytes = fs::read(path)?;
    let scanned = scan(&bytes, &mut *on_record);
    out.records += scanned.records;
    if let Some(corruption) = scanned.corruption {
        OpenOptions::new()
            .write(true)
            .open(path)?
            .set_len(corruption.offset)?;
        out.corruptions.push(WalCorruption {
            path: path.to_owned(),
            offset: corruption.offset,
            bytes_dropped: bytes.len() as u64 - corruption.offset,
            records_before: scanned.records,
            reason: corruption.reason,
        });
    }
    Ok(())
}
