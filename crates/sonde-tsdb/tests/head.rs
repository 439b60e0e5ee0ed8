//! The in-memory head: chunk cuts, inclusive time ranges, Prometheus's
//! out-of-order and duplicate rules with their counters, the staleness
//! marker, selection by matchers, and printed size and ingest numbers.

use std::time::Instant;

use sonde_tsdb::{
    is_stale, AppendError, ChunkMeta, Head, HeadStats, Labels, Matcher, SeriesSamples,
    SAMPLES_PER_CHUNK, STALE_NAN, STALE_NAN_BITS,
};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).expect("valid labels")
}

fn all(head: &Head) -> Vec<SeriesSamples> {
    head.select(&[], i64::MIN, i64::MAX).expect("chunks decode")
}

/// `n` samples 15 s apart from 2023-11-14, values from `value(i)`.
fn samples(n: usize, value: impl Fn(usize) -> f64) -> Vec<(i64, f64)> {
    (0..n)
        .map(|i| (1_700_000_000_000 + 15_000 * i as i64, value(i)))
        .collect()
}

fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

#[test]
fn appends_across_chunk_cuts_read_back_exactly() {
    let mut head = Head::new();
    let series = labels(&[("__name__", "x")]);
    // Varied values: integers, fractions, negatives, NaN, infinities.
    let written = samples(3 * 120 + 7, |i| match i % 7 {
        0 => i as f64,
        1 => -(i as f64) / 3.0,
        2 => f64::NAN,
        3 => f64::INFINITY,
        4 => 1e300 * i as f64,
        5 => 0.1 * i as f64,
        _ => -0.0,
    });
    let mut series_ref = None;
    for &(t, v) in &written {
        series_ref = Some(head.append(&series, t, v).expect("in order"));
    }
    let series_ref = series_ref.expect("appended");

    let read = all(&head);
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].0, series);
    assert_eq!(bits(&read[0].1), bits(&written));

    let metas = head.chunk_metas(series_ref);
    let expected: Vec<(i64, i64, u16)> = written
        .chunks(usize::from(SAMPLES_PER_CHUNK))
        .map(|c| (c[0].0, c[c.len() - 1].0, c.len() as u16))
        .collect();
    let got: Vec<(i64, i64, u16)> = metas
        .iter()
        .map(|m| (m.min_t, m.max_t, m.samples))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(SAMPLES_PER_CHUNK, 120);

    let stats = head.stats();
    assert_eq!(stats.series, 1);
    assert_eq!(stats.samples_appended, written.len() as u64);
    assert_eq!(stats.chunks, 4);
    let bytes: usize = metas.iter().map(|m: &ChunkMeta| m.bytes).sum();
    assert_eq!(stats.chunk_bytes, bytes as u64);
}

#[test]
fn range_boundaries_are_inclusive() {
    let mut head = Head::new();
    let series = labels(&[("__name__", "x")]);
    // 300 samples at t = 0, 10, ..., 2990: three chunks.
    for i in 0..300i64 {
        head.append(&series, i * 10, i as f64).expect("in order");
    }
    let range = |mint, maxt| -> Vec<i64> {
        head.select(&[], mint, maxt)
            .expect("chunks decode")
            .into_iter()
            .flat_map(|(_, s)| s.into_iter().map(|(t, _)| t))
            .collect()
    };
    assert_eq!(range(100, 130), [100, 110, 120, 130]);
    assert_eq!(range(101, 129), [110, 120]);
    // Exactly one chunk's span, its neighbours' edges, and across a cut.
    assert_eq!(range(1200, 2390).len(), 120);
    assert_eq!(range(1190, 1200), [1190, 1200]);
    assert_eq!(range(2390, 2390), [2390]);
    assert_eq!(range(2990, i64::MAX), [2990]);
    assert_eq!(range(i64::MIN, 0), [0]);
    // Nothing in range: the series is left out.
    assert_eq!(range(3000, 4000), Vec::<i64>::new());
    assert_eq!(range(-10, -1), Vec::<i64>::new());
    assert_eq!(range(105, 109), Vec::<i64>::new());
    assert_eq!(range(130, 100), Vec::<i64>::new());
    assert!(head.select(&[], 3000, 4000).expect("decode").is_empty());
}

#[test]
fn out_of_order_and_duplicates_follow_prometheus() {
    let mut head = Head::new();
    let series = labels(&[("__name__", "x")]);
    head.append(&series, 1000, 1.0).expect("first");
    head.append(&series, 2000, 2.0).expect("later");

    assert_eq!(
        head.append(&series, 1500, 9.0),
        Err(AppendError::OutOfOrder {
            t: 1500,
            last_t: 2000
        })
    );
    assert_eq!(
        head.append(&series, 1000, 1.0),
        Err(AppendError::OutOfOrder {
            t: 1000,
            last_t: 2000
        })
    );
    // Same timestamp, same bits: accepted, nothing stored.
    assert_eq!(head.append(&series, 2000, 2.0), Ok(0));
    assert_eq!(head.append(&series, 2000, 2.0), Ok(0));
    // Same timestamp, other bits (even -0.0 against 0.0, or another NaN).
    assert_eq!(
        head.append(&series, 2000, 2.5),
        Err(AppendError::DuplicateTimestamp { t: 2000 })
    );
    head.append(&series, 3000, 0.0).expect("later");
    assert_eq!(
        head.append(&series, 3000, -0.0),
        Err(AppendError::DuplicateTimestamp { t: 3000 })
    );
    head.append(&series, 4000, f64::NAN).expect("later");
    assert_eq!(
        head.append(&series, 4000, STALE_NAN),
        Err(AppendError::DuplicateTimestamp { t: 4000 })
    );
    assert_eq!(head.append(&series, 4000, f64::NAN), Ok(0));
    // An empty label set is no series.
    assert_eq!(
        head.append(&labels(&[]), 5000, 1.0),
        Err(AppendError::EmptyLabels)
    );
    // The rejects changed nothing.
    head.append(&series, 5000, 5.0).expect("later");

    let read = all(&head);
    assert_eq!(
        bits(&read[0].1),
        bits(&[
            (1000, 1.0),
            (2000, 2.0),
            (3000, 0.0),
            (4000, f64::NAN),
            (5000, 5.0)
        ])
    );
    let stats = head.stats();
    assert_eq!(
        stats,
        HeadStats {
            series: 1,
            samples_appended: 5,
            out_of_order: 2,
            duplicates: 3,
            duplicate_conflicts: 3,
            other_rejected: 1,
            chunks: 1,
            chunk_bytes: stats.chunk_bytes,
        }
    );
    // Ordering is per series: another series may go back in time.
    let other = labels(&[("__name__", "y")]);
    assert_eq!(head.append(&other, 0, 1.0), Ok(1));
}

#[test]
fn staleness_marker_round_trips_by_bits() {
    assert_eq!(STALE_NAN.to_bits(), 0x7ff0_0000_0000_0002);
    assert_eq!(STALE_NAN_BITS, 0x7ff0_0000_0000_0002);
    assert!(is_stale(STALE_NAN));
    assert!(!is_stale(f64::NAN));
    assert!(!is_stale(1.0));

    let mut head = Head::new();
    let series = labels(&[("__name__", "x")]);
    // Markers at the start, in the middle, twice in a row, across a cut
    // and at the end, between ordinary NaNs and numbers.
    let written = samples(250, |i| match i {
        0 | 7 | 8 | 119 | 120 | 249 => STALE_NAN,
        i if i % 5 == 0 => f64::NAN,
        i => i as f64,
    });
    for &(t, v) in &written {
        head.append(&series, t, v).expect("in order");
    }
    let read = all(&head);
    assert_eq!(bits(&read[0].1), bits(&written));
    let stale: Vec<usize> = read[0]
        .1
        .iter()
        .enumerate()
        .filter(|(_, &(_, v))| is_stale(v))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(stale, [0, 7, 8, 119, 120, 249]);
    // The marker repeated at its own timestamp is a duplicate.
    let last_t = written[249].0;
    head.append(&series, last_t, STALE_NAN).expect("duplicate");
    assert_eq!(head.stats().duplicates, 1);
}

#[test]
fn select_by_matchers_over_several_series() {
    let mut head = Head::new();
    let series = [
        labels(&[("__name__", "up"), ("job", "web"), ("instance", "b")]),
        labels(&[("__name__", "up"), ("job", "api"), ("instance", "a")]),
        labels(&[("__name__", "up"), ("job", "db")]),
        labels(&[("__name__", "http_requests_total"), ("job", "api")]),
    ];
    // Series k gets samples at t = 0..10 with value 100k + t; "db" only
    // up to t = 4.
    for t in 0..10i64 {
        for (k, s) in series.iter().enumerate() {
            if k == 2 && t > 4 {
                continue;
            }
            head.append(s, t, (100 * k as i64 + t) as f64)
                .expect("in order");
        }
    }
    let names = |matchers: &[Matcher], mint, maxt| -> Vec<(String, usize)> {
        head.select(matchers, mint, maxt)
            .expect("chunks decode")
            .into_iter()
            .map(|(l, s)| {
                let id = format!(
                    "{}/{}",
                    l.metric_name().unwrap_or(""),
                    l.get("job").unwrap_or("")
                );
                (id, s.len())
            })
            .collect()
    };
    let up = Matcher::eq("__name__", "up");
    // Sorted by labels: __name__ first, then instance, then job.
    assert_eq!(
        names(std::slice::from_ref(&up), 0, 9),
        [
            ("up/api".to_owned(), 10),
            ("up/web".to_owned(), 10),
            ("up/db".to_owned(), 5)
        ]
    );
    assert_eq!(
        names(&[Matcher::eq("job", "api")], 0, 9),
        [
            ("http_requests_total/api".to_owned(), 10),
            ("up/api".to_owned(), 10)
        ]
    );
    let not_api = Matcher::nre("job", "api|web").expect("valid regex");
    assert_eq!(
        names(&[up.clone(), not_api], 0, 9),
        [("up/db".to_owned(), 5)]
    );
    // "db" has nothing after t = 4, so it drops out of a later range.
    assert_eq!(
        names(std::slice::from_ref(&up), 5, 9),
        [("up/api".to_owned(), 5), ("up/web".to_owned(), 5)]
    );
    // A label absent from a series matches the empty value.
    assert_eq!(
        names(&[up, Matcher::eq("instance", "")], 0, 9),
        [("up/db".to_owned(), 5)]
    );
    assert!(names(&[Matcher::eq("job", "none")], 0, 9).is_empty());

    let selected = head
        .select(&[Matcher::eq("job", "web")], 3, 5)
        .expect("chunks decode");
    assert_eq!(
        selected,
        [(series[0].clone(), vec![(3, 3.0), (4, 4.0), (5, 5.0)])]
    );

    assert_eq!(
        head.label_names().collect::<Vec<_>>(),
        ["__name__", "instance", "job"]
    );
    assert_eq!(
        head.label_values("job").collect::<Vec<_>>(),
        ["api", "db", "web"]
    );
    assert_eq!(head.label_values("nope").count(), 0);
}

#[test]
fn bytes_per_sample_of_constant_and_counter() {
    let n = 12_000;
    let mut constant = Head::new();
    let mut counter = Head::new();
    let c = labels(&[("__name__", "constant")]);
    let k = labels(&[("__name__", "requests_total")]);
    for (i, &(t, _)) in samples(n, |_| 0.0).iter().enumerate() {
        constant.append(&c, t, 42.0).expect("in order");
        // A counter growing by irregular integer steps.
        let v = (i * 7 + (i * i) % 13) as f64;
        counter.append(&k, t, v).expect("in order");
    }
    let (cs, ks) = (constant.stats(), counter.stats());
    assert_eq!(
        (cs.samples_appended, ks.samples_appended),
        (n as u64, n as u64)
    );
    assert_eq!((cs.chunks, ks.chunks), (100, 100));
    let cb = cs.bytes_per_sample().expect("samples");
    let kb = ks.bytes_per_sample().expect("samples");
    println!(
        "constant series: {} bytes / {n} samples = {cb:.3} bytes/sample",
        cs.chunk_bytes
    );
    println!(
        "counter series:  {} bytes / {n} samples = {kb:.3} bytes/sample",
        ks.chunk_bytes
    );
    // A constant regular series costs two bits a sample after the first.
    assert!(cb < 0.5, "constant: {cb} bytes/sample");
    assert!(cb < kb);
    assert_eq!(Head::new().stats().bytes_per_sample(), None);
}

#[test]
fn ingest_rate_10k_series_by_100_samples() {
    let (series_count, per_series) = (10_000, 100);
    let series: Vec<Labels> = (0..series_count)
        .map(|i| {
            let instance = format!("host-{}:9100", i % 100);
            let cpu = format!("{}", i / 100);
            labels(&[
                ("__name__", "node_cpu_seconds_total"),
                ("instance", instance.as_str()),
                ("cpu", cpu.as_str()),
            ])
        })
        .collect();
    let mut head = Head::new();
    let start = Instant::now();
    // As scrapes arrive: every series once per 15 s round.
    for round in 0..per_series {
        let t = 1_700_000_000_000 + 15_000 * round as i64;
        for (i, s) in series.iter().enumerate() {
            head.append(s, t, (round * (i % 17 + 1)) as f64)
                .expect("in order");
        }
    }
    let elapsed = start.elapsed();
    let stats = head.stats();
    let total = (series_count * per_series) as u64;
    assert_eq!(stats.series, series_count);
    assert_eq!(stats.samples_appended, total);
    assert_eq!(stats.chunks, series_count as u64);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "ingest ({profile} build): {total} samples into {series_count} series in {:.3} s = {:.0} samples/s, {:.3} bytes/sample",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        stats.bytes_per_sample().unwrap_or(0.0),
    );
}
