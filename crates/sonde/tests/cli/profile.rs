//! `sonde profile` against a running agent: new and stored profiles in every
//! output format, and the errors a user can make.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{is_root, run, stderr, AgentProcess};

fn busy_dd() -> Child {
    Command::new("dd")
        .args(["if=/dev/zero", "of=/dev/null", "bs=1M", "count=100000000"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_target_is_required_and_hz_only_goes_with_duration() {
    let out = run(&["profile"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--pid"), "{}", stderr(&out));
    let out = run(&["profile", "--all", "--hz", "99"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--duration"), "{}", stderr(&out));
    let out = run(&["profile", "--pid", "1", "--all"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn new_and_stored_profiles_in_every_format() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start_with(
        dir.path(),
        &["--profile-hz", "49", "--profile-window", "2s"],
    );
    let mut dd = busy_dd();
    let pid = dd.id().to_string();

    // A new profile: the top table, then folded stacks.
    let out = agent.cli(&["profile", "--pid", &pid, "--duration", "1s", "--hz", "199"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let top = String::from_utf8_lossy(&out.stdout);
    let first = top.lines().nth(1).unwrap_or_default();
    assert!(first.ends_with("read_zero"), "{top}");
    let out = agent.cli(&["profile", "--pid", &pid, "--duration", "1s", "-o", "folded"]);
    let folded = String::from_utf8_lossy(&out.stdout);
    assert!(
        folded.lines().all(|l| l.starts_with("dd;")),
        "every stack is dd's: {folded}"
    );
    assert!(folded.contains(";read_zero_[k] "), "{folded}");

    // pprof to a file, read by Go's pprof.
    let pprof = dir.path().join("dd.pb.gz");
    let out = agent.cli(&[
        "profile",
        "--pid",
        &pid,
        "--duration",
        "1s",
        "-o",
        "pprof",
        "--file",
        pprof.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&pprof).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip");
    if crate::harness::installed("go") {
        let go = Command::new("go")
            .args(["tool", "pprof", "-top"])
            .arg(&pprof)
            .env("HOME", dir.path())
            .env("GOCACHE", dir.path().join("gocache"))
            .output()
            .unwrap();
        assert!(
            go.status.success(),
            "{}",
            String::from_utf8_lossy(&go.stderr)
        );
        assert!(String::from_utf8_lossy(&go.stdout).contains("read_zero"));
    }

    // Go's own route: `go tool pprof http://…/debug/pprof/profile` works.
    let go_route = dir.path().join("all.pb.gz");
    let curl = Command::new("curl")
        .args(["-fsS", "-o"])
        .arg(&go_route)
        .arg(format!(
            "http://{}/debug/pprof/profile?seconds=1",
            agent.server
        ))
        .status()
        .unwrap();
    assert!(curl.success());
    assert_eq!(&std::fs::read(&go_route).unwrap()[..2], &[0x1f, 0x8b]);

    // Stored: the continuous profiler's windows of dd, as a flame graph.
    let svg = dir.path().join("dd.svg");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = agent.cli(&[
            "profile",
            "--pid",
            &pid,
            "--since",
            "1m",
            "-o",
            "svg",
            "--file",
            svg.to_str().unwrap(),
        ]);
        if out.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no stored profile: {}",
            stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("read_zero"));
    dd.kill().unwrap();
    dd.wait().unwrap();

    // Mistakes: a pid that does not exist, a rate out of range.
    let out = agent.cli(&["profile", "--pid", "999999999", "--duration", "1s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no process with pid 999999999"),
        "{}",
        stderr(&out)
    );
    let out = agent.cli(&["profile", "--all", "--duration", "1s", "--hz", "5000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("hz must be between 1 and 999"),
        "{}",
        stderr(&out)
    );
}
