//! `sonde query` against a stand-in for the agent's Prometheus API that
//! answers with canned Prometheus JSON: the request it sends, the table it
//! prints, and API errors as one line with the errorType and exit code 1.
//! Then the same command against sonde's real Prometheus API, served
//! in-process over an in-memory store.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{mpsc, Arc};

use crate::harness::{run, stderr};

/// Serves one request with `status` and `body`; sends back the request line.
fn fake_api(status: u16, body: &'static str) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let _ = tx.send(head.lines().next().unwrap_or("").to_string());
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    (addr, rx)
}

#[test]
fn instant_query_prints_one_row_per_series() {
    let (addr, request) = fake_api(
        200,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"api"},"value":[1700000000,"1"]},{"metric":{"job":"db"},"value":[1700000000,"0.5"]}]}}"#,
    );
    let out = run(&["query", "up", "--time", "1700000000", "--server", &addr]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "SERIES         VALUE\nup{job=\"api\"}  1\n{job=\"db\"}     0.5\n"
    );
    let line = request.recv().unwrap();
    assert!(line.starts_with("GET /api/v1/query?"), "{line}");
    assert!(
        line.contains("query=up") && line.contains("time=1700000000"),
        "{line}"
    );
}

#[test]
fn range_query_prints_series_then_points() {
    let (addr, request) = fake_api(
        200,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},"values":[[1700000000,"1"],[1700000060,"NaN"]]}]}}"#,
    );
    let out = run(&[
        "query",
        "up",
        "--range",
        "--start",
        "1700000000",
        "--end",
        "1700000060",
        "--step",
        "60",
        "--server",
        &addr,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "up\n  2023-11-14T22:13:20.000Z  1\n  2023-11-14T22:14:20.000Z  NaN\n"
    );
    let line = request.recv().unwrap();
    assert!(line.starts_with("GET /api/v1/query_range?"), "{line}");
    for part in ["start=1700000000", "end=1700000060", "step=60"] {
        assert!(line.contains(part), "{part} in {line}");
    }
}

#[test]
fn api_errors_show_their_type_and_exit_1() {
    let (addr, _) = fake_api(
        400,
        r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:4: parse error: unclosed left brace"}"#,
    );
    let out = run(&["query", "up{", "--server", &addr]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("sonde: error: bad_data: invalid parameter \"query\": 1:4: parse error"),
        "{text}"
    );
}

#[test]
fn json_output_is_the_answer_data() {
    let (addr, _) = fake_api(
        200,
        r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"2"]}}"#,
    );
    let out = run(&["query", "1+1", "-o", "json", "--server", &addr]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let data: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        data,
        serde_json::json!({"resultType": "scalar", "result": [1700000000, "2"]})
    );
}

#[test]
fn time_and_range_flags_do_not_mix() {
    let out = run(&["query", "up", "--time", "5m", "--range"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["query", "up", "--step", "1m"]);
    assert_eq!(out.status.code(), Some(2));
}

/// sonde's Prometheus API over `db` on a loopback port, until the test
/// process ends.
fn real_api(db: sonde_tsdb::Db) -> String {
    let engine = sonde_promql::Engine::new(sonde_promql::EngineOptions::default());
    let app = sonde_api::prom::router(Arc::new(db), Arc::new(engine));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().to_string()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

#[test]
fn against_the_real_api() {
    let db = sonde_tsdb::Db::in_memory();
    let t0 = 1_700_000_000_000;
    for (job, value) in [("api", 1.0), ("db", 0.0)] {
        let labels = sonde_tsdb::Labels::new([("__name__", "up"), ("job", job)]).unwrap();
        for i in 0..5 {
            db.append(&labels, t0 + i * 15_000, value).unwrap();
        }
    }
    let server = real_api(db);

    let out = run(&["query", "up", "--time", "1700000060", "--server", &server]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "SERIES         VALUE\nup{job=\"api\"}  1\nup{job=\"db\"}   0\n"
    );

    let out = run(&[
        "query",
        "sum(up)",
        "--range",
        "--start",
        "1700000000",
        "--end",
        "1700000030",
        "--step",
        "15s",
        "--server",
        &server,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{}\n  2023-11-14T22:13:20.000Z  1\n  2023-11-14T22:13:35.000Z  1\n  2023-11-14T22:13:50.000Z  1\n"
    );

    let out = run(&["query", "sum(", "--server", &server]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("sonde: error: bad_data: invalid parameter \"query\""),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "query", "up", "--range", "--start", "0", "--end", "1000000", "--step", "1", "--server",
        &server,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("bad_data: exceeded maximum resolution"),
        "{}",
        stderr(&out)
    );
}
