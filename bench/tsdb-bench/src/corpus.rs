//! The realistic corpus: scrapes of real exporters, saved as text files
//! `SCRAPES/<job>/<N>.txt` (an optional `SCRAPES/<job>/instance` names the
//! target), become one OpenMetrics file in which scrape N is stamped
//! `t0 + N x interval`, series by series in label order.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use crate::expo;

/// A series' labels (`__name__` first) and its `(t ms, value)` samples.
pub type Series = (Vec<(String, String)>, Vec<(i64, f64)>);

/// Series by label set.
type BySeries = BTreeMap<Vec<(String, String)>, Vec<(i64, f64)>>;

pub struct Built {
    pub scrapes: usize,
    pub series: usize,
    pub samples: usize,
}

/// Builds the corpus from the scrape directory; writes it to `out`.
pub fn build(scrapes: &Path, t0_ms: i64, interval_ms: i64, out: &Path) -> anyhow::Result<Built> {
    let mut by_series = BySeries::new();
    let mut scrape_count = 0;
    for job_dir in sorted_entries(scrapes)? {
        if !job_dir.is_dir() {
            continue;
        }
        let job = file_name(&job_dir);
        let instance = std::fs::read_to_string(job_dir.join("instance"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| job.clone());
        for file in sorted_entries(&job_dir)? {
            let Some(n) = file
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<i64>().ok())
            else {
                continue;
            };
            let text = std::fs::read_to_string(&file)?;
            let lines = expo::parse(&text).with_context(|| format!("{}", file.display()))?;
            if lines.is_empty() {
                continue; // a failed scrape: a gap, as in Prometheus.
            }
            scrape_count += 1;
            let t = t0_ms + n * interval_ms;
            for line in lines {
                by_series
                    .entry(series_key(line.labels, &job, &instance))
                    .or_default()
                    .push((t, line.value));
            }
        }
    }
    let mut text = String::new();
    let mut samples = 0;
    for (labels, points) in &mut by_series {
        points.sort_by_key(|p| p.0);
        points.dedup_by_key(|p| p.0);
        samples += points.len();
        for &(t, v) in points.iter() {
            writeln!(text, "{}", expo::format_line(labels, v, t))?;
        }
    }
    text.push_str("# EOF\n");
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    Ok(Built {
        scrapes: scrape_count,
        series: by_series.len(),
        samples,
    })
}

/// Labels as Prometheus would store them: target labels `job` and
/// `instance` added (a scraped `job`/`instance` becomes `exported_*`),
/// empty values dropped, `__name__` first, the rest sorted.
fn series_key(labels: Vec<(String, String)>, job: &str, instance: &str) -> Vec<(String, String)> {
    let mut key: Vec<(String, String)> = labels
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(n, v)| match n.as_str() {
            "job" | "instance" => (format!("exported_{n}"), v),
            _ => (n, v),
        })
        .collect();
    key.push(("instance".into(), instance.into()));
    key.push(("job".into(), job.into()));
    key[1..].sort();
    key
}

/// Reads an OpenMetrics file written by [`build`] or the synthetic
/// generators: every line must carry a timestamp.
pub fn read(path: &Path) -> anyhow::Result<Vec<Series>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let mut by_series = BySeries::new();
    for line in expo::parse(&text)? {
        let t = line.t_ms.context("a corpus line without a timestamp")?;
        by_series
            .entry(line.labels)
            .or_default()
            .push((t, line.value));
    }
    Ok(by_series.into_iter().collect())
}

/// Writes series as OpenMetrics.
pub fn write(series: &[Series], path: &Path) -> anyhow::Result<()> {
    let mut text = String::new();
    for (labels, points) in series {
        for &(t, v) in points {
            writeln!(text, "{}", expo::format_line(labels, v, t))?;
        }
    }
    text.push_str("# EOF\n");
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Every sample as `(t, series index, value)`, in scrape order: all series
/// at t, then the next t.
pub fn scrape_order(series: &[Series]) -> Vec<(i64, usize, f64)> {
    let mut all: Vec<(i64, usize, f64)> = series
        .iter()
        .enumerate()
        .flat_map(|(i, (_, points))| points.iter().map(move |&(t, v)| (t, i, v)))
        .collect();
    all.sort_by_key(|&(t, i, _)| (t, i));
    all
}

fn sorted_entries(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("{}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort();
    Ok(entries)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
