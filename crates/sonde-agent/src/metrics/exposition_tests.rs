use super::*;

fn labels(s: &ParsedSample) -> Vec<(&str, &str)> {
    s.labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

#[test]
fn a_full_exposition() {
    let text = r#"# HELP http_requests_total The total number of HTTP requests.\nSecond line \\ done
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045
neg{a="b",} -Inf
nan NaN
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
# TYPE h histogram
h_bucket{le="0.05"} 24054
h_bucket{le="+Inf"} 144320
h_sum 53423
h_count 144320
# TYPE u untyped
u 1
"#;
    let e = parse(text).unwrap();
    assert_eq!(e.samples.len(), 15);
    let s = &e.samples[0];
    assert_eq!(s.name, "http_requests_total");
    assert_eq!(labels(s), [("method", "post"), ("code", "200")]);
    assert_eq!((s.value, s.timestamp_ms), (1027.0, Some(1395066363000)));
    assert_eq!(e.samples[1].value, 3.0);
    assert_eq!(
        labels(&e.samples[2]),
        [
            ("path", r"C:\DIR\FILE.TXT"),
            ("error", "Cannot find file:\n\"FILE.TXT\"")
        ]
    );
    assert_eq!(e.samples[2].value, 1.458255915e9);
    assert_eq!(e.samples[3].labels, vec![]);
    assert_eq!(e.samples[4].value, f64::INFINITY);
    assert_eq!(e.samples[4].timestamp_ms, Some(-3982045));
    assert_eq!(e.samples[5].value, f64::NEG_INFINITY);
    assert!(e.samples[6].value.is_nan());
    let meta = &e.metadata["http_requests_total"];
    assert_eq!(meta.metric_type, MetricType::Counter);
    assert_eq!(
        meta.help,
        "The total number of HTTP requests.\nSecond line \\ done"
    );
    assert_eq!(
        e.metadata["rpc_duration_seconds"].metric_type,
        MetricType::Summary
    );
    assert_eq!(e.metadata["h"].metric_type, MetricType::Histogram);
    assert_eq!(e.metadata["u"].metric_type, MetricType::Unknown);
    assert_eq!(e.samples[11].labels, vec![("le".into(), "+Inf".into())]);
}

#[test]
fn empty_and_comment_only_texts_parse() {
    assert_eq!(parse("").unwrap().samples.len(), 0);
    assert_eq!(parse("# just a comment\n\n  \n").unwrap().samples.len(), 0);
}

#[test]
fn malformed_lines_fail_the_whole_text_with_their_line() {
    let cases = [
        ("ok 1\nbad{-} 1\n", 2, "invalid label name"),
        ("m{a=\"1} 2\n", 1, "unterminated value"),
        ("m{a=1} 2\n", 1, "expected a quoted value"),
        ("m{a=\"1\" b=\"2\"} 2\n", 1, "expected , or }"),
        ("m{a=\"1\",a=\"2\"} 2\n", 1, "duplicate label name"),
        ("m\n", 1, "has no value"),
        ("m one\n", 1, "invalid value"),
        ("m 1 2 3\n", 1, "unexpected text after the timestamp"),
        ("m 1 1.5\n", 1, "invalid timestamp"),
        ("9m 1\n", 1, "invalid metric name"),
        ("m-x 1\n", 1, "after the metric name"),
        ("# TYPE m countr\n", 1, "invalid metric type"),
        ("# TYPE 9m counter\n", 1, "invalid metric name"),
        ("m{a=\"x\"\n", 1, "expected , or }"),
        ("m{1a=\"x\"} 1\n", 1, "invalid label name"),
        ("m 0x1g\n", 1, "invalid value"),
    ];
    for (text, line, want) in cases {
        let err = parse(text).unwrap_err();
        assert_eq!(err.line, line, "{text:?}: {err}");
        assert!(
            err.reason.contains(want),
            "{text:?}: want {want}, got {err}"
        );
    }
}

#[test]
fn hostile_text_never_panics() {
    let mut seed = 0x1234_5678_u64;
    let alphabet = b"m_{}=\",\\ \n#HELPTYPE1.e+-Inf\tNa\xc3\xa9";
    for _ in 0..2000 {
        let len = (seed % 64) as usize;
        let mut bytes = Vec::new();
        for _ in 0..len {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            bytes.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
        }
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse(&text);
    }
}
