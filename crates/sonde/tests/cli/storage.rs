//! The agent and its store under pressure: retention and a full disk.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{is_root, AgentProcess};

fn run_marked(marker: &str) {
    assert!(Command::new("/bin/true")
        .arg(marker)
        .status()
        .unwrap()
        .success());
}

#[test]
fn retention_applies_when_the_agent_starts() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    {
        let agent = AgentProcess::start(dir.path());
        run_marked("retention-marker");
        agent.wait_events(&["--binary", "true", "--since", "1m"], 1);
    }
    std::thread::sleep(Duration::from_millis(1500));
    let agent = AgentProcess::start_with(dir.path(), &["--retention-age", "1s"]);
    let left = agent.events(&["--binary", "true", "--since", "10m"]);
    assert!(
        left.iter()
            .all(|e| !e.to_string().contains("retention-marker")),
        "events older than 1s were deleted at start-up: {left:?}"
    );
    let deleted = agent.status()["pipeline"]["retention_deleted_events"]
        .as_u64()
        .unwrap();
    assert!(
        deleted >= 2,
        "the marker's exec and exit at least: {deleted}"
    );
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                dir.path().to_str().unwrap(),
            ])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIP: cannot mount a tmpfs");
            return None;
        }
        Some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_full_disk_is_counted_and_the_agent_keeps_serving() {
    if !is_root() {
        return;
    }
    let Some(disk) = SmallDisk::mount("4m") else {
        return;
    };
    let agent = AgentProcess::start(disk.0.path());
    run_marked("before-full");
    agent.wait_events(&["--binary", "true", "--since", "1m"], 1);

    // ~30 KiB of argv per exec: 400 of them cannot fit in 4 MiB.
    let big = "z".repeat(30 * 1024);
    for _ in 0..400 {
        Command::new("/bin/true").arg(&big).status().unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        let status = agent.status();
        if status["pipeline"]["store_failed_events"].as_u64().unwrap() > 0 {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "no store failure counted: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let failed = status["pipeline"]["store_failed_events"].as_u64().unwrap();
    assert!(status["lost_total"].as_u64().unwrap() >= failed, "{status}");

    // Still serving, and what was stored before the disk filled is still there.
    let before = agent.events(&["--binary", "true", "--since", "10m", "--type", "exec"]);
    assert!(before.iter().any(|e| e.to_string().contains("before-full")));
    drop(agent);
}
