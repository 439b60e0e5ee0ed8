//! Query latency: the same PromQL over HTTP to sonde and to Prometheus,
//! alternating, each timed at the client (a new connection per query, see
//! `http.rs`); answers compared.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{anyhow, Context};
use serde_json::Value;

use crate::http;

/// `(name, range?, expr)` over the realistic corpus (jobs `node` and
/// `prometheus`). Evaluation times are kept off the 15 s sample grid (see
/// [`run`]), and so is the subquery's inner range (`offset 7s`; subquery
/// steps are aligned to the epoch): Debian's Prometheus 2.42 selects
/// `[t - range, t]`, Prometheus 3 and sonde the left-open `(t - range, t]`,
/// which differ only when a sample sits exactly on `t - range`.
pub const QUERIES: &[(&str, bool, &str)] = &[
    ("selector", false, "node_cpu_seconds_total"),
    (
        "sum_rate",
        false,
        "sum by (mode) (rate(node_cpu_seconds_total[5m]))",
    ),
    ("topk_regex", false, "topk(5, {__name__=~\"node_memory_.*_bytes\"})"),
    (
        "hist_quantile",
        false,
        "histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[5m])))",
    ),
    (
        "binop_on",
        false,
        "sum by (instance) (rate(node_cpu_seconds_total{mode!=\"idle\"}[5m])) / on(instance) count by (instance) (node_cpu_seconds_total{mode=\"idle\"})",
    ),
    (
        "subquery",
        false,
        "max_over_time(rate(node_cpu_seconds_total[1m] offset 7s)[10m:30s])",
    ),
    ("count_all", false, "count by (job) ({__name__=~\".+\"})"),
    ("avg_over_time", false, "avg_over_time(node_load1[15m])"),
    (
        "range_sum_rate",
        true,
        "sum by (mode) (rate(node_cpu_seconds_total[5m]))",
    ),
    (
        "range_hist_q",
        true,
        "histogram_quantile(0.99, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[5m])))",
    ),
    (
        "range_filesys",
        true,
        "node_filesystem_avail_bytes / on(instance, device, mountpoint) node_filesystem_size_bytes",
    ),
];

pub struct Server {
    pub name: &'static str,
    /// `host:port`.
    addr: String,
}

impl Server {
    /// `base` is `http://host:port`.
    pub fn new(name: &'static str, base: &str) -> Self {
        let addr = base.trim_start_matches("http://").trim_end_matches('/');
        Server {
            name,
            addr: addr.to_string(),
        }
    }

    /// One query; its latency and parsed JSON body.
    fn query(&self, range: bool, expr: &str, span: (i64, i64)) -> anyhow::Result<(f64, Value)> {
        let secs = |ms: i64| format!("{}.{:03}", ms / 1000, ms % 1000);
        let target = if range {
            format!(
                "/api/v1/query_range?query={}&start={}&end={}&step=15",
                http::encode(expr),
                secs(span.0),
                secs(span.1)
            )
        } else {
            format!(
                "/api/v1/query?query={}&time={}",
                http::encode(expr),
                secs(span.1)
            )
        };
        let start = Instant::now();
        let body =
            http::get(&self.addr, &target).with_context(|| format!("{}: {expr}", self.name))?;
        let elapsed = start.elapsed().as_secs_f64();
        let json = serde_json::from_str(&body)
            .with_context(|| format!("{}: not JSON: {}", self.name, truncate(&body)))?;
        Ok((elapsed, json))
    }
}

fn truncate(s: &str) -> &str {
    &s[..s.char_indices().nth(200).map_or(s.len(), |(i, _)| i)]
}

pub struct Outcome {
    pub name: &'static str,
    /// Latencies in seconds per server, or the error.
    pub times: Vec<Result<Vec<f64>, String>>,
    pub check: String,
}

/// Runs every query `reps` times on each server (after one warm-up).
/// Instant queries are evaluated at `span.1`, range queries from `span.0`
/// to `span.1` every 15 s.
pub fn run(servers: &[Server], span: (i64, i64), reps: usize) -> Vec<Outcome> {
    QUERIES
        .iter()
        .map(|&(name, range, expr)| {
            let mut times: Vec<Result<Vec<f64>, String>> = vec![Ok(Vec::new()); servers.len()];
            let mut answers: Vec<Option<Value>> = vec![None; servers.len()];
            for rep in 0..=reps {
                for (i, server) in servers.iter().enumerate() {
                    let Ok(list) = &mut times[i] else { continue };
                    match server.query(range, expr, span).and_then(check_status) {
                        Ok((t, json)) => {
                            if rep > 0 {
                                list.push(t);
                            }
                            answers[i].get_or_insert(json);
                        }
                        Err(e) => times[i] = Err(format!("{e:#}")),
                    }
                }
            }
            let check = match (&answers[0], answers.get(1).and_then(Option::as_ref)) {
                (Some(a), Some(b)) => compare(a, b),
                _ => "not compared".into(),
            };
            Outcome { name, times, check }
        })
        .collect()
}

fn check_status((t, json): (f64, Value)) -> anyhow::Result<(f64, Value)> {
    if json["status"] != "success" {
        return Err(anyhow!(
            "{}: {}",
            json["errorType"].as_str().unwrap_or("error"),
            json["error"].as_str().unwrap_or("")
        ));
    }
    Ok((t, json))
}

/// Series label set (canonical JSON) -> (t, value) points.
type Answer = BTreeMap<String, Vec<(f64, f64)>>;

fn normalize(json: &Value) -> Answer {
    let data = &json["data"];
    let point = |p: &Value| {
        (
            p[0].as_f64().unwrap_or(f64::NAN),
            p[1].as_str().and_then(parse_go_float).unwrap_or(f64::NAN),
        )
    };
    let mut out = Answer::new();
    match data["resultType"].as_str() {
        Some("scalar") | Some("string") => {
            out.insert("{}".into(), vec![point(&data["result"])]);
        }
        _ => {
            for series in data["result"].as_array().into_iter().flatten() {
                let metric: BTreeMap<String, String> =
                    serde_json::from_value(series["metric"].clone()).unwrap_or_default();
                let key = serde_json::to_string(&metric).unwrap_or_default();
                let points = match series["values"].as_array() {
                    Some(values) => values.iter().map(point).collect(),
                    None => vec![point(&series["value"])],
                };
                out.insert(key, points);
            }
        }
    }
    out
}

fn parse_go_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// "same" or what differs, first server against the second.
fn compare(a: &Value, b: &Value) -> String {
    let (a, b) = (normalize(a), normalize(b));
    if a.len() != b.len() {
        return format!("DIFF series {} vs {}", a.len(), b.len());
    }
    let missing = a.keys().filter(|k| !b.contains_key(*k)).count();
    if missing > 0 {
        return format!("DIFF {missing}/{} label sets", a.len());
    }
    let (mut differing, mut max_rel, mut example) = (0, 0.0f64, String::new());
    for (key, pa) in &a {
        let pb = &b[key];
        if pa.len() != pb.len() {
            differing += 1;
            example = format!("{key}: {} vs {} points", pa.len(), pb.len());
            continue;
        }
        let mut differs = false;
        for (x, y) in pa.iter().zip(pb) {
            if x.0 != y.0 || !close(x.1, y.1) {
                differs = true;
                let rel = (x.1 - y.1).abs() / x.1.abs().max(y.1.abs());
                if rel.is_nan() || rel > max_rel || example.is_empty() {
                    max_rel = if rel.is_nan() {
                        f64::INFINITY
                    } else {
                        rel.max(max_rel)
                    };
                    example = format!("{key} @{}: {} vs {}", x.0, x.1, y.1);
                }
            }
        }
        differing += usize::from(differs);
    }
    if differing > 0 {
        format!(
            "DIFF values in {differing}/{} series, max rel {max_rel:.1e}; e.g. {example}",
            a.len()
        )
    } else {
        format!("same ({} series)", a.len())
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

pub fn print_table(servers: &[Server], outcomes: &[Outcome]) {
    let mut header = format!("{:<15}", "query");
    for s in servers {
        header += &format!(" {:>11} {:>9}", format!("{} p50 ms", s.name), "p90 ms");
    }
    header += &format!(" {:>9}  check", "p50 ratio");
    println!("{header}");
    for o in outcomes {
        let mut line = format!("{:<15}", o.name);
        let mut medians = Vec::new();
        for t in &o.times {
            match t {
                Ok(list) => {
                    let mut sorted = list.clone();
                    sorted.sort_by(f64::total_cmp);
                    let (p50, p90) = (percentile(&sorted, 0.5), percentile(&sorted, 0.9));
                    medians.push(p50);
                    line += &format!(" {:>11.2} {:>9.2}", p50 * 1e3, p90 * 1e3);
                }
                Err(_) => {
                    medians.push(f64::NAN);
                    line += &format!(" {:>11} {:>9}", "error", "");
                }
            }
        }
        let ratio = medians.first().copied().unwrap_or(f64::NAN)
            / medians.get(1).copied().unwrap_or(f64::NAN);
        line += &format!(" {ratio:>9.2}  {}", o.check);
        println!("{line}");
    }
    for o in outcomes {
        for (s, t) in servers.iter().zip(&o.times) {
            if let Err(e) = t {
                println!("{} on {}: {}", o.name, s.name, truncate(e));
            }
        }
    }
}
