use std::io::{Read, Write};
use std::net::TcpListener;

use sonde_tsdb::{is_stale, MatchOp, Matcher};

use super::*;
use crate::metrics::config::MetricsConfig;

fn job(yaml: &str) -> Result<Vec<TargetConfig>, ConfigError> {
    let config: MetricsConfig = serde_yaml_ng::from_str(yaml).unwrap();
    TargetConfig::from_job(&config.scrape_configs[0])
}

#[test]
fn scrape_configs_are_checked() {
    let base = "scrape_configs:\n  - job_name: node\n    static_configs: [{targets: [\"127.0.0.1:9100\"]}]\n";
    let t = job(base).unwrap();
    assert_eq!(t[0].url, "http://127.0.0.1:9100/metrics");
    assert_eq!(t[0].interval, Duration::from_secs(15));
    for (extra, want) in [
        (
            "    scrape_interval: 5s\n",
            "scrape job `node`: `scrape_timeout`: 10s is longer than scrape_interval 5s",
        ),
        (
            "    scrape_interval: soon\n",
            "scrape job `node`: `scrape_interval`: `soon`",
        ),
        ("    scheme: https\n", "`scheme`: only http is supported"),
        (
            "    metrics_path: metrics\n",
            "`metrics_path`: must start with /",
        ),
    ] {
        let e = job(&format!("{base}{extra}")).unwrap_err().to_string();
        assert!(e.contains(want), "want {want}, got {e}");
    }
    let e = job(&base.replace("]}]", "], labels: {job: x}}]"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`static_configs[0].labels.job`: is set from job_name"),
        "{e}"
    );
    let e = job(&base.replace("127.0.0.1:9100", "http://x/"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not host:port"), "{e}");
    let e = MetricsConfig::parse(&format!("{base}    honor_labels: true\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `honor_labels`"), "{e}");
    let twice = format!("{base}{}", base.trim_start_matches("scrape_configs:\n"));
    let e = MetricsConfig::parse(&twice).unwrap_err().to_string();
    assert!(e.contains("scrape job `node` is declared twice"), "{e}");
}

/// A one-connection-at-a-time HTTP server answering each request with the
/// next body (status 200), for as many requests as bodies.
fn serve(bodies: Vec<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for body in bodies {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

fn values(db: &Db, name: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
    db.select(
        &[Matcher::new(MatchOp::Eq, METRIC_NAME, name).unwrap()],
        i64::MIN,
        i64::MAX,
    )
    .unwrap()
}

#[test]
fn a_scrape_labels_marks_stale_and_fails_on_bad_text() {
    let addr = serve(vec![
        "# HELP a_total A.\n# TYPE a_total counter\na_total{job=\"inner\"} 1\nb 2\nc 3 1000\n",
        "a_total{job=\"inner\"} 2\nc 4 2000\n",
        "a_total{job=\"inner\"} 3\nb{ 2\n",
    ]);
    let yaml = format!("scrape_configs:\n  - job_name: j\n    static_configs: [{{targets: [\"{addr}\"], labels: {{env: test}}}}]\n");
    let target = job(&yaml).unwrap().remove(0);
    let db = Arc::new(Db::in_memory());
    let stats = Arc::new(Stats::default());
    let mut scraper = Scraper::new(target, db.clone(), stats.clone());
    assert!(scraper.scrape_once(10_000));
    let a = values(&db, "a_total");
    assert_eq!(a.len(), 1);
    let l = &a[0].0;
    assert_eq!(l.get("job"), Some("j"));
    assert_eq!(l.get("exported_job"), Some("inner"));
    assert_eq!(l.get("instance"), Some(addr.as_str()));
    assert_eq!(l.get("env"), Some("test"));
    assert_eq!(
        values(&db, "c")[0].1,
        [(1000, 3.0)],
        "explicit timestamps are kept"
    );
    assert_eq!(values(&db, "up")[0].1, [(10_000, 1.0)]);
    assert_eq!(values(&db, "scrape_samples_scraped")[0].1, [(10_000, 3.0)]);
    assert_eq!(db.metadata().get(Some("a_total"))["a_total"][0].help, "A.");

    // `b` vanished: a staleness marker.
    assert!(scraper.scrape_once(20_000));
    let b = values(&db, "b");
    assert_eq!(b[0].1.len(), 2);
    assert!(is_stale(b[0].1[1].1) && b[0].1[1].0 == 20_000);

    // A parse error fails the whole scrape: up=0 and everything goes stale.
    assert!(!scraper.scrape_once(30_000));
    assert_eq!(values(&db, "up")[0].1.last(), Some(&(30_000, 0.0)));
    let a = &values(&db, "a_total")[0].1;
    assert_eq!(a.len(), 3, "{a:?}");
    assert!(is_stale(a[2].1));
    let snapshot = stats.metrics.snapshot();
    assert_eq!(snapshot.scrape_failures[0].2, "parse");
    assert_eq!(snapshot.scrape_failures[0].3, 1);

    // Nothing listens any more: a connect failure, up=0.
    assert!(!scraper.scrape_once(40_000));
    assert_eq!(values(&db, "up")[0].1.last(), Some(&(40_000, 0.0)));
}
