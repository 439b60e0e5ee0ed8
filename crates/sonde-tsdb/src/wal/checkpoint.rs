//! Checkpoints, as Prometheus's `wlog.Checkpoint`: once the head's oldest
//! samples are persisted in a block, the segments holding them are
//! rewritten into one file that keeps only what the head still needs —
//! series records of series still in the head and samples at or after the
//! block's end — and the segments are deleted, so replay stays bounded.
//!
//! The checkpoint is written to `checkpoint.NNNNNNNN.tmp`, synced and
//! renamed, so a crash leaves either the old state or the new one.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::index::SeriesRef;
use crate::wal::frame::{put_frame, scan};
use crate::wal::record::{encode_samples, encode_series, Record};
use crate::wal::{checkpoint_path, list_checkpoints, list_segments, segment_path, sync_dir};

/// What a checkpoint kept.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Series records kept.
    pub series: u64,
    /// Samples kept.
    pub samples: u64,
    /// Segments folded in and deleted.
    pub segments_removed: usize,
}

/// Folds the previous checkpoint and every segment numbered `upto` or
/// less into `checkpoint.upto`, keeping series for which `keep` holds and
/// their samples at or after `mint`; then deletes what it replaced.
pub fn checkpoint(
    dir: &Path,
    upto: u32,
    keep: impl Fn(SeriesRef) -> bool,
    mint: i64,
) -> io::Result<CheckpointStats> {
    let mut stats = CheckpointStats::default();
    let old_checkpoints: Vec<u32> = list_checkpoints(dir)?
        .into_iter()
        .filter(|&n| n <= upto)
        .collect();
    let segments: Vec<u32> = list_segments(dir)?
        .into_iter()
        .filter(|&n| n <= upto)
        .collect();
    let mut sources: Vec<_> = old_checkpoints
        .last()
        .map(|&n| checkpoint_path(dir, n))
        .into_iter()
        .collect();
    sources.extend(segments.iter().map(|&n| segment_path(dir, n)));

    let final_path = checkpoint_path(dir, upto);
    let tmp_path = final_path.with_extension(format!("{upto:08}.tmp"));
    let mut out = BufWriter::new(File::create(&tmp_path)?);
    let (mut payload, mut frame) = (Vec::new(), Vec::new());
    let mut write_err = None;
    for source in &sources {
        let bytes = fs::read(source)?;
        // Damage was reported and truncated at open; whatever scans is kept.
        scan(&bytes, |record| {
            payload.clear();
            match record {
                Record::Series(series) => {
                    let kept: Vec<_> = series.iter().filter(|(r, _)| keep(*r)).collect();
                    if kept.is_empty() {
                        return;
                    }
                    stats.series += kept.len() as u64;
                    encode_series(&mut payload, kept.iter().map(|(r, l)| (*r, l)));
                }
                Record::Samples(mut samples) => {
                    samples.retain(|s| s.t >= mint && keep(s.series_ref));
                    if samples.is_empty() {
                        return;
                    }
                    stats.samples += samples.len() as u64;
                    encode_samples(&mut payload, &samples);
                }
            }
            frame.clear();
            put_frame(&mut frame, &payload);
            if write_err.is_none() {
                write_err = out.write_all(&frame).err();
            }
        });
    }
    if let Some(err) = write_err {
        return Err(err);
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    fs::rename(&tmp_path, &final_path)?;
    sync_dir(dir)?;
    for n in old_checkpoints.into_iter().filter(|&n| n != upto) {
        fs::remove_file(checkpoint_path(dir, n))?;
    }
    for n in segments {
        fs::remove_file(segment_path(dir, n))?;
        stats.segments_removed += 1;
    }
    Ok(stats)
}
