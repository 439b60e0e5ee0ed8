//! `go tool pprof` reads what [`sonde_profile::encode_pprof`] writes: the
//! profile parses, and its functions and sample totals come out as built.
//! Skips, saying so, when Go is not installed.

use std::path::Path;
use std::process::{Command, Output};

use sonde_event::{Frame, FrameKind, Profile, ProfileStats, StackCount, Timestamp, Workload};

fn frame(function: &str, offset: u64, kind: FrameKind, inlined: bool) -> Frame {
    let user = kind == FrameKind::User;
    Frame {
        function: Some(function.to_string()),
        module: if user { "/srv/api/api" } else { "[kernel]" }.to_string(),
        offset,
        file: user.then(|| "api.c".to_string()),
        line: user.then_some(offset as u32 / 0x100),
        kind,
        inlined,
    }
}

fn stack(frames: &[u32], thread: &str, samples: u64) -> StackCount {
    StackCount {
        frames: frames.to_vec(),
        thread: thread.to_string(),
        samples,
    }
}

/// 100 samples at 100 Hz (10 ms each): `hash_block`, inlined into `serve`,
/// runs 75 of them (over two threads), `compress` 20 and the kernel's
/// `ksys_write` 5.
fn api_profile() -> Profile {
    Profile {
        time: Timestamp(1_700_000_000_000_000_000),
        duration_ns: 10_000_000_000,
        hz: 100,
        process: Workload {
            exec_id: "exec-4242".to_string(),
            pid: 4242,
            comm: "api".to_string(),
            binary: "/srv/api/api".to_string(),
            container: None,
        },
        frames: vec![
            frame("main", 0x1000, FrameKind::User, false),
            frame("serve", 0x2000, FrameKind::User, false),
            frame("hash_block", 0x2000, FrameKind::User, true),
            frame("compress", 0x3000, FrameKind::User, false),
            frame(
                "entry_SYSCALL_64",
                0xffff_ffff_8200_0000,
                FrameKind::Kernel,
                false,
            ),
            frame(
                "ksys_write",
                0xffff_ffff_8130_0000,
                FrameKind::Kernel,
                false,
            ),
        ],
        stacks: vec![
            stack(&[0, 1, 2], "api", 60),
            stack(&[0, 1, 2], "api-worker", 15),
            stack(&[0, 3], "api", 20),
            stack(&[0, 1, 4, 5], "api", 5),
        ],
        stats: ProfileStats {
            samples: 100,
            ..ProfileStats::default()
        },
    }
}

/// Runs `go tool pprof ARGS FILE` with Go's state kept under `scratch`.
fn pprof(scratch: &Path, args: &[&str], file: &Path) -> Output {
    let output = Command::new("go")
        .args(["tool", "pprof"])
        .args(args)
        .arg(file)
        .env("HOME", scratch)
        .env("GOCACHE", scratch.join("gocache"))
        .env("GOPATH", scratch.join("gopath"))
        .env("PPROF_TMPDIR", scratch.join("pprof"))
        .env("PPROF_BINARY_PATH", scratch.join("no-binaries"))
        .output()
        .expect("running go tool pprof");
    assert!(
        output.status.success(),
        "go tool pprof {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn go_installed() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|output| output.status.success())
}

#[test]
fn go_tool_pprof_reads_the_profile() {
    if !go_installed() {
        eprintln!("SKIP: go not installed (apt-get install golang-go)");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("api.pb.gz");
    std::fs::write(&file, sonde_profile::encode_pprof(&[api_profile()])).unwrap();

    let raw = pprof(scratch.path(), &["-raw"], &file);
    let raw = String::from_utf8(raw.stdout).unwrap();
    assert!(raw.contains("PeriodType: cpu nanoseconds"), "{raw}");
    assert!(raw.contains("Period: 10000000"), "{raw}");
    assert!(raw.contains("samples/count cpu/nanoseconds"), "{raw}");
    for values in [
        "60  600000000",
        "15  150000000",
        "20  200000000",
        "5   50000000",
    ] {
        assert!(raw.contains(values), "sample {values:?} in {raw}");
    }
    for name in ["main", "serve", "hash_block", "compress", "ksys_write"] {
        assert!(raw.contains(name), "{name} in {raw}");
    }
    assert!(raw.contains("thread:[api-worker]"), "{raw}");
    assert!(raw.contains("pid:[4242]"), "{raw}");
    // `hash_block` inlined into `serve`: one location, the callee first.
    let inline = raw
        .lines()
        .position(|line| line.contains(": 0x2000 M=1 hash_block api.c:32"))
        .unwrap_or_else(|| panic!("no inline location in {raw}"));
    assert!(raw
        .lines()
        .nth(inline + 1)
        .unwrap()
        .trim()
        .starts_with("serve api.c:32"));

    let top = pprof(scratch.path(), &["-top", "-nodecount=5"], &file);
    let top = String::from_utf8(top.stdout).unwrap();
    assert!(top.contains("1000ms, 100% of 1000ms total"), "{top}");
    // flat, flat%, sum%, cum, cum%, name; pprof marks an inlined function.
    let row = |row: &str| {
        top.lines()
            .find(|line| line.trim_end().ends_with(&format!("  {row}")))
            .unwrap_or_else(|| panic!("no row {row:?} in {top}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(row("hash_block (inline)")[..2], ["750ms", "75.00%"]);
    assert_eq!(row("compress")[..2], ["200ms", "20.00%"]);
    assert_eq!(row("ksys_write")[..2], ["50ms", "5.00%"]);
    assert_eq!(row("main")[..5], ["0", "0%", "100%", "1000ms", "100%"]);
}
