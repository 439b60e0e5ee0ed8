//! Exact results of the engine over sonde's own TSDB, and its answers to bad
//! input: parse errors with a position, the sample limit, the timeout, and
//! NaN/Inf propagation.

use std::time::Duration;

use sonde_promql::{Engine, EngineOptions, ErrorKind, Value};
use sonde_tsdb::{Db, Labels};

const S: i64 = 1000;

/// `http_requests_total{job="api"}` counting up 10 every 15s, and `job="web"`
/// 20 every 15s, from 0 to 10m.
fn counters() -> Db {
    let db = Db::in_memory();
    for (job, step) in [("api", 10.0), ("web", 20.0)] {
        let labels = Labels::new([("__name__", "http_requests_total"), ("job", job)]).unwrap();
        for i in 0..=40 {
            db.append(&labels, i * 15 * S, i as f64 * step).unwrap();
        }
    }
    db
}

fn vector(v: Value) -> Vec<(String, f64)> {
    let Value::Vector(samples) = v else {
        panic!("expected a vector, got {v:?}");
    };
    let mut out: Vec<(String, f64)> = samples
        .into_iter()
        .map(|s| (s.labels.get("job").unwrap_or("").to_string(), s.v))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn rate_over_a_known_counter() {
    let db = counters();
    let engine = Engine::default();
    let got = vector(
        engine
            .instant(&db, "rate(http_requests_total[1m])", 300 * S)
            .unwrap(),
    );
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, "api");
    assert!(close(got[0].1, 10.0 / 15.0), "{got:?}");
    assert!(close(got[1].1, 20.0 / 15.0), "{got:?}");
}

#[test]
fn aggregation_and_arithmetic() {
    let db = counters();
    let engine = Engine::default();
    let Value::Vector(sum) = engine
        .instant(&db, "sum(http_requests_total)", 600 * S)
        .unwrap()
    else {
        panic!("expected a vector");
    };
    assert_eq!(sum.len(), 1);
    assert!(sum[0].labels.is_empty());
    assert!(close(sum[0].v, 400.0 + 800.0));
    let got = vector(
        engine
            .instant(
                &db,
                "http_requests_total / on(job) group_left sum by (job) (http_requests_total)",
                600 * S,
            )
            .unwrap(),
    );
    assert_eq!(got, vec![("api".into(), 1.0), ("web".into(), 1.0)]);
}

#[test]
fn range_query_steps_and_lookback() {
    let db = counters();
    let engine = Engine::default();
    let Value::Matrix(series) = engine
        .range(
            &db,
            "http_requests_total{job=\"api\"}",
            0,
            20 * 60 * S,
            60 * S,
        )
        .unwrap()
    else {
        panic!("expected a matrix");
    };
    assert_eq!(series.len(), 1);
    // Samples end at 10m; the 5m lookback window (t-5m, t] is left-open, so
    // the last one is seen up to 14m but not at 15m.
    let times: Vec<i64> = series[0].points.iter().map(|p| p.0 / S).collect();
    assert_eq!(times, (0..=14).map(|m| m * 60).collect::<Vec<_>>());
    assert_eq!(series[0].points[14].1, 400.0);
}

#[test]
fn parse_errors_are_bad_data_with_a_position() {
    let db = Db::in_memory();
    let engine = Engine::default();
    for (query, position) in [
        ("sum(rate(foo[5m])) +* 2", 20),
        ("foo{job=\"api\"", 13),
        ("rate(foo[5m]", 12),
        ("foo[5x]", 5),
    ] {
        let err = engine.instant(&db, query, 0).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadData, "{query}");
        assert_eq!(err.position, Some(position), "{query}: {}", err.message);
    }
}

#[test]
fn too_many_samples_is_an_execution_error() {
    let db = counters();
    let engine = Engine::new(EngineOptions {
        max_samples: 10,
        ..EngineOptions::default()
    });
    let err = engine
        .instant(&db, "count_over_time(http_requests_total[10m])", 600 * S)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Execution);
    assert_eq!(
        err.message,
        "query processing would load too many samples into memory in query execution"
    );
    // Under the limit the same query runs.
    let engine = Engine::new(EngineOptions {
        max_samples: 100,
        ..EngineOptions::default()
    });
    assert!(engine
        .instant(&db, "count_over_time(http_requests_total[10m])", 600 * S)
        .is_ok());
}

#[test]
fn a_query_past_its_timeout_fails() {
    let db = counters();
    let engine = Engine::new(EngineOptions {
        timeout: Duration::ZERO,
        ..EngineOptions::default()
    });
    let err = engine
        .range(&db, "http_requests_total", 0, 600 * S, 15 * S)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
}

#[test]
fn nan_and_inf_propagate() {
    let db = Db::in_memory();
    for (name, v) in [
        ("a", f64::NAN),
        ("b", f64::INFINITY),
        ("c", f64::NEG_INFINITY),
    ] {
        let labels = Labels::new([("__name__", "odd"), ("job", name)]).unwrap();
        db.append(&labels, 0, v).unwrap();
    }
    let engine = Engine::default();
    let got = vector(engine.instant(&db, "odd + 1", 0).unwrap());
    assert!(got[0].1.is_nan());
    assert_eq!(got[1].1, f64::INFINITY);
    assert_eq!(got[2].1, f64::NEG_INFINITY);
    let Value::Vector(sum) = engine.instant(&db, "sum(odd{job!=\"a\"})", 0).unwrap() else {
        panic!("expected a vector");
    };
    assert!(sum[0].v.is_nan(), "Inf + -Inf is NaN");
    let Value::Scalar { v, .. } = engine.instant(&db, "1 / 0", 0).unwrap() else {
        panic!("expected a scalar");
    };
    assert_eq!(v, f64::INFINITY);
}

#[test]
fn odd_input_never_panics() {
    let db = counters();
    let engine = Engine::default();
    let queries = [
        "",
        "(",
        ")",
        "{",
        "foo[",
        "sum(",
        "x offset",
        "\"unterminated",
        "http_requests_total[1m:0s]",
        "histogram_quantile(NaN, http_requests_total)",
        "histogram_fraction(1, 0, http_requests_total)",
        "topk(1e300, http_requests_total)",
        "limitk(-1e300, http_requests_total)",
        "limit_ratio(Inf, http_requests_total)",
        "quantile(2, http_requests_total)",
        "count_values(\"\", http_requests_total)",
        "http_requests_total @ -1e12",
        "http_requests_total offset -1000y",
        "label_replace(http_requests_total, \"a\", \"$1\", \"job\", \"(\")",
        "label_join(http_requests_total, \"\", \",\")",
        "sort_by_label(http_requests_total)",
        "http_requests_total / on() http_requests_total",
        "http_requests_total[5m] anchored",
        "rate(http_requests_total[5m] smoothed)",
        "deriv(http_requests_total[5m] smoothed)",
        "http_requests_total[2m+step()]",
        "http_requests_total offset (1/0)",
        "info(http_requests_total, {__name__=~\".+\"})",
        "absent_over_time(nothing[1m])",
        "scalar(http_requests_total) + vector(1)",
        "-(-(-http_requests_total))",
        "1 ^ 1e308 * 1e308",
    ];
    for q in queries {
        let _ = engine.instant(&db, q, 300 * S);
        let _ = engine.range(&db, q, 0, 600 * S, 60 * S);
    }
    // Every prefix of a long query.
    let long = "sum by (job) (rate(http_requests_total{job=~\"a|w.*\"}[5m] offset 1m)) / on(job) group_left count(http_requests_total)";
    for (i, _) in long.char_indices() {
        let _ = engine.instant(&db, &long[..i], 300 * S);
    }
}

#[test]
fn range_queries_are_bounded() {
    let db = counters();
    let engine = Engine::default();
    let err = engine.range(&db, "1", 0, 1_000_000 * S, S).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadData);
    let err = engine.range(&db, "1", 10, 0, S).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadData);
    let err = engine.range(&db, "1", 0, 10, 0).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadData);
}

/// Regression: a subquery with more steps than the sample limit ran until
/// the timeout (2 minutes) before it was refused up front.
#[test]
fn subquery_with_more_steps_than_the_limit_is_refused_up_front() {
    let db = counters();
    let engine = Engine::new(EngineOptions::default());
    let err = engine
        .instant(&db, "max_over_time(http_requests_total[1y:1ms])", 600 * S)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Execution);
    assert_eq!(
        err.message,
        "query processing would load too many samples into memory in query execution"
    );
    // A subquery within the limit still runs.
    let v = engine
        .instant(&db, "max_over_time(http_requests_total[10m:1s])", 600 * S)
        .unwrap();
    assert_eq!(
        vector(v),
        [("api".to_string(), 400.0), ("web".to_string(), 800.0)]
    );
}
