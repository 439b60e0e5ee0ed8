//! Head-append ingest rate: one thread appends S series x N samples in
//! scrape order (all series at t, then t + 15 s), with `Db::append` one
//! sample at a time and with `Db::append_batch` one scrape at a time.
//! Values are counters with random increments; only the append calls are
//! timed (thread CPU time and wall time). The `+wal` modes append to
//! `Db::open` in a temporary directory (WAL written, no fsync per batch:
//! the default), the others to `Db::in_memory`.

use std::time::Instant;

use anyhow::bail;
use sonde_tsdb::{Db, DbOptions, HeadStats, Labels, Sample};

use crate::rng::Rng;

pub struct Result {
    pub mode: &'static str,
    pub samples: u64,
    pub cpu_s: f64,
    pub wall_s: f64,
    pub stats: HeadStats,
    pub wal_bytes: u64,
}

fn series_labels(series: usize) -> anyhow::Result<Vec<Labels>> {
    (0..series)
        .map(|i| {
            Ok(Labels::new([
                ("__name__", format!("bench_metric_{}", i % 100)),
                ("instance", format!("host-{}:9100", i / 100)),
                ("job", "node".to_string()),
                ("device", format!("dev{}", i % 7)),
            ])?)
        })
        .collect()
}

/// This thread's CPU time in seconds.
fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

pub fn run(mode: &'static str, series: usize, samples: usize) -> anyhow::Result<Result> {
    let labels = series_labels(series)?;
    let mut rng = Rng::new(42);
    let mut values = vec![0.0f64; series];
    let mut batch: Vec<Sample> = labels
        .iter()
        .map(|l| Sample {
            labels: l.clone(),
            t: 0,
            v: 0.0,
        })
        .collect();
    let dir = tempfile::tempdir()?;
    let db = if mode.ends_with("+wal") {
        Db::open(dir.path(), DbOptions::default())?.0
    } else {
        Db::in_memory()
    };
    let (mut cpu_s, mut wall_s) = (0.0, 0.0);
    let t0 = 1_700_000_000_000i64;
    for k in 0..samples {
        let t = t0 + k as i64 * 15_000;
        for v in &mut values {
            *v += rng.below(100) as f64;
        }
        let (cpu0, wall0) = (thread_cpu_s(), Instant::now());
        match mode.trim_end_matches("+wal") {
            "append" => {
                for (l, &v) in labels.iter().zip(&values) {
                    db.append(l, t, v)?;
                }
            }
            _ => {
                for (s, &v) in batch.iter_mut().zip(&values) {
                    s.t = t;
                    s.v = v;
                }
                let outcome = db.append_batch(&batch);
                if !outcome.rejected.is_empty() {
                    bail!("append_batch rejected {:?}", outcome.rejected[0]);
                }
            }
        }
        cpu_s += thread_cpu_s() - cpu0;
        wall_s += wall0.elapsed().as_secs_f64();
    }
    let stats = db.stats();
    Ok(Result {
        mode,
        samples: (series * samples) as u64,
        cpu_s,
        wall_s,
        stats: stats.head,
        wal_bytes: stats.wal_bytes,
    })
}

pub fn print_table(results: &[Result]) {
    println!(
        "{:<17} {:>10} {:>8} {:>8} {:>14} {:>14} {:>9} {:>9} {:>9}",
        "mode",
        "samples",
        "cpu s",
        "wall s",
        "samples/cpu-s",
        "samples/wall-s",
        "ns/sample",
        "B/sample",
        "WAL B/s"
    );
    for r in results {
        let n = r.samples as f64;
        println!(
            "{:<17} {:>10} {:>8.3} {:>8.3} {:>14.0} {:>14.0} {:>9.1} {:>9.3} {:>9.3}",
            r.mode,
            r.samples,
            r.cpu_s,
            r.wall_s,
            n / r.cpu_s,
            n / r.wall_s,
            r.cpu_s * 1e9 / n,
            r.stats.bytes_per_sample().unwrap_or(0.0),
            r.wal_bytes as f64 / n
        );
    }
}
