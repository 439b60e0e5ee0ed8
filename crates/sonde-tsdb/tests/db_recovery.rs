//! Crashes in the middle of `Db::maintain`, simulated by putting back the
//! files a step had already replaced, and appends racing `maintain`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::thread;

use sonde_tsdb::{Db, DbOptions, Labels, Sample};

/// A multiple of 6 h.
const T0: i64 = 1_699_984_800_000;
const HOUR: i64 = 3_600_000;
const STEP: i64 = 15_000;

type Expected = BTreeMap<Labels, Vec<(i64, u64)>>;

fn series(i: usize) -> Labels {
    Labels::new([("__name__", "up"), ("instance", &format!("host-{i}"))]).unwrap()
}

fn fill(db: &Db, expected: &mut Expected, n: usize, from: i64, to: i64) {
    let mut t = from;
    while t < to {
        let samples: Vec<Sample> = (0..n)
            .map(|i| Sample {
                labels: series(i),
                t,
                v: (t - T0) as f64 / 1000.0 + i as f64,
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

fn everything(db: &Db) -> Expected {
    db.select(&[], i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|(l, s)| (l, s.into_iter().map(|(t, v)| (t, v.to_bits())).collect()))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_crash_after_writing_a_block_but_before_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let saved = tempfile::tempdir().unwrap();
    let mut expected = Expected::new();
    let (db, _) = Db::open(dir.path(), DbOptions::default()).unwrap();
    fill(&db, &mut expected, 8, T0, T0 + 4 * HOUR);
    copy_dir(&dir.path().join("wal"), saved.path());
    assert_eq!(db.maintain(T0).unwrap().blocks_cut.len(), 1);
    drop(db);
    // As if the process died right after the block's rename.
    fs::remove_dir_all(dir.path().join("wal")).unwrap();
    copy_dir(saved.path(), &dir.path().join("wal"));

    let (db, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.wal_samples, 8 * 960);
    assert_eq!(report.wal_samples_in_blocks, 8 * 480);
    assert_eq!(everything(&db), expected, "no sample twice, none lost");
    fill(
        &db,
        &mut expected,
        8,
        T0 + 4 * HOUR,
        T0 + 5 * HOUR + 2 * STEP,
    );
    assert_eq!(db.maintain(T0).unwrap().blocks_cut.len(), 1);
    assert_eq!(everything(&db), expected);
}

#[test]
fn a_crash_after_compaction_but_before_deleting_its_sources() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Expected::new();
    let no_compaction = DbOptions {
        compaction_levels: 1,
        ..DbOptions::default()
    };
    let (db, _) = Db::open(dir.path(), no_compaction).unwrap();
    fill(&db, &mut expected, 4, T0, T0 + 7 * HOUR + HOUR / 2);
    db.maintain(T0).unwrap();
    let source = db.blocks()[1].id.clone();
    drop(db);
    let saved = tempfile::tempdir().unwrap();
    copy_dir(&dir.path().join(&source), saved.path());

    let (db, _) = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(db.maintain(T0).unwrap().compacted.len(), 1);
    drop(db);
    // As if the process died before deleting the second source.
    copy_dir(saved.path(), &dir.path().join(&source));

    let (db, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(report.removed_dirs, vec![dir.path().join(&source)]);
    assert_eq!(report.blocks_loaded.len(), 1);
    assert_eq!(everything(&db), expected);
}

#[test]
fn appends_racing_maintain_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), DbOptions::default()).unwrap();
    let db = Arc::new(db);
    let mut expected = Expected::new();
    fill(&db, &mut expected, 20, T0, T0 + 6 * HOUR);
    let writer = {
        let db = Arc::clone(&db);
        thread::spawn(move || {
            let mut more = Expected::new();
            fill(&db, &mut more, 20, T0 + 6 * HOUR, T0 + 12 * HOUR);
            more
        })
    };
    let mut cut = 0;
    for _ in 0..50 {
        cut += db.maintain(T0).unwrap().blocks_cut.len();
    }
    for (labels, samples) in writer.join().unwrap() {
        expected.entry(labels).or_default().extend(samples);
    }
    cut += db.maintain(T0).unwrap().blocks_cut.len();
    assert_eq!(
        cut, 5,
        "12 h of data: five 2 h blocks cut, under 2 h left in the head"
    );
    assert_eq!(everything(&db), expected);
    let db = Arc::into_inner(db).unwrap();
    drop(db);
    let (db, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(everything(&db), expected);
}

#[test]
fn utf8_label_names_survive_wal_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let labels = Labels::new_utf8([("__name__", "http.requests"), ("http.method", "GET")]).unwrap();
    let options = DbOptions {
        wal_sync: sonde_tsdb::WalSync::EveryBatch,
        ..DbOptions::default()
    };
    let (db, _) = Db::open(dir.path(), options.clone()).unwrap();
    let mut t = T0;
    while t <= T0 + 3 * HOUR + STEP {
        db.append(&labels, t, 1.0).unwrap();
        t += STEP;
    }
    assert_eq!(db.maintain(T0).unwrap().blocks_cut.len(), 1);
    drop(db);
    let (db, report) = Db::open(dir.path(), options).unwrap();
    assert!(report.is_clean(), "{report:?}");
    let got = db.select(&[], i64::MIN, i64::MAX).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, labels);
    assert_eq!(got[0].1.len(), 4 * 180 + 2);
    assert_eq!(
        db.label_names(&[], T0, T0).unwrap(),
        ["__name__", "http.method"]
    );
}

#[test]
fn a_failed_wal_write_rejects_the_batch_and_undoes_its_series() {
    let dir = tempfile::tempdir().unwrap();
    // Every batch after the first starts a new segment.
    let options = DbOptions {
        wal_segment_bytes: 1,
        ..DbOptions::default()
    };
    let (db, _) = Db::open(dir.path(), options.clone()).unwrap();
    let sample = |i: usize, t: i64| Sample {
        labels: series(i),
        t,
        v: 1.0,
    };
    assert_eq!(db.append_batch(&[sample(0, T0)]).appended, 1);
    fs::remove_dir_all(dir.path().join("wal")).unwrap();
    let outcome = db.append_batch(&[sample(0, T0 + STEP), sample(1, T0 + STEP)]);
    assert_eq!(outcome.appended, 0);
    assert_eq!(outcome.rejected.len(), 2);
    assert!(matches!(
        outcome.rejected[1].1,
        sonde_tsdb::AppendError::Wal(_)
    ));
    assert_eq!(db.stats().wal_write_errors, 1);
    assert_eq!(db.head_stats().series, 1, "series 1 was rolled back");
    assert_eq!(db.head_stats().other_rejected, 2);

    fs::create_dir_all(dir.path().join("wal")).unwrap();
    let outcome = db.append_batch(&[sample(0, T0 + 2 * STEP), sample(1, T0 + 2 * STEP)]);
    assert_eq!(outcome.appended, 2);
    drop(db);
    let (db, report) = Db::open(dir.path(), options).unwrap();
    // Series 0's record went with the deleted segment; series 1 was logged again.
    assert_eq!(report.wal_unknown_series_samples, 1);
    assert_eq!(report.wal_samples, 1);
    let got = everything(&db);
    assert_eq!(got[&series(1)], vec![(T0 + 2 * STEP, 1f64.to_bits())]);
}
