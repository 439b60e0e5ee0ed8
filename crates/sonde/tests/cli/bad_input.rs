use std::fs;

use crate::harness::{is_root, run, run_as_nobody, sonde, stderr};

/// One line on stderr, starting with `sonde: error:`.
fn assert_one_line_error(out: &std::process::Output, contains: &str) {
    let text = stderr(out);
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    assert!(text.starts_with("sonde: error: "), "{text}");
    assert!(text.contains(contains), "expected `{contains}` in: {text}");
}

#[test]
fn unknown_flag_is_one_line_and_exit_2() {
    let out = run(&["events", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_error(&out, "unexpected argument '--bogus'");
    let out = run(&["agent", "--retention-size", "12XB"]);
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_error(&out, "unknown size unit");
}

#[test]
fn invalid_ip_or_port_filters_are_one_line_errors() {
    let out = run(&["flows", "--ip", "999.1.1.1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_error(&out, "invalid value '999.1.1.1' for '--ip <IP>'");
    let out = run(&["flows", "--port", "70000"]);
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_error(&out, "invalid value '70000' for '--port <PORT>'");
}

#[test]
fn invalid_request_filters_are_one_line_errors() {
    let out = run(&["requests", "--status", "6xx"]);
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_error(
        &out,
        "invalid value '6xx' for '--status <STATUS>': unknown status `6xx`; expected an HTTP class (1xx–5xx)",
    );
    let out = run(&["requests", "--min-latency", "abc"]);
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_error(
        &out,
        "invalid value 'abc' for '--min-latency <MIN_LATENCY>'",
    );
    let out = run(&["requests", "--protocol", "tcp"]);
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_error(&out, "invalid value 'tcp' for '--protocol <PROTOCOL>'");
}

#[test]
fn no_agent_running_says_how_to_start_one() {
    let out = run(&["status", "--server", "127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_one_line_error(&out, "start it with `sudo sonde agent`");
    let out = run(&["requests", "--server", "127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no table header before the error");
    assert_one_line_error(&out, "start it with `sudo sonde agent`");
}

#[test]
fn not_root_is_refused_with_what_to_do() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run_as_nobody(&["agent", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_one_line_error(&out, "must run as root");
}

#[test]
fn a_data_dir_that_is_a_file_is_not_writable() {
    if !is_root() {
        return;
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = run(&[
        "agent",
        "--data-dir",
        file.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_one_line_error(&out, "is not writable");
}

#[test]
fn a_corrupt_store_is_refused_and_left_untouched() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.redb");
    let garbage: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(&file, &garbage).unwrap();
    let out = sonde()
        .args([
            "agent",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_one_line_error(&out, "corrupt");
    assert_eq!(fs::read(&file).unwrap(), garbage, "not a byte changed");
}
