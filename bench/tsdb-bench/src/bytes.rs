//! Bytes per sample: the same samples through promtool (Prometheus's own
//! block writer) and through sonde's `Db`, one table.

use std::path::Path;

use anyhow::{bail, Context};
use sonde_tsdb::{Db, HeadStats, Labels};

use crate::corpus::{self, Series};
use crate::disk::{self, SondeDisk};
use crate::promblock::{self, BlockStats};
use crate::rng::Rng;

/// Samples per synthetic series: one 2 h block at a 15 s interval, four
/// chunks of 120 in both stores.
const SYNTH_SAMPLES: i64 = 480;
const SYNTH_SERIES: usize = 1000;

pub struct Row {
    pub case: String,
    pub prom: BlockStats,
    pub sonde: HeadStats,
    pub disk: SondeDisk,
}

/// The synthetic cases, `t0_ms + k x 15 s`.
pub fn synthetic(case: &str, t0_ms: i64) -> Vec<Series> {
    let mut rng = Rng::new(0x5eed ^ case.len() as u64);
    (0..SYNTH_SERIES)
        .map(|i| {
            let labels = vec![
                ("__name__".to_string(), format!("synth_{case}")),
                ("instance".to_string(), format!("host-{}:9100", i / 10)),
                ("job".to_string(), "synth".to_string()),
                ("shard".to_string(), (i % 10).to_string()),
            ];
            let mut total = 0.0;
            let points = (0..SYNTH_SAMPLES)
                .map(|k| {
                    let v = match case {
                        "constant" => i as f64 * 1.5,
                        "counter" => {
                            total += rng.below(1000) as f64;
                            total
                        }
                        _ => rng.finite_f64(),
                    };
                    (t0_ms + k * 15_000, v)
                })
                .collect();
            (labels, points)
        })
        .collect()
}

/// Loads `series` into a fresh in-memory Db in scrape order.
pub fn load(series: &[Series]) -> anyhow::Result<Db> {
    let db = Db::in_memory();
    let labels: Vec<Labels> = series
        .iter()
        .map(|(pairs, _)| Labels::new(pairs.iter().cloned()))
        .collect::<Result<_, _>>()?;
    for (t, i, v) in corpus::scrape_order(series) {
        db.append(&labels[i], t, v)
            .with_context(|| format!("appending {:?} at {t}", labels[i]))?;
    }
    Ok(db)
}

/// One case: `input` (OpenMetrics) through promtool into `blocks`, and
/// `series` (the same samples) into sonde.
pub fn measure(
    case: &str,
    promtool: &Path,
    input: &Path,
    blocks: &Path,
    series: &[Series],
) -> anyhow::Result<Row> {
    promblock::create_blocks(promtool, input, blocks)?;
    let prom = promblock::stats(blocks)?;
    let sonde = load(series)?.head_stats();
    if prom.samples != sonde.samples_appended {
        bail!(
            "{case}: Prometheus stored {} samples, sonde {}",
            prom.samples,
            sonde.samples_appended
        );
    }
    let disk = disk::measure(series)?;
    Ok(Row {
        case: case.to_string(),
        prom,
        sonde,
        disk,
    })
}

pub fn print_table(rows: &[Row]) {
    println!(
        "-- in memory: chunk data (2-byte sample count + XOR bits); ratio = sonde / Prometheus"
    );
    println!(
        "{:<10} {:>7} {:>9} {:>7} {:>7} {:>10} {:>10} {:>7}",
        "corpus", "series", "samples", "chunks", "chunks", "prom", "sonde", "ratio"
    );
    println!(
        "{:<10} {:>7} {:>9} {:>7} {:>7} {:>10} {:>10} {:>7}",
        "", "", "", "prom", "sonde", "B/sample", "B/sample", ""
    );
    for r in rows {
        let per = |bytes: u64| bytes as f64 / r.prom.samples.max(1) as f64;
        println!(
            "{:<10} {:>7} {:>9} {:>7} {:>7} {:>10.3} {:>10.3} {:>7.3}",
            r.case,
            r.sonde.series,
            r.prom.samples,
            r.prom.chunks,
            r.sonde.chunks,
            per(r.prom.chunk_data_bytes),
            per(r.sonde.chunk_bytes),
            r.sonde.chunk_bytes as f64 / r.prom.chunk_data_bytes as f64,
        );
    }
    println!();
    println!("-- on disk, B/sample: blocks' chunk files as stored (framing included) and chunks + index;");
    println!(
        "   sonde's WAL after the appends (Prometheus's WAL: not measured, promtool writes none)"
    );
    println!(
        "{:<10} {:>6} {:>6} | {:>10} {:>10} | {:>10} {:>10} | {:>7} {:>7} | {:>9}",
        "corpus", "blocks", "blocks", "prom", "prom", "sonde", "sonde", "ratio", "ratio", "sonde"
    );
    println!(
        "{:<10} {:>6} {:>6} | {:>10} {:>10} | {:>10} {:>10} | {:>7} {:>7} | {:>9}",
        "",
        "prom",
        "sonde",
        "chunks",
        "chk+index",
        "chunks",
        "chk+index",
        "chunks",
        "chk+idx",
        "WAL"
    );
    for r in rows {
        let per = |bytes: u64| bytes as f64 / r.prom.samples.max(1) as f64;
        let sonde_block = r.disk.chunk_file_bytes + r.disk.index_bytes;
        println!(
            "{:<10} {:>6} {:>6} | {:>10.3} {:>10.3} | {:>10.3} {:>10.3} | {:>7.3} {:>7.3} | {:>9.3}",
            r.case,
            r.prom.blocks,
            r.disk.blocks,
            per(r.prom.chunk_file_bytes),
            per(r.prom.block_bytes()),
            per(r.disk.chunk_file_bytes),
            per(sonde_block),
            r.disk.chunk_file_bytes as f64 / r.prom.chunk_file_bytes as f64,
            sonde_block as f64 / r.prom.block_bytes() as f64,
            per(r.disk.wal_bytes),
        );
    }
    println!();
    for r in rows {
        if r.prom.chunk_data_bytes == r.sonde.chunk_bytes && r.prom.chunks == r.sonde.chunks {
            println!("{}: same chunk count and chunk data bytes in both", r.case);
        } else {
            println!(
                "{}: chunks differ: Prometheus {} chunks / {} data bytes in {} block(s), sonde {} / {}",
                r.case,
                r.prom.chunks,
                r.prom.chunk_data_bytes,
                r.prom.blocks,
                r.sonde.chunks,
                r.sonde.chunk_bytes
            );
            let sizes: Vec<String> = r
                .prom
                .chunks_by_samples
                .iter()
                .rev()
                .map(|(samples, n)| format!("{n}x{samples}"))
                .collect();
            println!(
                "  Prometheus's chunks by sample count: {} (its head predicts a chunk's end time \
                 toward the 2 h range's end, so series that start mid-range get chunks of \
                 other than 120; sonde cuts every 120)",
                sizes.join(" ")
            );
        }
    }
}
