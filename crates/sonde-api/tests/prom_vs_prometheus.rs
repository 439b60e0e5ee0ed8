//! sonde's Prometheus API side by side with a real Prometheus: the same
//! samples in both, the same queries to both, the same answers expected.
//!
//! A corpus of counters, gauges and a histogram (two hours of 15s samples
//! ending near now) is written as OpenMetrics, turned into TSDB blocks by
//! `promtool tsdb create-blocks-from openmetrics` and served by
//! `prometheus`; the same samples go into sonde's store, served by
//! `sonde_api::prom::router`. Each query's JSON answers are compared:
//! result type, series label sets, timestamps exactly, values within 1e-9
//! relative (NaN equal to NaN), and `errorType` for errors.
//!
//! A second test points Prometheus's remote write at sonde and checks
//! that what Prometheus scrapes of itself arrives.
//!
//! Both skip, saying why, when `/usr/bin/prometheus` or `promtool` is not
//! installed (scripts/setup.sh installs Debian's `prometheus`).

mod prom_support;

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prom_support::{get, Server};
use serde_json::Value;
use sonde_tsdb::{Db, Labels, Matcher};

const PROMETHEUS: &str = "/usr/bin/prometheus";
const PROMTOOL: &str = "/usr/bin/promtool";
const STEP_MS: i64 = 15_000;
/// Seconds past a sample timestamp at which queries are evaluated.
const EVAL_OFFSET_S: i64 = 7;

/// Whether Prometheus and promtool are here; says why not when they are not.
fn prometheus_installed() -> bool {
    for tool in [PROMETHEUS, PROMTOOL] {
        if !Path::new(tool).exists() {
            eprintln!("SKIP: {tool} is not installed (Debian's `prometheus` package; scripts/setup.sh installs it)");
            return false;
        }
    }
    true
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `prometheus` process, killed when dropped.
struct Prometheus {
    child: Child,
    addr: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus on `data` (a TSDB directory inside `dir`) with
    /// `config` (YAML, `{addr}` replaced by its own address) and waits
    /// until it is ready.
    fn start(dir: tempfile::TempDir, config: &str) -> Prometheus {
        let addr = format!("127.0.0.1:{}", free_port());
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config.replace("{addr}", &addr)).unwrap();
        let log = dir.path().join("prometheus.log");
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--storage.tsdb.retention.time=100y")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start prometheus");
        let prometheus = Prometheus {
            child,
            addr,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = ureq::get(&prometheus.url("/-/ready"))
                .call()
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return prometheus;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready after 60s:\n{}",
                prometheus.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One series of the corpus.
struct Series {
    name: String,
    labels: Vec<(String, String)>,
    points: Vec<(i64, f64)>,
}

/// One metric family: its OpenMetrics name and type, and its series in
/// the order OpenMetrics wants them written.
struct Family {
    name: &'static str,
    kind: &'static str,
    series: Vec<Series>,
}

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    Series {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        points: Vec::new(),
    }
}

/// Two hours of 15s samples ending at `end` (ms).
fn corpus(end: i64) -> Vec<Family> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let times: Vec<i64> = (0..=480).rev().map(|i| end - i * STEP_MS).collect();
    let instances = [("api", "a:1"), ("api", "a:2"), ("db", "b:1")];

    let mut requests = Vec::new();
    for (job, instance) in instances {
        for code in ["200", "500"] {
            let mut s = series(
                "http_requests_total",
                &[
                    ("job", job),
                    ("instance", instance),
                    ("code", code),
                    ("method", "GET"),
                ],
            );
            let mut value = 0.0;
            for (i, &t) in times.iter().enumerate() {
                // One counter reset, half way, on one series.
                if i == 240 && instance == "a:2" && code == "200" {
                    value = 0.0;
                }
                value += if code == "200" {
                    rng.below(20)
                } else {
                    rng.below(3)
                } as f64;
                s.points.push((t, value));
            }
            requests.push(s);
        }
    }

    let mut temperature = Vec::new();
    for (n, room) in ["a", "b", "c"].into_iter().enumerate() {
        let mut s = series("temperature_celsius", &[("room", room)]);
        for (i, &t) in times.iter().enumerate() {
            let wave = (i as f64 / 40.0 + n as f64).sin() * 3.0;
            let noise = rng.below(100) as f64 / 100.0;
            s.points.push((
                t,
                ((18.0 + 2.0 * n as f64 + wave + noise) * 100.0).round() / 100.0,
            ));
        }
        temperature.push(s);
    }

    let mut queues = Vec::new();
    for job in ["api", "db", "batch"] {
        let mut s = series("queue_depth", &[("job", job)]);
        let mut depth: i64 = 10;
        for (i, &t) in times.iter().enumerate() {
            // The batch queue goes away after the first hour.
            if job == "batch" && i > 240 {
                break;
            }
            depth = (depth + rng.below(7) as i64 - 3).max(0);
            s.points.push((t, depth as f64));
        }
        queues.push(s);
    }

    let mut info = Vec::new();
    for (job, instance) in instances {
        let version = if job == "api" { "1.4.2" } else { "15.3" };
        let mut s = series(
            "build_info",
            &[("job", job), ("instance", instance), ("version", version)],
        );
        s.points = times.iter().map(|&t| (t, 1.0)).collect();
        info.push(s);
    }

    // Histogram: per label set and time, the buckets, then count and sum.
    let bounds = ["0.1", "0.5", "1", "+Inf"];
    let mut histogram = Vec::new();
    for job in ["api", "db"] {
        let mut buckets: Vec<Series> = bounds
            .iter()
            .map(|le| {
                series(
                    "request_duration_seconds_bucket",
                    &[("job", job), ("le", le)],
                )
            })
            .collect();
        let mut count = series("request_duration_seconds_count", &[("job", job)]);
        let mut sum = series("request_duration_seconds_sum", &[("job", job)]);
        let mut cumulative = [0u64; 4];
        let mut total = 0.0;
        for &t in &times {
            let mut below = 0;
            for (b, c) in cumulative.iter_mut().enumerate() {
                below += rng.below(if b == 0 { 30 } else { 10 });
                *c += below;
            }
            total += below as f64 * 0.25 + rng.below(50) as f64 / 8.0;
            for (b, s) in buckets.iter_mut().enumerate() {
                s.points.push((t, cumulative[b] as f64));
            }
            count.points.push((t, cumulative[3] as f64));
            sum.points.push((t, total));
        }
        histogram.extend(buckets);
        histogram.push(count);
        histogram.push(sum);
    }

    vec![
        Family {
            name: "http_requests",
            kind: "counter",
            series: requests,
        },
        Family {
            name: "temperature_celsius",
            kind: "gauge",
            series: temperature,
        },
        Family {
            name: "queue_depth",
            kind: "gauge",
            series: queues,
        },
        Family {
            name: "build_info",
            kind: "gauge",
            series: info,
        },
        Family {
            name: "request_duration_seconds",
            kind: "histogram",
            series: histogram,
        },
    ]
}

fn label_text(labels: &[(String, String)]) -> String {
    let pairs: Vec<String> = labels.iter().map(|(n, v)| format!("{n}=\"{v}\"")).collect();
    format!("{{{}}}", pairs.join(","))
}

/// The corpus as OpenMetrics text (timestamps in seconds).
fn openmetrics(families: &[Family]) -> String {
    let mut out = String::new();
    for family in families {
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
        if family.kind == "histogram" {
            // One MetricPoint (every bucket, count and sum) per time.
            let per_set = 6;
            for set in family.series.chunks(per_set) {
                for i in 0..set[0].points.len() {
                    for s in set {
                        let (t, v) = s.points[i];
                        let _ =
                            writeln!(out, "{}{} {v} {}", s.name, label_text(&s.labels), t / 1000);
                    }
                }
            }
        } else {
            for s in &family.series {
                for &(t, v) in &s.points {
                    let _ = writeln!(out, "{}{} {v} {}", s.name, label_text(&s.labels), t / 1000);
                }
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

fn load_into(db: &Db, families: &[Family]) {
    for family in families {
        for s in &family.series {
            let labels = Labels::new(
                std::iter::once(("__name__".to_string(), s.name.clone()))
                    .chain(s.labels.iter().cloned()),
            )
            .unwrap();
            for &(t, v) in &s.points {
                db.append(&labels, t, v).unwrap();
            }
        }
    }
}

/// Within 1e-9 relative (or 1e-12 absolute, for sums that cancel to zero in
/// a different order); NaN equals NaN.
fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    diff <= 1e-9 * a.abs().max(b.abs()) || diff <= 1e-12
}

fn point_diff(what: &str, a: &Value, b: &Value) -> Result<(), String> {
    let t = |p: &Value| p[0].as_f64();
    let v = |p: &Value| p[1].as_str().and_then(|s| s.parse::<f64>().ok());
    match (t(a), t(b), v(a), v(b)) {
        (Some(ta), Some(tb), Some(va), Some(vb)) if ta == tb && close(va, vb) => Ok(()),
        (_, _, None, None) if a == b => Ok(()),
        _ => Err(format!("{what}: prometheus {a} sonde {b}")),
    }
}

/// `(metric as canonical JSON, item)` pairs, in answer order.
fn keyed(result: &Value) -> Vec<(String, &Value)> {
    result
        .as_array()
        .map(|items| items.iter().map(|i| (i["metric"].to_string(), i)).collect())
        .unwrap_or_default()
}

/// Compares Prometheus's answer with sonde's.
fn compare(prom: &Value, sonde: &Value, ordered: bool) -> Result<(), String> {
    if prom["status"] != sonde["status"] {
        return Err(format!("status: prometheus {prom} sonde {sonde}"));
    }
    if prom["status"] == "error" {
        return if prom["errorType"] == sonde["errorType"] {
            Ok(())
        } else {
            Err(format!("errorType: prometheus {prom} sonde {sonde}"))
        };
    }
    let (p, s) = (&prom["data"], &sonde["data"]);
    if p["resultType"] != s["resultType"] {
        return Err(format!(
            "resultType: prometheus {} sonde {}",
            p["resultType"], s["resultType"]
        ));
    }
    let (pr, sr) = (&p["result"], &s["result"]);
    match p["resultType"].as_str() {
        Some("scalar" | "string") => point_diff("value", pr, sr),
        Some(kind @ ("vector" | "matrix")) => {
            let (mut pk, mut sk) = (keyed(pr), keyed(sr));
            if !ordered {
                pk.sort_by(|a, b| a.0.cmp(&b.0));
                sk.sort_by(|a, b| a.0.cmp(&b.0));
            }
            let names =
                |k: &[(String, &Value)]| k.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
            if names(&pk) != names(&sk) {
                return Err(format!(
                    "series: prometheus {:?} sonde {:?}",
                    names(&pk),
                    names(&sk)
                ));
            }
            for ((name, pi), (_, si)) in pk.iter().zip(&sk) {
                if kind == "vector" {
                    point_diff(name, &pi["value"], &si["value"])?;
                } else {
                    let (pv, sv) = (
                        pi["values"].as_array().cloned().unwrap_or_default(),
                        si["values"].as_array().cloned().unwrap_or_default(),
                    );
                    if pv.len() != sv.len() {
                        return Err(format!(
                            "{name}: prometheus {} points sonde {}",
                            pv.len(),
                            sv.len()
                        ));
                    }
                    for (a, b) in pv.iter().zip(&sv) {
                        point_diff(name, a, b)?;
                    }
                }
            }
            Ok(())
        }
        _ => Err(format!("unknown resultType in {prom}")),
    }
}

/// At most 600 characters of a difference, for a readable log.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 600 {
        return text.to_string();
    }
    let cut: String = text.chars().take(600).collect();
    format!("{cut}…")
}

/// A request both servers refuse: path, parameters, and whether the
/// message must be the same too (not when a query parser words it).
type BadRequest<'a> = (&'a str, Vec<(&'a str, &'a str)>, bool);

/// One query of the comparison.
struct Case {
    query: String,
    /// `None`: instant at the corpus end; `Some(step)`: range over the last hour.
    range_step: Option<&'static str>,
    /// The answer's order matters (`sort`, `sort_desc`).
    ordered: bool,
}

fn cases(end_s: i64) -> Vec<Case> {
    let at = end_s - 1800;
    let instant = [
        "http_requests_total",
        r#"http_requests_total{code=~"5..", job!="db"}"#,
        "rate(http_requests_total[5m])",
        "sum by (job) (rate(http_requests_total[5m]))",
        "sum without (instance, method) (increase(http_requests_total[10m]))",
        "topk(2, http_requests_total)",
        "bottomk(1, temperature_celsius)",
        "histogram_quantile(0.9, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))",
        "rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])",
        "http_requests_total * on(job, instance) group_left(version) build_info",
        "temperature_celsius offset 10m",
        &format!("temperature_celsius @ {at}"),
        "max_over_time(temperature_celsius[10m:1m])",
        r#"label_replace(temperature_celsius, "place", "room-$1", "room", "(.*)")"#,
        r#"absent(nonexistent_metric{job="x"})"#,
        "absent(temperature_celsius)",
        "queue_depth",
        "scalar(sum(queue_depth))",
        r#""a string""#,
        "1 + 2 * 3",
        "count by (code) (http_requests_total)",
        "avg(temperature_celsius)",
        "quantile(0.5, temperature_celsius)",
        "stddev_over_time(temperature_celsius[30m])",
        "deriv(queue_depth[10m])",
        "delta(temperature_celsius[10m])",
        "temperature_celsius > 20",
        "temperature_celsius > bool 20",
        r#"count_values("v", build_info)"#,
        "time()",
        "vector(1)",
        "sum(",
        "rate(temperature_celsius)",
        r#"label_replace(temperature_celsius, "room", "x", "", "")"#,
    ];
    let mut cases: Vec<Case> = instant
        .iter()
        .map(|q| Case {
            query: q.to_string(),
            range_step: None,
            ordered: false,
        })
        .collect();
    cases.push(Case {
        query: "sort_desc(sum by (code) (http_requests_total))".into(),
        range_step: None,
        ordered: true,
    });
    cases.push(Case {
        query: "sort(temperature_celsius)".into(),
        range_step: None,
        ordered: true,
    });
    for (q, step) in [
        ("rate(http_requests_total[5m])", "60"),
        ("sum by (job) (rate(http_requests_total[5m]))", "1m"),
        (
            "histogram_quantile(0.5, rate(request_duration_seconds_bucket[5m]))",
            "60",
        ),
        ("temperature_celsius", "15s"),
        ("queue_depth offset 5m", "30"),
        ("1", "60"),
        ("topk(1, temperature_celsius)", "60"),
        ("avg_over_time(queue_depth[10m:30s])", "60"),
        ("time()", "120"),
    ] {
        cases.push(Case {
            query: q.into(),
            range_step: Some(step),
            ordered: false,
        });
    }
    cases
}

fn prometheus_version(base: &str) -> String {
    get(&format!("{base}/api/v1/status/buildinfo"), &[]).json()["data"]["version"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

fn ask(base: &str, case: &Case, end_s: i64) -> Value {
    let end = end_s.to_string();
    let start = (end_s - 3600).to_string();
    match case.range_step {
        None => get(
            &format!("{base}/api/v1/query"),
            &[("query", &case.query), ("time", &end)],
        ),
        Some(step) => get(
            &format!("{base}/api/v1/query_range"),
            &[
                ("query", &case.query),
                ("start", &start),
                ("end", &end),
                ("step", step),
            ],
        ),
    }
    .json()
}

#[test]
fn queries_answer_as_prometheus_does() {
    if !prometheus_installed() {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Samples 3s past the 15s grid, so that subquery steps (multiples of
    // their step since the epoch) never fall on a sample either.
    let end = now / STEP_MS * STEP_MS - 60_000 + 3_000;
    let end_s = end / 1000;
    let families = corpus(end);

    let dir = tempfile::tempdir().unwrap();
    let om = dir.path().join("corpus.om");
    std::fs::write(&om, openmetrics(&families)).unwrap();
    let out = Command::new(PROMTOOL)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let prometheus = Prometheus::start(dir, "global:\n  scrape_interval: 1h\n");

    let db = Db::in_memory();
    load_into(&db, &families);
    let sonde = Server::start(Arc::new(db));
    let sonde_base = format!("http://{}", sonde.addr);
    let prom_base = format!("http://{}", prometheus.addr);

    // Evaluated between sample timestamps: Prometheus 3 made range and
    // lookback windows left-open, 2.x has them closed, so at a time that
    // falls on a sample the two versions answer differently. Between
    // samples they agree, and that is where sonde must agree with both.
    let eval_s = end_s + EVAL_OFFSET_S;
    let mut diffs = Vec::new();
    let cases = cases(eval_s);
    for case in &cases {
        let p = ask(&prom_base, case, eval_s);
        let s = ask(&sonde_base, case, eval_s);
        let kind = case
            .range_step
            .map_or("instant".to_string(), |s| format!("range step={s}"));
        match compare(&p, &s, case.ordered) {
            Ok(()) => println!("OK   [{kind}] {}", case.query),
            Err(why) => {
                println!("DIFF [{kind}] {}\n     {}", case.query, shorten(&why));
                diffs.push(case.query.clone());
            }
        }
    }
    // On sample timestamps, for the record only (see above).
    let on_samples = cases
        .iter()
        .filter(|case| {
            let (p, s) = (ask(&prom_base, case, end_s), ask(&sonde_base, case, end_s));
            compare(&p, &s, case.ordered).is_err()
        })
        .map(|case| case.query.as_str())
        .collect::<Vec<_>>();
    println!(
        "note: at a time on a sample timestamp, {} of {} queries answer otherwise than Prometheus {} (window edges): {on_samples:?}",
        on_samples.len(),
        cases.len(),
        prometheus_version(&prom_base),
    );

    // The index endpoints.
    let index: [(&str, Vec<(&str, &str)>); 6] = [
        ("/api/v1/series", vec![("match[]", "http_requests_total")]),
        (
            "/api/v1/series",
            vec![
                ("match[]", r#"{__name__=~"request_duration.*", job="api"}"#),
                ("match[]", "build_info"),
            ],
        ),
        ("/api/v1/labels", vec![]),
        ("/api/v1/labels", vec![("match[]", "queue_depth")]),
        ("/api/v1/label/job/values", vec![]),
        ("/api/v1/label/__name__/values", vec![]),
    ];
    for (path, params) in &index {
        let p = get(&format!("{prom_base}{path}"), params).json();
        let s = get(&format!("{sonde_base}{path}"), params).json();
        if p == s {
            println!("OK   {path} {params:?}");
        } else {
            println!(
                "DIFF {path} {params:?}\n     prometheus {}\n     sonde      {}",
                shorten(&p.to_string()),
                shorten(&s.to_string())
            );
            diffs.push(format!("{path} {params:?}"));
        }
    }
    // Bad requests: the same status and errorType, and the same message
    // where it comes from the API rather than from a query parser.
    let end = end_s.to_string();
    let bad: Vec<BadRequest> = vec![
        (
            "/api/v1/query",
            vec![("query", "1"), ("time", "yesterday")],
            true,
        ),
        (
            "/api/v1/query",
            vec![("query", "1"), ("timeout", "soon")],
            true,
        ),
        (
            "/api/v1/query_range",
            vec![("query", "1"), ("end", &end), ("step", "60")],
            true,
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "1"),
                ("start", &end),
                ("end", "1000"),
                ("step", "60"),
            ],
            true,
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "1"),
                ("start", "0"),
                ("end", "100"),
                ("step", "0"),
            ],
            true,
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "1"),
                ("start", "0"),
                ("end", "100"),
                ("step", "1x"),
            ],
            true,
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "1"),
                ("start", "0"),
                ("end", "11001"),
                ("step", "1"),
            ],
            true,
        ),
        (
            "/api/v1/query_range",
            vec![("query", "1"), ("start", "0"), ("end", "100")],
            true,
        ),
        ("/api/v1/series", vec![], true),
        ("/api/v1/series", vec![("match[]", "up{")], false),
        ("/api/v1/label/1x/values", vec![], true),
        ("/api/v1/metadata", vec![("limit", "x")], true),
        (
            "/api/v1/query_range",
            vec![
                ("query", r#""a""#),
                ("start", "0"),
                ("end", "100"),
                ("step", "10"),
            ],
            true,
        ),
        ("/api/v1/query", vec![("query", "rate(x[5m])[1m]")], false),
        ("/api/v1/query", vec![("query", "")], false),
    ];
    for (path, params, exact) in &bad {
        let p = get(&format!("{prom_base}{path}"), params);
        let s = get(&format!("{sonde_base}{path}"), params);
        let (pj, sj) = (p.json(), s.json());
        let same = p.status == s.status
            && pj["errorType"] == sj["errorType"]
            && (!exact || pj["error"] == sj["error"]);
        if same {
            println!("OK   {path} {params:?} -> {} {}", p.status, pj["error"]);
        } else {
            println!(
                "DIFF {path} {params:?}\n     prometheus {} {pj}\n     sonde      {} {sj}",
                p.status, s.status
            );
            diffs.push(format!("{path} {params:?}"));
        }
    }

    let total = cases.len() + index.len() + bad.len();
    println!("{} of {total} equal", total - diffs.len());
    assert!(
        diffs.is_empty(),
        "{} of {total} differ: {diffs:#?}",
        diffs.len()
    );
}

#[test]
fn remote_write_from_prometheus_arrives() {
    if !prometheus_installed() {
        return;
    }
    let sonde = Server::start(Arc::new(Db::in_memory()));
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['{{addr}}']\n\
         remote_write:\n  - url: http://{}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n    metadata_config:\n      send_interval: 1s\n",
        sonde.addr
    );
    let prometheus = Prometheus::start(tempfile::tempdir().unwrap(), &config);

    let has = |name: &str| {
        !sonde
            .db
            .series(
                &[
                    Matcher::eq("__name__", name),
                    Matcher::eq("job", "prometheus"),
                ],
                i64::MIN,
                i64::MAX,
            )
            .unwrap()
            .is_empty()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(has("up") && has("prometheus_build_info")) {
        assert!(
            Instant::now() < deadline,
            "no up/prometheus_build_info in sonde after 30s; prometheus log:\n{}",
            prometheus.log_tail()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let up = [("match[]", "up")];
    let p = get(&prometheus.url("/api/v1/series"), &up).json();
    let s = get(&sonde.url("/api/v1/series"), &up).json();
    println!("prometheus: {p}\nsonde:      {s}");
    assert_eq!(p, s);
    let expected =
        serde_json::json!([{"__name__": "up", "instance": prometheus.addr, "job": "prometheus"}]);
    assert_eq!(s["data"], expected);

    // Metadata comes in its own remote-write requests.
    let metric = [("metric", "prometheus_build_info")];
    while sonde
        .db
        .metadata()
        .get(Some("prometheus_build_info"))
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "no metadata in sonde after 30s; prometheus log:\n{}",
            prometheus.log_tail()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let p = get(&prometheus.url("/api/v1/metadata"), &metric).json();
    let s = get(&sonde.url("/api/v1/metadata"), &metric).json();
    println!("prometheus: {p}\nsonde:      {s}");
    assert_eq!(p, s);

    // Every sample sonde holds for up is 1 (the target answers itself).
    let stored = sonde
        .db
        .select(&[Matcher::eq("__name__", "up")], i64::MIN, i64::MAX)
        .unwrap();
    assert!(stored[0].1.iter().all(|&(_, v)| v == 1.0), "{stored:?}");
}
