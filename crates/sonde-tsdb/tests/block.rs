//! Blocks seen through `Db`: the head cut into blocks by `maintain`, reads
//! merged across blocks and head, damaged blocks skipped and reported,
//! compaction and retention.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sonde_tsdb::{AppendError, Db, DbOptions, Labels, Matcher, Sample};

/// A multiple of 2 h (and of 6 h), so blocks start at `T0`.
const T0: i64 = 1_699_984_800_000;
const HOUR: i64 = 3_600_000;
const STEP: i64 = 15_000;

type Expected = BTreeMap<Labels, Vec<(i64, u64)>>;

fn series(i: usize) -> Labels {
    Labels::new([
        (
            "__name__",
            if i.is_multiple_of(2) { "even" } else { "odd" }.to_owned(),
        ),
        ("instance", format!("host-{i}")),
    ])
    .unwrap()
}

/// Appends `n` series every 15 s over `[from, to)`, as scrapes do.
fn fill(db: &Db, expected: &mut Expected, n: usize, from: i64, to: i64) {
    let mut t = from;
    while t < to {
        let samples: Vec<Sample> = (0..n)
            .map(|i| Sample {
                labels: series(i),
                t,
                v: ((t - T0) / STEP) as f64 * (i + 1) as f64 + 0.25,
            })
            .collect();
        assert_eq!(db.append_batch(&samples).appended, n);
        for s in samples {
            expected
                .entry(s.labels)
                .or_default()
                .push((s.t, s.v.to_bits()));
        }
        t += STEP;
    }
}

fn select(db: &Db, mint: i64, maxt: i64) -> Expected {
    db.select(&[], mint, maxt)
        .unwrap()
        .into_iter()
        .map(|(l, s)| (l, s.into_iter().map(|(t, v)| (t, v.to_bits())).collect()))
        .collect()
}

fn only_range(expected: &Expected, mint: i64, maxt: i64) -> Expected {
    expected
        .iter()
        .map(|(l, s)| {
            let kept: Vec<_> = s
                .iter()
                .copied()
                .filter(|(t, _)| (mint..=maxt).contains(t))
                .collect();
            (l.clone(), kept)
        })
        .filter(|(_, s)| !s.is_empty())
        .collect()
}

fn block_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta").exists())
        .collect();
    out.sort();
    out
}

fn no_compaction() -> DbOptions {
    DbOptions {
        compaction_levels: 1,
        ..DbOptions::default()
    }
}

#[test]
fn the_head_is_cut_into_a_block_and_reads_span_both() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Expected::new();
    let (db, _) = Db::open(dir.path(), DbOptions::default()).unwrap();
    fill(&db, &mut expected, 10, T0, T0 + 3 * HOUR);
    // Exactly 3 h - 15 s spanned: not yet more than 1.5 ranges.
    assert!(db.maintain(T0 + 3 * HOUR).unwrap().blocks_cut.is_empty());
    fill(&db, &mut expected, 10, T0 + 3 * HOUR, T0 + 4 * HOUR);
    let before = db.head_stats();
    let report = db.maintain(T0 + 4 * HOUR).unwrap();
    assert_eq!(report.blocks_cut.len(), 1);
    assert!(report.compacted.is_empty());

    let blocks = db.blocks();
    assert_eq!(blocks.len(), 1);
    let meta = &blocks[0];
    assert_eq!((meta.mint, meta.maxt, meta.level), (T0, T0 + 2 * HOUR, 1));
    assert_eq!((meta.series, meta.samples), (10, 10 * 480));
    assert!(dir.path().join(&meta.id).join("chunks").exists());
    assert!(dir.path().join(&meta.id).join("index").exists());

    // The head lost exactly the block's chunks (120 samples each, cut at 2 h).
    let after = db.head_stats();
    assert_eq!(before.chunks - after.chunks, 10 * 4);
    assert_eq!(after.series, 10);
    // The WAL was checkpointed: replay now starts at the block's end.
    assert!(dir.path().join("wal/checkpoint.00000000").exists());
    assert!(!dir.path().join("wal/00000000").exists());

    assert_eq!(select(&db, i64::MIN, i64::MAX), expected);
    let mid = (T0 + 2 * HOUR - 5 * STEP, T0 + 2 * HOUR + 5 * STEP);
    assert_eq!(
        select(&db, mid.0, mid.1),
        only_range(&expected, mid.0, mid.1)
    );
    let odd = db
        .select(&[Matcher::eq("__name__", "odd")], T0, T0 + HOUR)
        .unwrap();
    assert_eq!(odd.len(), 5);
    assert_eq!(odd[0].1.len(), 241);
    assert_eq!(
        db.label_values("instance", &[], T0, T0 + HOUR)
            .unwrap()
            .len(),
        10
    );
    assert_eq!(
        db.label_names(&[], T0, T0).unwrap(),
        ["__name__", "instance"]
    );

    // The block's range is closed to appends now.
    assert!(matches!(
        db.append(&series(0), T0 + HOUR, 1.0),
        Err(AppendError::OutOfBounds { .. })
    ));
    let stats = db.stats();
    assert_eq!(
        (stats.blocks, stats.block_samples, stats.head_blocks_cut),
        (1, 4800, 1)
    );
    println!(
        "block: {} bytes for {} samples = {:.3} bytes/sample on disk",
        stats.block_bytes,
        stats.block_samples,
        stats.block_bytes as f64 / stats.block_samples as f64
    );
    drop(db);

    let (db, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.blocks_loaded, vec![meta.id.clone()]);
    assert_eq!(report.wal_checkpoint, Some(0));
    assert_eq!(
        report.wal_samples,
        10 * 480,
        "only the head's 2 h are replayed"
    );
    assert_eq!(select(&db, i64::MIN, i64::MAX), expected);
    fill(
        &db,
        &mut expected,
        10,
        T0 + 4 * HOUR,
        T0 + 5 * HOUR + 2 * STEP,
    );
    assert_eq!(db.maintain(0).unwrap().blocks_cut.len(), 1);
    drop(db);
    let (db, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.blocks_loaded.len(), 2);
    assert_eq!(select(&db, i64::MIN, i64::MAX), expected);
}

/// Three blocks `[T0, 2h)`, `[2h, 4h)`, `[4h, 6h)` and a head to 7.5 h.
fn three_blocks(dir: &Path, options: DbOptions) -> Expected {
    let mut expected = Expected::new();
    let (db, _) = Db::open(dir, options).unwrap();
    fill(&db, &mut expected, 6, T0, T0 + 7 * HOUR + HOUR / 2);
    db.maintain(T0 + 8 * HOUR).unwrap();
    expected
}

#[test]
fn damaged_blocks_are_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let expected = three_blocks(dir.path(), no_compaction());
    let dirs = block_dirs(dir.path());
    assert_eq!(dirs.len(), 3);
    // First block: a flipped chunk byte. Second: a truncated index.
    let chunks = dirs[0].join("chunks");
    let mut bytes = fs::read(&chunks).unwrap();
    bytes[100] ^= 0xff;
    fs::write(&chunks, bytes).unwrap();
    let index = dirs[1].join("index");
    let len = fs::metadata(&index).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&index)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let (db, report) = Db::open(dir.path(), no_compaction()).unwrap();
    assert_eq!(report.corrupt_blocks.len(), 2, "{report:?}");
    assert_eq!(report.corrupt_blocks[0].path, dirs[0]);
    assert!(
        report.corrupt_blocks[0].reason.contains("chunks"),
        "{}",
        report.corrupt_blocks[0].reason
    );
    assert_eq!(report.corrupt_blocks[1].path, dirs[1]);
    assert!(
        report.corrupt_blocks[1].reason.contains("index"),
        "{}",
        report.corrupt_blocks[1].reason
    );
    assert!(report.corrupt_blocks[0].moved_to.as_ref().unwrap().exists());
    assert_eq!(report.blocks_loaded.len(), 1);
    assert_eq!(db.stats().corrupt_blocks, 2);
    // The third block and the head are intact.
    let rest = T0 + 4 * HOUR;
    assert_eq!(
        select(&db, i64::MIN, i64::MAX),
        only_range(&expected, rest, i64::MAX)
    );
    drop(db);
    let (_, report) = Db::open(dir.path(), no_compaction()).unwrap();
    assert!(
        report.is_clean(),
        "damaged blocks were set aside: {report:?}"
    );
}

#[test]
fn compaction_merges_three_blocks_into_one() {
    let dir = tempfile::tempdir().unwrap();
    let expected = three_blocks(dir.path(), no_compaction());
    let (db, _) = Db::open(dir.path(), no_compaction()).unwrap();
    assert_eq!(db.blocks().len(), 3);
    let before = select(&db, i64::MIN, i64::MAX);
    assert_eq!(before, expected);
    let sources: Vec<String> = db.blocks().into_iter().map(|m| m.id).collect();
    drop(db);

    let (db, _) = Db::open(dir.path(), DbOptions::default()).unwrap();
    let report = db.maintain(T0 + 8 * HOUR).unwrap();
    assert_eq!(report.compacted.len(), 1);
    let blocks = db.blocks();
    assert_eq!(blocks.len(), 1);
    let meta = &blocks[0];
    assert_eq!((meta.mint, meta.maxt, meta.level), (T0, T0 + 6 * HOUR, 2));
    assert_eq!(meta.sources, sources);
    assert_eq!(meta.samples, 6 * 6 * 240);
    assert_eq!(block_dirs(dir.path()), vec![dir.path().join(&meta.id)]);
    assert_eq!(select(&db, i64::MIN, i64::MAX), expected);
    assert_eq!(db.stats().compactions, 1);
    drop(db);
    let (db, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(select(&db, i64::MIN, i64::MAX), expected);
}

#[test]
fn retention_deletes_blocks_wholly_older_than_the_cutoff() {
    let dir = tempfile::tempdir().unwrap();
    let options = DbOptions {
        retention: Some(Duration::from_secs(2 * 3600)),
        ..no_compaction()
    };
    let expected = three_blocks(dir.path(), no_compaction());
    let (db, _) = Db::open(dir.path(), options).unwrap();
    let ids: Vec<String> = db.blocks().into_iter().map(|m| m.id).collect();
    // Cut-off 4 h + 1 ms: the first two blocks end at or before it.
    let deleted = db.apply_retention(T0 + 6 * HOUR + 1).unwrap();
    assert_eq!(deleted, ids[..2]);
    assert_eq!(block_dirs(dir.path()), vec![dir.path().join(&ids[2])]);
    assert_eq!(db.stats().retention_deleted_blocks, 2);
    let rest = T0 + 4 * HOUR;
    assert_eq!(
        select(&db, i64::MIN, i64::MAX),
        only_range(&expected, rest, i64::MAX)
    );
    // Maintain applies it too; nothing more is due yet.
    assert!(db
        .maintain(T0 + 6 * HOUR + 1)
        .unwrap()
        .retention_deleted
        .is_empty());
    assert_eq!(
        db.maintain(T0 + 8 * HOUR).unwrap().retention_deleted,
        ids[2..]
    );
}

#[test]
fn leftover_temporary_block_dirs_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join(".tmp-0000000000000000-0000000000000001-1");
    fs::create_dir_all(&tmp).unwrap();
    fs::write(tmp.join("chunks"), b"half").unwrap();
    let (_, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(report.removed_dirs, vec![tmp.clone()]);
    assert!(!tmp.exists());
}

#[test]
fn every_flipped_byte_of_a_block_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Expected::new();
    let options = DbOptions {
        block_range_ms: 60_000,
        ..no_compaction()
    };
    let (db, _) = Db::open(dir.path(), options.clone()).unwrap();
    fill(&db, &mut expected, 2, T0, T0 + 8 * STEP);
    assert_eq!(db.maintain(T0).unwrap().blocks_cut.len(), 1);
    drop(db);
    let block = block_dirs(dir.path()).remove(0);
    let name = block.file_name().unwrap().to_owned();
    for file in ["meta", "index", "chunks"] {
        let original = fs::read(block.join(file)).unwrap();
        for at in 0..original.len() {
            let work = tempfile::tempdir().unwrap();
            let copy = work.path().join(&name);
            fs::create_dir_all(&copy).unwrap();
            for f in ["meta", "index", "chunks"] {
                fs::copy(block.join(f), copy.join(f)).unwrap();
            }
            let mut bytes = original.clone();
            bytes[at] ^= 0x04;
            fs::write(copy.join(file), bytes).unwrap();
            let (_, report) = Db::open(work.path(), options.clone()).unwrap();
            assert_eq!(
                report.corrupt_blocks.len(),
                1,
                "{file} byte {at}: {report:?}"
            );
        }
    }
}
