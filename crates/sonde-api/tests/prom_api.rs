//! sonde's Prometheus HTTP API, served in-process over an in-memory store:
//! the envelope and error types, parameters by GET and by form POST, the
//! index endpoints, metadata, buildinfo and the remote-write receiver.
//!
//! Assertions on query answers need the PromQL engine; parameter checks
//! and everything else do not.

mod prom_support;

use std::sync::Arc;

use prom_support::{get, post_bytes, post_form, Server};
use prost::Message as _;
use serde_json::json;
use sonde_api::prom::remote_write::{Label, MetricMetadata, Sample, TimeSeries, WriteRequest};
use sonde_api::prom::WriteStats;
use sonde_tsdb::{Db, Labels, Matcher, Metadata, MetricType};

const T0: i64 = 1_700_000_000_000;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).unwrap()
}

/// Two metrics, three series, 10 samples 15s apart from T0.
fn server() -> Server {
    let db = Db::in_memory();
    let series = [
        labels(&[("__name__", "up"), ("job", "api"), ("instance", "a:1")]),
        labels(&[("__name__", "up"), ("job", "db"), ("instance", "b:1")]),
        labels(&[
            ("__name__", "http_requests_total"),
            ("job", "api"),
            ("code", "200"),
        ]),
    ];
    for i in 0..10 {
        for (n, s) in series.iter().enumerate() {
            db.append(s, T0 + i * 15_000, (i * (n as i64 + 1)) as f64)
                .unwrap();
        }
    }
    db.metadata().record(
        "up",
        Metadata {
            metric_type: MetricType::Gauge,
            help: "Whether the target is up.".into(),
            unit: String::new(),
        },
    );
    db.metadata().record(
        "http_requests_total",
        Metadata {
            metric_type: MetricType::Counter,
            help: "Requests.".into(),
            unit: String::new(),
        },
    );
    Server::start(Arc::new(db))
}

fn assert_bad_data(answer: &prom_support::Answer, message: &str) {
    assert_eq!(answer.status, 400, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["status"], "error");
    assert_eq!(json["errorType"], "bad_data");
    let error = json["error"].as_str().unwrap();
    assert!(error.contains(message), "{error:?} lacks {message:?}");
}

#[test]
fn bad_parameters_are_bad_data() {
    let s = server();
    let q = s.url("/api/v1/query");
    let r = s.url("/api/v1/query_range");
    assert_bad_data(
        &get(&q, &[("query", "up"), ("time", "yesterday")]),
        r#"invalid parameter "time": Invalid time value for 'time': cannot parse "yesterday" to a valid timestamp"#,
    );
    let timed_out = get(
        &r,
        &[
            ("query", "up"),
            ("start", "0"),
            ("end", "100"),
            ("step", "1"),
            ("timeout", "0"),
        ],
    );
    assert_eq!(timed_out.status, 503, "{}", timed_out.body);
    assert_eq!(timed_out.json()["errorType"], "timeout");
    assert_bad_data(
        &get(&q, &[("query", "up"), ("timeout", "soon")]),
        r#"invalid parameter "timeout": cannot parse "soon" to a valid duration"#,
    );
    assert_bad_data(
        &get(&r, &[("query", "up"), ("end", "10"), ("step", "1")]),
        r#"invalid parameter "start""#,
    );
    assert_bad_data(
        &get(
            &r,
            &[
                ("query", "up"),
                ("start", "10"),
                ("end", "5"),
                ("step", "1"),
            ],
        ),
        r#"invalid parameter "end": end timestamp must not be before start time"#,
    );
    assert_bad_data(
        &get(
            &r,
            &[
                ("query", "up"),
                ("start", "1"),
                ("end", "5"),
                ("step", "1x"),
            ],
        ),
        r#"invalid parameter "step": cannot parse "1x" to a valid duration"#,
    );
    assert_bad_data(
        &get(
            &r,
            &[("query", "up"), ("start", "1"), ("end", "5"), ("step", "0")],
        ),
        "zero or negative query resolution step widths are not accepted",
    );
    assert_bad_data(
        &get(&r, &[("query", "up"), ("start", "0"), ("end", "11001"), ("step", "1")]),
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
    );
    assert_bad_data(
        &post_form(
            &r,
            &[
                ("query", "up"),
                ("start", "0"),
                ("end", "110010"),
                ("step", "10"),
            ],
        ),
        "exceeded maximum resolution of 11,000 points",
    );
    assert_bad_data(
        &get(
            &r,
            &[
                ("query", "up"),
                ("start", "-9e15"),
                ("end", "9e15"),
                ("step", "1"),
            ],
        ),
        "exceeded maximum resolution",
    );
    assert_bad_data(
        &get(&s.url("/api/v1/series"), &[]),
        "no match[] parameter provided",
    );
    assert_bad_data(&get(&s.url("/api/v1/series"), &[("match[]", "up{")]), "");
    assert_bad_data(
        &get(
            &s.url("/api/v1/series"),
            &[("match[]", "up"), ("start", "x")],
        ),
        r#"invalid parameter "start""#,
    );
    assert_bad_data(
        &get(&s.url("/api/v1/label/1x/values"), &[]),
        "invalid label name",
    );
    assert_bad_data(
        &get(&s.url("/api/v1/metadata"), &[("limit", "many")]),
        "limit must be a number",
    );
}

#[test]
fn index_endpoints() {
    let s = server();
    let all = json!({"status": "success", "data": ["__name__", "code", "instance", "job"]});
    assert_eq!(get(&s.url("/api/v1/labels"), &[]).json(), all);
    assert_eq!(post_form(&s.url("/api/v1/labels"), &[]).json(), all);
    let up = get(&s.url("/api/v1/labels"), &[("match[]", "up")]);
    assert_eq!(up.json()["data"], json!(["__name__", "instance", "job"]));

    let jobs = get(&s.url("/api/v1/label/job/values"), &[]);
    assert_eq!(jobs.status, 200);
    assert_eq!(jobs.json()["data"], json!(["api", "db"]));
    let names = get(
        &s.url("/api/v1/label/__name__/values"),
        &[("match[]", r#"{job="api"}"#)],
    );
    assert_eq!(names.json()["data"], json!(["http_requests_total", "up"]));
    let none = get(&s.url("/api/v1/label/nope/values"), &[]);
    assert_eq!(none.json()["data"], json!([]));

    let params = [
        ("match[]", r#"up{job=~"a.*"}"#),
        ("match[]", "http_requests_total"),
    ];
    let series = get(&s.url("/api/v1/series"), &params);
    assert_eq!(series.status, 200, "{}", series.body);
    assert_eq!(
        series.json(),
        json!({"status": "success", "data": [
            {"__name__": "http_requests_total", "code": "200", "job": "api"},
            {"__name__": "up", "instance": "a:1", "job": "api"},
        ]})
    );
    assert_eq!(
        post_form(&s.url("/api/v1/series"), &params).json(),
        series.json()
    );

    // A time range with no samples.
    let early = get(
        &s.url("/api/v1/series"),
        &[("match[]", "up"), ("start", "0"), ("end", "1")],
    );
    assert_eq!(early.json()["data"], json!([]));
    let range = [
        ("match[]", "up"),
        ("start", "2023-11-14T22:13:20Z"),
        ("end", "1700000100"),
    ];
    assert_eq!(
        get(&s.url("/api/v1/series"), &range).json()["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn metadata_and_buildinfo() {
    let s = server();
    let all = get(&s.url("/api/v1/metadata"), &[]);
    assert_eq!(
        all.json(),
        json!({"status": "success", "data": {
            "http_requests_total": [{"type": "counter", "help": "Requests.", "unit": ""}],
            "up": [{"type": "gauge", "help": "Whether the target is up.", "unit": ""}],
        }})
    );
    let one = get(&s.url("/api/v1/metadata"), &[("metric", "up")]);
    assert_eq!(one.json()["data"].as_object().unwrap().len(), 1);
    let limited = get(&s.url("/api/v1/metadata"), &[("limit", "1")]);
    assert_eq!(limited.json()["data"].as_object().unwrap().len(), 1);
    let info = get(&s.url("/api/v1/status/buildinfo"), &[]).json();
    assert_eq!(info["status"], "success");
    for field in [
        "version",
        "revision",
        "branch",
        "buildUser",
        "buildDate",
        "goVersion",
    ] {
        assert!(info["data"][field].is_string(), "{field} in {info}");
    }
}

#[test]
fn queries_by_get_and_post_agree() {
    let s = server();
    let t = ((T0 + 60_000) / 1000).to_string();
    let instant = [("query", "up"), ("time", t.as_str())];
    let by_get = get(&s.url("/api/v1/query"), &instant);
    let by_post = post_form(&s.url("/api/v1/query"), &instant);
    assert_eq!(
        (by_get.status, &by_get.body),
        (by_post.status, &by_post.body)
    );

    let start = (T0 / 1000).to_string();
    let end = ((T0 + 135_000) / 1000).to_string();
    let range = [
        ("query", "up"),
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("step", "15s"),
    ];
    let by_get = get(&s.url("/api/v1/query_range"), &range);
    let by_post = post_form(&s.url("/api/v1/query_range"), &range);
    assert_eq!(
        (by_get.status, &by_get.body),
        (by_post.status, &by_post.body)
    );
}

/// Needs the PromQL engine.
#[test]
fn query_answers() {
    let s = server();
    let t = ((T0 + 60_000) / 1000).to_string();
    let answer = get(
        &s.url("/api/v1/query"),
        &[("query", r#"up{job="db"}"#), ("time", &t)],
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "instance": "b:1", "job": "db"}, "value": [1_700_000_060, "8"]}
        ]}})
    );
    let scalar = get(
        &s.url("/api/v1/query"),
        &[("query", "1/2"), ("time", "1.5")],
    );
    assert_eq!(
        scalar.json()["data"],
        json!({"resultType": "scalar", "result": [1.5, "0.5"]})
    );
    let string = get(
        &s.url("/api/v1/query"),
        &[("query", r#""hi""#), ("time", "2")],
    );
    assert_eq!(
        string.json()["data"],
        json!({"resultType": "string", "result": [2, "hi"]})
    );
    let inf = get(&s.url("/api/v1/query"), &[("query", "1/0"), ("time", "2")]);
    assert_eq!(inf.json()["data"]["result"][1], "+Inf");

    let start = (T0 / 1000).to_string();
    let end = ((T0 + 30_000) / 1000).to_string();
    let range = get(
        &s.url("/api/v1/query_range"),
        &[
            ("query", r#"up{job="api"}"#),
            ("start", &start),
            ("end", &end),
            ("step", "15"),
        ],
    );
    assert_eq!(
        range.json()["data"],
        json!({"resultType": "matrix", "result": [
            {"metric": {"__name__": "up", "instance": "a:1", "job": "api"},
             "values": [[1_700_000_000, "0"], [1_700_000_015, "1"], [1_700_000_030, "2"]]}
        ]})
    );
    assert_bad_data(
        &get(&s.url("/api/v1/query"), &[("query", "up{")]),
        r#"invalid parameter "query""#,
    );
    assert_bad_data(
        &get(&s.url("/api/v1/query"), &[]),
        r#"invalid parameter "query""#,
    );
}

/// A series to write: its labels and samples.
type Written<'a> = (&'a [(&'a str, &'a str)], &'a [(i64, f64)]);

fn write_request(series: &[Written]) -> WriteRequest {
    WriteRequest {
        timeseries: series
            .iter()
            .map(|(labels, samples)| TimeSeries {
                labels: labels
                    .iter()
                    .map(|(n, v)| Label {
                        name: n.to_string(),
                        value: v.to_string(),
                    })
                    .collect(),
                samples: samples
                    .iter()
                    .map(|&(timestamp, value)| Sample { value, timestamp })
                    .collect(),
            })
            .collect(),
        metadata: vec![MetricMetadata {
            r#type: 1,
            metric_family_name: "rw_total".into(),
            help: "Written.".into(),
            unit: "".into(),
        }],
    }
}

fn snappy(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(bytes).unwrap()
}

fn write(s: &Server, body: &[u8]) -> prom_support::Answer {
    post_bytes(&s.url("/api/v1/write"), "application/x-protobuf", body)
}

fn stored(db: &Db, name: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
    db.select(&[Matcher::eq("__name__", name)], i64::MIN, i64::MAX)
        .unwrap()
}

#[test]
fn remote_write_stores_exactly_what_was_sent() {
    let writes = Arc::new(WriteStats::default());
    let s = Server::start_with_stats(Arc::new(Db::in_memory()), writes.clone());
    let request = write_request(&[
        (
            &[("__name__", "rw_total"), ("job", "a")],
            &[(T0, 1.0), (T0 + 15_000, 2.5)],
        ),
        (
            &[("job", "b"), ("__name__", "rw_total")],
            &[(T0, f64::NAN), (T0 + 1, 1e-300)],
        ),
    ]);
    let answer = write(&s, &snappy(&request.encode_to_vec()));
    assert_eq!(answer.status, 204, "{}", answer.body);
    let got = stored(&s.db, "rw_total");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, labels(&[("__name__", "rw_total"), ("job", "a")]));
    assert_eq!(got[0].1, [(T0, 1.0), (T0 + 15_000, 2.5)]);
    assert_eq!(got[1].0, labels(&[("__name__", "rw_total"), ("job", "b")]));
    assert_eq!(got[1].1.len(), 2);
    assert!(got[1].1[0].1.is_nan());
    assert_eq!(got[1].1[1], (T0 + 1, 1e-300));
    let meta = s.db.metadata().get(Some("rw_total"));
    assert_eq!(meta["rw_total"][0].metric_type, MetricType::Counter);
    assert_eq!(meta["rw_total"][0].help, "Written.");

    // Out of order: the rest is appended, the answer counts the rejects.
    let late = write_request(&[
        (&[("__name__", "rw_total"), ("job", "a")], &[(T0 - 1, 9.0)]),
        (&[("__name__", "rw_total"), ("job", "c")], &[(T0, 3.0)]),
    ]);
    let answer = write(&s, &snappy(&late.encode_to_vec()));
    assert_bad_data(&answer, "1 of 2 samples rejected");
    let got = stored(&s.db, "rw_total");
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].1, [(T0, 1.0), (T0 + 15_000, 2.5)]);
    assert_eq!(got[2].1, [(T0, 3.0)]);

    // Counted, and shown as /metrics shows them.
    assert_eq!(write(&s, b"not snappy").status, 400);
    let text = writes.to_prometheus();
    for line in [
        "sonde_remote_write_samples_total{outcome=\"appended\"} 5",
        "sonde_remote_write_samples_total{outcome=\"rejected\"} 1",
        "sonde_remote_write_invalid_requests_total 1",
        "sonde_remote_write_metadata_total 2",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
}

#[test]
fn remote_write_refuses_bad_bodies_whole() {
    let s = Server::start(Arc::new(Db::in_memory()));
    let good = write_request(&[(&[("__name__", "rw_total")], &[(T0, 1.0)])]).encode_to_vec();

    // Not snappy: the protobuf itself.
    assert_bad_data(&write(&s, &good), "snappy");
    // Snappy, truncated.
    let compressed = snappy(&good);
    assert_bad_data(&write(&s, &compressed[..compressed.len() - 2]), "snappy");
    // Valid snappy around garbage.
    assert_bad_data(&write(&s, &snappy(b"\xff\xff\xff\xff garbage")), "protobuf");
    assert_bad_data(&write(&s, &[]), "");
    // A claimed length far beyond the limit.
    assert_bad_data(&write(&s, &[0xff, 0xff, 0xff, 0xff, 0x0f]), "");
    // An invalid label name in the second series: nothing stored, not even the first.
    let bad = write_request(&[
        (&[("__name__", "rw_total"), ("job", "a")], &[(T0, 1.0)]),
        (&[("__name__", "rw_total"), ("bad-name", "x")], &[(T0, 1.0)]),
    ]);
    assert_bad_data(
        &write(&s, &snappy(&bad.encode_to_vec())),
        "invalid label name",
    );
    let no_labels = write_request(&[(&[], &[(T0, 1.0)])]);
    assert_bad_data(
        &write(&s, &snappy(&no_labels.encode_to_vec())),
        "empty label set",
    );
    let v2 = post_bytes(
        &s.url("/api/v1/write"),
        "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        &compressed,
    );
    assert_eq!(v2.status, 415);

    assert!(stored(&s.db, "rw_total").is_empty());
    assert!(s.db.metadata().get(None).is_empty());
}

/// Queries at the edges of time and of sense get an answer in the
/// envelope, never a failed task (500) or a dropped connection.
#[test]
fn hostile_queries_get_an_answer() {
    let s = server();
    let deep = format!("{}1{}", "(".repeat(300), ")".repeat(300));
    let queries = [
        "up offset 1000000y",
        "up offset -1000000y",
        "up @ 9e15",
        "rate(up[1000000y])",
        "up[5m:0s]",
        r#"label_replace(up, "x", "$1", "job", "(")"#,
        r#"{__name__=~".*"}"#,
        deep.as_str(),
        "topk(1e300, up)",
        "quantile(NaN, up)",
        "histogram_quantile(0.5, up)",
        "sum(up) / 0",
        r#"label_join(up, "1bad", ",", "job")"#,
        "\u{0}",
        "up{job=~\"(((\"}",
    ];
    for query in queries {
        for time in ["1700000100", "-9e15", "9e15"] {
            let answer = get(&s.url("/api/v1/query"), &[("query", query), ("time", time)]);
            assert!(
                [200, 400, 422, 503].contains(&answer.status),
                "{query} at {time}: {} {}",
                answer.status,
                answer.body
            );
            let status = answer.json()["status"].clone();
            assert!(status == "success" || status == "error", "{}", answer.body);
        }
    }
}
