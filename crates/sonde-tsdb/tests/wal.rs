//! The write-ahead log seen through `Db::open`: every appended sample
//! survives a drop without a clean close, and damaged segments are cut at
//! their last good record with the loss reported exactly.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sonde_tsdb::{
    AppendError, CorruptionReason, Db, DbOptions, Labels, Sample, STALE_NAN, STALE_NAN_BITS,
};

const T0: i64 = 1_700_000_000_000;

/// Samples by series, values as bits so NaNs compare exactly.
type Expected = BTreeMap<Labels, Vec<(i64, u64)>>;

fn series(i: usize) -> Labels {
    Labels::new([
        ("__name__", format!("m{}", i % 7)),
        ("instance", format!("host-{i}")),
        ("job", "wal".to_owned()),
    ])
    .unwrap()
}

/// Batch `b`: one sample of each of `n` series at `T0 + 15 s × b`.
fn batch(b: usize, n: usize) -> Vec<Sample> {
    (0..n)
        .map(|i| Sample {
            labels: series(i),
            t: T0 + 15_000 * b as i64,
            v: if (b + i).is_multiple_of(97) {
                STALE_NAN
            } else {
                (b * 1000 + i) as f64 * 0.5
            },
        })
        .collect()
}

fn record(expected: &mut Expected, samples: &[Sample]) {
    for s in samples {
        expected
            .entry(s.labels.clone())
            .or_default()
            .push((s.t, s.v.to_bits()));
    }
}

fn everything(db: &Db) -> Expected {
    db.select(&[], i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|(l, s)| (l, s.into_iter().map(|(t, v)| (t, v.to_bits())).collect()))
        .collect()
}

fn segment(dir: &Path, n: u32) -> PathBuf {
    dir.join("wal").join(format!("{n:08}"))
}

fn len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

fn flip_byte(path: &Path, at: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at as usize] ^= 0x5a;
    fs::write(path, bytes).unwrap();
}

#[test]
fn every_sample_is_back_after_a_drop_without_close() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Expected::new();
    {
        let (db, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
        assert!(report.is_clean());
        for b in 0..200 {
            let samples = batch(b, 50);
            let outcome = db.append_batch(&samples);
            assert_eq!(outcome.appended, 50);
            record(&mut expected, &samples);
        }
        db.append(&series(3), T0 + 15_000 * 200, 42.0).unwrap();
        expected
            .get_mut(&series(3))
            .unwrap()
            .push((T0 + 15_000 * 200, 42f64.to_bits()));
        // Dropped without sync or any close.
    }
    let (db, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.wal_samples, 200 * 50 + 1);
    assert_eq!(report.wal_series, 50);
    assert_eq!(report.wal_records, 200 + 1 + 1);
    assert_eq!(everything(&db), expected);
    let stale = everything(&db)[&series(0)]
        .iter()
        .filter(|(_, v)| *v == STALE_NAN_BITS)
        .count();
    assert_eq!(stale, 3, "staleness markers kept bit for bit");
    assert_eq!(db.head_stats().samples_appended, 200 * 50 + 1);
}

#[test]
fn a_torn_and_flipped_tail_is_cut_at_the_last_good_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Expected::new();
    let mut ends = Vec::new();
    {
        let (db, _) = Db::open(dir.path(), DbOptions::default()).unwrap();
        for b in 0..10 {
            let samples = batch(b, 20);
            db.append_batch(&samples);
            ends.push(len(&segment(dir.path(), 0)));
            if b < 8 {
                record(&mut expected, &samples);
            }
        }
    }
    let seg = segment(dir.path(), 0);
    // Batch 9 torn mid-record, a byte of batch 8's samples flipped.
    let torn_at = ends[9] - 3;
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(torn_at)
        .unwrap();
    flip_byte(&seg, ends[7] + 20);

    let (db, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(report.wal_corruptions.len(), 1, "{report:?}");
    let c = &report.wal_corruptions[0];
    assert_eq!(c.path, seg);
    assert_eq!(c.offset, ends[7]);
    assert_eq!(c.bytes_dropped, torn_at - ends[7]);
    assert_eq!(
        c.records_before,
        1 + 8,
        "series record and 8 sample records"
    );
    assert!(
        matches!(c.reason, CorruptionReason::BadCrc { .. }),
        "{:?}",
        c.reason
    );
    assert_eq!(report.wal_samples, 8 * 20);
    assert_eq!(
        len(&seg),
        ends[7],
        "segment truncated at the last good record"
    );
    assert_eq!(everything(&db), expected);
    assert_eq!(db.stats().wal_corruptions, 1);
    assert_eq!(db.stats().wal_bytes_dropped, torn_at - ends[7]);

    // Appends after the repair work and survive another reopen.
    for b in 8..12 {
        let samples = batch(b, 20);
        assert_eq!(db.append_batch(&samples).appended, 20);
        record(&mut expected, &samples);
    }
    drop(db);
    let (db, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.wal_segments, vec![0, 1]);
    assert_eq!(everything(&db), expected);
}

#[test]
fn a_torn_header_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let end;
    {
        let (db, _) = Db::open(dir.path(), DbOptions::default()).unwrap();
        db.append_batch(&batch(0, 5));
        end = len(&segment(dir.path(), 0));
    }
    let seg = segment(dir.path(), 0);
    let mut bytes = fs::read(&seg).unwrap();
    bytes.extend_from_slice(&[7, 0, 0]);
    fs::write(&seg, bytes).unwrap();
    let (db, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
    let c = &report.wal_corruptions[0];
    assert_eq!((c.offset, c.bytes_dropped), (end, 3));
    assert_eq!(c.reason, CorruptionReason::TornHeader { left: 3 });
    assert_eq!(db.head_stats().samples_appended, 5);
}

#[test]
fn corruption_in_a_middle_segment_keeps_the_intact_rest() {
    let dir = tempfile::tempdir().unwrap();
    let options = DbOptions {
        wal_segment_bytes: 1024,
        ..DbOptions::default()
    };
    // (segment, start, end, samples) of every batch.
    let mut placed: Vec<(u32, u64, u64, Vec<Sample>)> = Vec::new();
    {
        let (db, _) = Db::open(dir.path(), options.clone()).unwrap();
        for b in 0..60 {
            let samples = batch(b, 10);
            db.append_batch(&samples);
            let mut n = 0;
            while segment(dir.path(), n + 1).exists() {
                n += 1;
            }
            let end = len(&segment(dir.path(), n));
            let start = match placed.last() {
                Some(&(seg, _, prev_end, _)) if seg == n => prev_end,
                _ => 0,
            };
            placed.push((n, start, end, samples));
        }
    }
    let segments = placed.last().unwrap().0 + 1;
    assert!(segments >= 4, "{segments} segments");
    // Damage the third batch of segment 1.
    let (seg, start, _, _) = placed.iter().filter(|p| p.0 == 1).nth(2).unwrap().clone();
    flip_byte(&segment(dir.path(), seg), start + 12);
    let mut expected = Expected::new();
    let mut lost = 0;
    let mut in_seg1 = 0;
    for (s, _, _, samples) in &placed {
        if *s == 1 {
            in_seg1 += 1;
        }
        if *s == 1 && in_seg1 > 2 {
            lost += samples.len();
        } else {
            record(&mut expected, samples);
        }
    }
    let (db, report) = Db::open(dir.path(), options).unwrap();
    assert_eq!(report.wal_corruptions.len(), 1, "{report:?}");
    let c = &report.wal_corruptions[0];
    assert_eq!(c.path, segment(dir.path(), 1));
    assert_eq!(c.offset, start);
    assert_eq!(report.wal_segments.len() as u32, segments);
    assert_eq!(report.wal_samples as usize, 600 - lost);
    assert_eq!(everything(&db), expected);
}

#[test]
fn rejections_are_the_same_after_replay() {
    let dir = tempfile::tempdir().unwrap();
    let a = series(1);
    {
        let (db, _) = Db::open(dir.path(), DbOptions::default()).unwrap();
        db.append(&a, T0 + 10, 1.0).unwrap();
        assert!(matches!(
            db.append(&a, T0, 2.0),
            Err(AppendError::OutOfOrder { .. })
        ));
        db.append(&a, T0 + 10, 1.0).unwrap();
        assert!(db.append(&Labels::default(), T0, 1.0).is_err());
        db.append(&a, T0 + 20, 3.0).unwrap();
    }
    let (db, report) = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(
        report.wal_samples_rejected, 1,
        "the out-of-order sample, logged, rejected again"
    );
    let got = everything(&db);
    assert_eq!(
        got[&a],
        vec![(T0 + 10, 1f64.to_bits()), (T0 + 20, 3f64.to_bits())]
    );
}

#[test]
fn ingest_rate_with_the_wal() {
    let (series_count, per_series) = (10_000, 100);
    let labels: Vec<Labels> = (0..series_count)
        .map(|i| {
            Labels::new([
                ("__name__", "node_cpu_seconds_total".to_owned()),
                ("instance", format!("host-{}:9100", i % 100)),
                ("cpu", format!("{}", i / 100)),
            ])
            .unwrap()
        })
        .collect();
    let rounds: Vec<Vec<Sample>> = (0..per_series)
        .map(|round| {
            let t = T0 + 15_000 * round as i64;
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| Sample {
                    labels: l.clone(),
                    t,
                    v: (round * (i % 17 + 1)) as f64,
                })
                .collect()
        })
        .collect();
    let total = (series_count * per_series) as f64;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };

    let memory = Db::in_memory();
    let start = Instant::now();
    for round in &rounds {
        memory.append_batch(round);
    }
    let mem_rate = total / start.elapsed().as_secs_f64();

    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), DbOptions::default()).unwrap();
    let start = Instant::now();
    for round in &rounds {
        assert_eq!(db.append_batch(round).appended, series_count);
    }
    db.sync().unwrap();
    let wal_rate = total / start.elapsed().as_secs_f64();
    let stats = db.stats();
    println!(
        "ingest ({profile} build), batches of {series_count}: in memory {mem_rate:.0} samples/s, \
         with WAL {wal_rate:.0} samples/s ({:.2}x); WAL {} bytes = {:.2} bytes/sample",
        wal_rate / mem_rate,
        stats.wal_bytes,
        stats.wal_bytes as f64 / total,
    );
    assert_eq!(stats.head.samples_appended, total as u64);
}

#[test]
fn every_cut_and_every_flipped_byte_recovers_a_clean_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let batches: Vec<Vec<Sample>> = (0..4).map(|b| batch(b, 3)).collect();
    let mut ends = Vec::new();
    {
        let (db, _) = Db::open(dir.path(), DbOptions::default()).unwrap();
        for samples in &batches {
            db.append_batch(samples);
            ends.push(len(&segment(dir.path(), 0)));
        }
    }
    let original = fs::read(segment(dir.path(), 0)).unwrap();
    let prefix = |complete: usize| {
        let mut expected = Expected::new();
        for samples in &batches[..complete] {
            record(&mut expected, samples);
        }
        expected
    };
    for cut in 0..original.len() {
        for flip in [false, true] {
            let work = tempfile::tempdir().unwrap();
            fs::create_dir_all(work.path().join("wal")).unwrap();
            let mut bytes = original[..cut].to_vec();
            if flip && cut > 0 {
                bytes[cut - 1] ^= 0x01;
            }
            fs::write(segment(work.path(), 0), &bytes).unwrap();
            let (db, report) = Db::open(work.path(), DbOptions::default()).unwrap();
            // Batches wholly before the damage come back, nothing else.
            let damaged_at = if flip && cut > 0 { cut - 1 } else { cut };
            let complete = ends
                .iter()
                .filter(|&&end| end as usize <= damaged_at)
                .count();
            assert_eq!(everything(&db), prefix(complete), "cut {cut} flip {flip}");
            if flip && cut > 0 {
                assert_eq!(report.wal_corruptions.len(), 1, "cut {cut} flip {flip}");
            } else if cut == 0 || ends.contains(&(cut as u64)) {
                assert!(report.is_clean(), "cut {cut}");
            }
        }
    }
}
