use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sonde_store::{EventStore, Query, RedbStore};

use crate::harness::{is_root, AgentProcess};

fn exec_count_with_marker(events: &[serde_json::Value], marker: &str) -> usize {
    events
        .iter()
        .filter(|e| {
            e.pointer("/process_exec/process/argv")
                .and_then(|a| a.as_array())
                .is_some_and(|argv| argv.iter().any(|a| a == marker))
        })
        .count()
}

#[test]
fn events_filters_and_status_over_the_api() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path());
    let child = Command::new("/bin/sh")
        .args(["-c", "exit 3", "cli-filter-marker"])
        .status()
        .unwrap();
    assert_eq!(child.code(), Some(3));

    let exits = agent.wait_events(&["--comm", "sh", "--type", "exit", "--since", "1m"], 1);
    let ours: Vec<_> = exits
        .iter()
        .filter(|e| {
            e.pointer("/process_exit/process/argv/3")
                .and_then(|v| v.as_str())
                == Some("cli-filter-marker")
        })
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(
        ours[0].pointer("/process_exit/status/code"),
        Some(&serde_json::json!(3))
    );
    let pid = ours[0]
        .pointer("/process_exit/process/pid")
        .unwrap()
        .to_string();
    let by_pid = agent.events(&["--pid", &pid, "--since", "1m"]);
    let kinds: Vec<&str> = by_pid
        .iter()
        .map(|e| e.as_object().unwrap().keys().next().unwrap().as_str())
        .collect();
    assert_eq!(kinds, ["process_exec", "process_exit"]);

    let table = agent.cli(&["events", "--pid", &pid, "--since", "1m", "-o", "table"]);
    let table = String::from_utf8(table.stdout).unwrap();
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.lines().nth(2).unwrap().contains("code=3"), "{table}");

    let status = agent.cli(&["status", "-o", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["lost_total"], 0);
    assert_eq!(status["collectors"][0]["name"], "process");
    let metrics = ureq::get(format!("http://{}/metrics", agent.server))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(
        metrics.contains("# TYPE sonde_kernel_lost_records_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sonde_kernel_lost_records_total{type=\"exec\"} 0"),
        "{metrics}"
    );
    // Runs the kernel skipped are counted per program (each may be a lost record).
    for program in ["handle_exec", "handle_tcp_state"] {
        let series = format!("sonde_kernel_skipped_runs_total{{program=\"{program}\"}}");
        assert!(metrics.contains(&series), "{series} in {metrics}");
    }
    let stored: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sonde_store_written_events_total "))
        .and_then(|v| v.parse().ok())
        .expect("stored events counter");
    assert!(stored >= 2, "at least our exec and exit: {stored}");

    let bad_type = agent.cli(&["events", "--type", "nonsense"]);
    assert_eq!(bad_type.status.code(), Some(2));
}

#[test]
fn follow_streams_each_new_event_once() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path());
    let (mut follower, lines) = agent.follow(&["--type", "exec", "--binary", "true"]);
    // Markers keep coming until the follower has shown three in a row, so it
    // does not matter when exactly its request reached the agent.
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = stop.clone();
    let runner = std::thread::spawn(move || {
        for i in 0..200 {
            if stopper.load(Ordering::Relaxed) {
                break;
            }
            Command::new("/bin/true")
                .arg(format!("follow-{i}"))
                .status()
                .unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let mut markers = Vec::new();
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(event["process_exec"]["process"]["binary"], "/bin/true");
        let arg = event["process_exec"]["process"]["argv"][1]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if let Some(n) = arg
            .strip_prefix("follow-")
            .and_then(|n| n.parse::<u32>().ok())
        {
            markers.push(n);
        }
        if markers.len() == 3 {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    follower.kill().unwrap();
    runner.join().unwrap();
    assert_eq!(markers.len(), 3, "the follower showed live events");
    assert_eq!(
        markers[1],
        markers[0] + 1,
        "no gap, no duplicate: {markers:?}"
    );
    assert_eq!(
        markers[2],
        markers[0] + 2,
        "no gap, no duplicate: {markers:?}"
    );
}

#[test]
fn kill_9_loses_nothing_that_was_acknowledged() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut agent = AgentProcess::start(dir.path());
    for i in 0..20 {
        Command::new("/bin/true")
            .arg(format!("durable-{i}"))
            .status()
            .unwrap();
    }
    // Visible through the API = written and synced by the store.
    let acknowledged =
        agent.wait_events(&["--binary", "true", "--type", "exec", "--since", "1m"], 20);
    let acknowledged: usize = (0..20)
        .map(|i| exec_count_with_marker(&acknowledged, &format!("durable-{i}")))
        .sum();
    assert_eq!(acknowledged, 20);

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.child.id() as i32),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    agent.child.wait().unwrap();

    let store = RedbStore::open(dir.path()).expect("store reopens after kill -9");
    let stored = store.query(&Query::default()).unwrap().events;
    let json: Vec<serde_json::Value> = stored
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    for i in 0..20 {
        assert_eq!(
            exec_count_with_marker(&json, &format!("durable-{i}")),
            1,
            "durable-{i}"
        );
    }
    drop(store);

    // And the agent starts again on the same store.
    let again = AgentProcess::start(dir.path());
    let after = again.events(&["--binary", "true", "--since", "10m", "--type", "exec"]);
    assert!(exec_count_with_marker(&after, "durable-0") == 1);
}

#[test]
fn requests_route_takes_request_filters_and_names_bad_ones() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path());
    let get = |query: &str| {
        let response = ureq::get(format!("http://{}/api/v1/requests?{query}", agent.server))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.into_body().read_to_string().unwrap())
    };
    let (status, body) = get("status=6xx");
    assert_eq!(status, 400, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errorType"], "bad_data");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .starts_with("unknown status `6xx`"));
    let (status, body) = get("min_latency=abc");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("min_latency: `abc` is not a duration"),
        "{body}"
    );
    let (status, body) = get("type=exec");
    assert_eq!(status, 400, "{body}");
    let (status, body) = get("status=5xx&path=/never-such-path&min_latency=1ms&since=1m");
    assert_eq!((status, body.as_str()), (200, ""));

    let out = agent.cli(&["requests", "--path", "/never-such-path", "--since", "1m"]);
    assert!(out.status.success(), "{}", crate::harness::stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(table.lines().count(), 1, "the header only: {table}");
    assert!(table.starts_with("TIME"), "{table}");
}
