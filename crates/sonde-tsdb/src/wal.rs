//! The write-ahead log, as Prometheus's `tsdb/wlog`: every batch appended
//! to the [`Db`](crate::Db) is logged here before it reaches the head, so
//! that a restart replays it.
//!
//! The log is a directory of numbered segment files (`00000001`, ...),
//! each a sequence of CRC32C-framed records ([`frame`]) of the types in
//! [`record`]. A segment is closed and a new one started once it would
//! grow past [`WalOptions::segment_bytes`]. A checkpoint file
//! (`checkpoint.NNNNNNNN`, [`checkpoint`]) stands in for every segment up
//! to `NNNNNNNN` once their old samples are persisted in blocks.
//!
//! Durability ([`WalSync`]): each batch is written to the segment file
//! with one `write` call before the head is touched, so it survives the
//! process crashing. By default the file is `fsync`ed only when a segment
//! is closed and on [`Wal::sync`] (which `Db::sync` and `Db::maintain`
//! call), as Prometheus does; [`WalSync::EveryBatch`] `fsync`s every batch,
//! surviving power loss at a large cost in throughput. Dropping the
//! [`Wal`] (with its `Db`) `fsync`s once more, best effort.

pub(crate) mod checkpoint;
pub(crate) mod crc32c;
pub(crate) mod encoding;
pub(crate) mod frame;
pub(crate) mod record;
pub(crate) mod replay;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::index::SeriesRef;
use crate::labels::Labels;
use record::RefSample;

pub use frame::CorruptionReason;

/// When the log is `fsync`ed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WalSync {
    /// On segment close, `Db::sync` and `Db::maintain` only (the
    /// default): a batch survives a process crash as soon as it is
    /// appended, and a power loss once synced.
    #[default]
    OnRotateAndSync,
    /// After every batch.
    EveryBatch,
}

/// Write-ahead log settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// A segment is closed once the next record would take it past this
    /// size (a larger record gets a segment of its own). Default 128 MiB,
    /// as Prometheus.
    pub segment_bytes: u64,
    /// When to `fsync`.
    pub sync: WalSync,
}

impl Default for WalOptions {
    fn default() -> Self {
        Self {
            segment_bytes: 128 << 20,
            sync: WalSync::default(),
        }
    }
}

/// The path of segment `n` in `dir`.
pub fn segment_path(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("{n:08}"))
}

/// The path of checkpoint `n` in `dir`.
pub fn checkpoint_path(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("checkpoint.{n:08}"))
}

/// The segment numbers in `dir`, ascending.
pub fn list_segments(dir: &Path) -> io::Result<Vec<u32>> {
    list_numbered(dir, "")
}

/// The checkpoint numbers in `dir`, ascending.
pub fn list_checkpoints(dir: &Path) -> io::Result<Vec<u32>> {
    list_numbered(dir, "checkpoint.")
}

fn list_numbered(dir: &Path, prefix: &str) -> io::Result<Vec<u32>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        if rest.len() == 8 && rest.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = rest.parse() {
                out.push(n);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The log's writer: the open segment and the encoding buffers.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    options: WalOptions,
    file: File,
    segment: u32,
    segment_len: u64,
    payload: Vec<u8>,
    frames: Vec<u8>,
}

impl Wal {
    /// Starts writing segment `segment` (a new, empty file) in `dir`.
    pub fn create(dir: &Path, segment: u32, options: WalOptions) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let file = open_segment(dir, segment)?;
        Ok(Self {
            dir: dir.to_owned(),
            options,
            file,
            segment,
            segment_len: 0,
            payload: Vec::new(),
            frames: Vec::new(),
        })
    }

    /// The directory of the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Logs a batch: a series record for `new_series` if any, then a
    /// samples record for `samples` if any, in one write.
    pub fn log_batch(
        &mut self,
        new_series: &[(SeriesRef, &Labels)],
        samples: &[RefSample],
    ) -> io::Result<()> {
        self.frames.clear();
        if !new_series.is_empty() {
            self.payload.clear();
            record::encode_series(&mut self.payload, new_series.iter().map(|&(r, l)| (r, l)));
            frame::put_frame(&mut self.frames, &self.payload);
        }
        if !samples.is_empty() {
            self.payload.clear();
            record::encode_samples(&mut self.payload, samples);
            frame::put_frame(&mut self.frames, &self.payload);
        }
        if self.frames.is_empty() {
            return Ok(());
        }
        let len = self.frames.len() as u64;
        if self.segment_len > 0 && self.segment_len + len > self.options.segment_bytes {
            self.rotate()?;
        }
        self.file.write_all(&self.frames)?;
        self.segment_len += len;
        if self.options.sync == WalSync::EveryBatch {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// Closes the open segment (synced) and starts the next; returns the
    /// number of the closed one.
    pub fn rotate(&mut self) -> io::Result<u32> {
        self.file.sync_all()?;
        let closed = self.segment;
        self.file = open_segment(&self.dir, closed + 1)?;
        self.segment = closed + 1;
        self.segment_len = 0;
        sync_dir(&self.dir)?;
        Ok(closed)
    }

    /// `fsync`s the open segment.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

impl Drop for Wal {
    /// A last, best-effort `fsync` when the store is dropped.
    fn drop(&mut self) {
        let _ = self.file.sync_data();
    }
}

fn open_segment(dir: &Path, n: u32) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(segment_path(dir, n))
}

/// `fsync`s a directory, so that files created or renamed in it persist.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Total bytes and number of segment files (checkpoints included) in `dir`.
pub fn disk_usage(dir: &Path) -> (u64, usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return (0, 0);
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .fold((0, 0), |(bytes, n), m| (bytes + m.len(), n + 1))
}
