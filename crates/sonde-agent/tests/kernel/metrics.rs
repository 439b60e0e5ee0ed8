//! Metrics into the metrics store: derived from real exec events, and
//! scraped from a real exporter (Debian's `prometheus`).

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sonde_agent::metrics::MetricsConfig;
use sonde_tsdb::{is_stale, Db, Labels, MatchOp, Matcher, METRIC_NAME};

use crate::harness::{run, start_with};

/// Every series matching `matchers`, with all its samples.
fn select(db: &Db, matchers: &[(&str, &str)]) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let matchers: Vec<Matcher> = matchers
        .iter()
        .map(|(n, v)| Matcher::new(MatchOp::Eq, *n, *v).unwrap())
        .collect();
    db.select(&matchers, i64::MIN, i64::MAX).unwrap()
}

fn wait_until<T>(what: &str, timeout: Duration, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(t) = found() {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn execs_of_one_binary_are_counted_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("sonde-metrics-probe");
    std::fs::copy("/bin/true", &binary).unwrap();
    let binary = binary.to_str().unwrap().to_owned();
    let yaml = format!(
        "metrics:
  - name: test_probe_execs_total
    help: Execs of the probe binary.
    type: counter
    event: process_exec
    filter: {{process.binary: {binary:?}}}
    labels: {{comm: process.comm}}
    max_series: 5
"
    );
    let config = MetricsConfig::parse(&yaml).unwrap();
    let Some(mut agent) = start_with(|c| {
        c.metrics = config;
        c.metrics_interval = Duration::from_millis(200);
    }) else {
        return;
    };
    for _ in 0..5 {
        assert_eq!(run(&binary, &[]).1, Some(0));
    }
    // All five exec events have gone through the writer.
    agent.wait_for("5 execs of the probe", |events| {
        let n = events
            .iter()
            .filter(|e| {
                matches!(&***e, sonde_event::Event::ProcessExec(x) if x.process.binary == binary)
            })
            .count();
        (n >= 5).then_some(())
    });
    let db = agent.handle.metrics().clone();
    let name = [(METRIC_NAME, "test_probe_execs_total")];
    let series = wait_until("a flush counting 5", Duration::from_secs(10), || {
        let s = select(&db, &name);
        let last = s.first()?.1.last()?.1;
        (last == 5.0).then_some(s)
    });
    assert_eq!(series.len(), 1, "one series: {series:?}");
    assert_eq!(series[0].0.get("comm"), Some("sonde-metrics-p"));
    // Later flushes still say 5: each event was counted once.
    std::thread::sleep(Duration::from_millis(600));
    let s = select(&db, &name);
    assert!(s[0].1.len() >= 2);
    assert!(s[0].1.iter().all(|(_, v)| *v <= 5.0), "{s:?}");
    assert_eq!(s[0].1.last().unwrap().1, 5.0);
    let stats = agent.handle.stats().snapshot();
    assert_eq!(stats.metrics.derived["test_probe_execs_total"].events, 5);
    assert_eq!(
        stats.metrics.derived["test_probe_execs_total"].overflow_events,
        0
    );
    // sonde's own counters are in the store too, with metadata.
    assert!(!select(&db, &[(METRIC_NAME, "sonde_ringbuf_records_total")]).is_empty());
    assert!(!db
        .metadata()
        .get(Some("sonde_process_execs_total"))
        .is_empty());
    assert!(stats.metrics.flushes >= 2);
    assert_eq!(stats.metrics.samples_rejected.values().sum::<u64>(), 0);
}

struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_prometheus(dir: &Path, port: u16) -> Prometheus {
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "scrape_configs: []\n").unwrap();
    let child = Command::new("/usr/bin/prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Prometheus(child);
    wait_until("prometheus to listen", Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    });
    p
}

#[test]
fn a_real_exporter_is_scraped_and_goes_stale_when_stopped() {
    if !Path::new("/usr/bin/prometheus").exists() {
        eprintln!("SKIP: /usr/bin/prometheus is not installed (apt-get install prometheus)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut prometheus = Some(start_prometheus(dir.path(), port));
    let instance = format!("127.0.0.1:{port}");
    let yaml = format!(
        "scrape_configs:
  - job_name: prom
    scrape_interval: 500ms
    scrape_timeout: 500ms
    static_configs: [{{targets: [{instance:?}]}}]
"
    );
    let config = MetricsConfig::parse(&yaml).unwrap();
    let Some(agent) = start_with(|c| c.metrics = config) else {
        return;
    };
    let db = agent.handle.metrics().clone();
    let up = [(METRIC_NAME, "up"), ("job", "prom")];
    wait_until("up=1", Duration::from_secs(15), || {
        let s = select(&db, &up);
        (s.first()?.1.last()?.1 == 1.0).then_some(())
    });
    let build = select(
        &db,
        &[(METRIC_NAME, "prometheus_build_info"), ("job", "prom")],
    );
    assert_eq!(build.len(), 1, "{build:?}");
    assert_eq!(build[0].0.get("instance"), Some(instance.as_str()));
    assert_eq!(build[0].1[0].1, 1.0);
    let meta = db.metadata().get(Some("prometheus_build_info"));
    assert!(!meta["prometheus_build_info"][0].help.is_empty());
    let samples = select(&db, &[(METRIC_NAME, "scrape_samples_scraped")]);
    assert!(samples[0].1[0].1 > 100.0, "{samples:?}");

    prometheus.take();
    wait_until("up=0", Duration::from_secs(15), || {
        let s = select(&db, &up);
        (s.first()?.1.last()?.1 == 0.0).then_some(())
    });
    let build = select(
        &db,
        &[(METRIC_NAME, "prometheus_build_info"), ("job", "prom")],
    );
    let last = build[0].1.last().unwrap();
    assert!(is_stale(last.1), "a staleness marker: {:?}", build[0].1);
    let stats = agent.handle.stats().snapshot();
    assert!(stats
        .metrics
        .scrape_failures
        .iter()
        .any(|(job, i, reason, n)| job == "prom"
            && *i == instance
            && reason == "connect"
            && *n >= 1));
}
