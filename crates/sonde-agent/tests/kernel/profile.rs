//! The CPU profiler end to end: perf events → BPF stacks → collector →
//! symbolizer → profiles, on programs the tests build and run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use sonde_agent::profiling::{ProfileRequest, SessionError, Target};
use sonde_event::{Event, Profile};

use crate::harness;

/// Spends `argv[1]` seconds of CPU time, three quarters of it in
/// `three_quarters` and one quarter in `one_quarter`. Each turn lasts a random
/// time, so the turns never beat with the sampling period.
const SPLIT_PROGRAM: &str = r#"
#include <stdlib.h>
#include <time.h>

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((noinline)) static void spin_for(double seconds)
{
	volatile unsigned long x = 0;
	double end = cpu_now() + seconds;
	while (cpu_now() < end)
		for (int i = 0; i < 2000; i++)
			x += i;
}

__attribute__((noinline)) void three_quarters(double turn) { spin_for(3 * turn); }
__attribute__((noinline)) void one_quarter(double turn) { spin_for(turn); }

int main(int argc, char **argv)
{
	unsigned int seed = 1;
	double end = cpu_now() + atof(argv[1]);
	while (cpu_now() < end) {
		/* 0.2 to 2 ms */
		double turn = 0.0002 + 0.0018 * (rand_r(&seed) / (double)RAND_MAX);
		three_quarters(turn);
		one_quarter(turn);
	}
	return 0;
}
"#;

/// Builds the split program with frame pointers into `dir`.
fn build_split_program(dir: &Path) -> Option<PathBuf> {
    if !crate::servers::installed("gcc") {
        return None;
    }
    let source = dir.join("split.c");
    std::fs::write(&source, SPLIT_PROGRAM).unwrap();
    let binary = dir.join("split");
    let status = Command::new("gcc")
        .args(["-O1", "-g", "-fno-omit-frame-pointer", "-o"])
        .arg(&binary)
        .arg(&source)
        .status()
        .unwrap();
    assert!(status.success(), "gcc failed");
    Some(binary)
}

fn spawn(binary: &Path, cpu_seconds: &str) -> Child {
    Command::new(binary).arg(cpu_seconds).spawn().unwrap()
}

/// Share of samples whose stack holds `function` (inclusive), in percent.
fn share(profiles: &[Profile], function: &str) -> f64 {
    sonde_profile::top_total(profiles, usize::MAX)
        .into_iter()
        .find(|f| f.name == function)
        .map_or(0.0, |f| f.percent)
}

#[test]
fn a_three_to_one_split_shows_as_75_and_25_percent_with_the_right_names() {
    let Some(agent) = harness::start_with(|c| c.profile_hz = 0) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(binary) = build_split_program(dir.path()) else {
        return;
    };
    let mut child = spawn(&binary, "4");
    let profiles = agent
        .handle
        .profile(&ProfileRequest {
            target: Target::Pid(child.id()),
            duration: Duration::from_secs(3),
            hz: 499,
        })
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(profiles.len(), 1);
    let p = &profiles[0];
    assert_eq!(p.process.pid, child.id());
    assert_eq!(p.process.comm, "split");
    // 3 s at 499 Hz is about 1,500 samples when the child has a CPU to
    // itself; on a loaded machine it gets less. 500 keeps the ±5-point
    // check below at more than 2.5 standard errors.
    assert!(p.stats.samples > 500, "{} samples", p.stats.samples);
    let (a, b) = (
        share(&profiles, "three_quarters"),
        share(&profiles, "one_quarter"),
    );
    eprintln!(
        "three_quarters {a:.1}%, one_quarter {b:.1}% of {} samples",
        p.stats.samples
    );
    assert!((a - 75.0).abs() <= 5.0, "three_quarters has {a:.1}%");
    assert!((b - 25.0).abs() <= 5.0, "one_quarter has {b:.1}%");
    // Frame pointers all the way: main is under nearly every sample.
    assert!(share(&profiles, "main") > 95.0);

    // The pprof of it is read by Go's own pprof.
    if !crate::servers::installed("go") {
        return;
    }
    let pprof = dir.path().join("split.pb.gz");
    std::fs::write(&pprof, sonde_profile::encode_pprof(&profiles)).unwrap();
    let out = Command::new("go")
        .args(["tool", "pprof", "-top", "-cum"])
        .arg(&pprof)
        .env("HOME", dir.path())
        .env("GOCACHE", dir.path().join("gocache"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("three_quarters") && text.contains("one_quarter"),
        "{text}"
    );
    agent.assert_no_loss();
}

#[test]
fn dd_from_dev_zero_spends_its_time_in_read_zero() {
    let Some(agent) = harness::start_with(|c| c.profile_hz = 0) else {
        return;
    };
    let mut dd = Command::new("dd")
        .args(["if=/dev/zero", "of=/dev/null", "bs=1M", "count=100000000"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let profiles = agent
        .handle
        .profile(&ProfileRequest {
            target: Target::Pid(dd.id()),
            duration: Duration::from_secs(1),
            hz: 199,
        })
        .unwrap();
    dd.kill().unwrap();
    dd.wait().unwrap();
    let top = sonde_profile::top_self(&profiles, 3);
    assert_eq!(top[0].name, "read_zero", "{top:?}");
    assert!(top[0].percent > 50.0, "{top:?}");
    // The kernel part of the stack: from the read syscall into the driver.
    assert!(
        share(&profiles, "vfs_read") > 50.0,
        "{:?}",
        sonde_profile::top_total(&profiles, 10)
    );
    // The user part: Debian's dd and libc have no frame pointers, so the
    // stack copy is unwound from .eh_frame, through libc to the start.
    let p = &profiles[0];
    let through_libc = share(&profiles, "__libc_start_call_main");
    assert!(
        through_libc > 90.0,
        "{through_libc:.1}% reach __libc_start_call_main"
    );
    assert!(
        p.stats.user_stacks_unwound_dwarf * 10 > p.stats.samples * 9,
        "{:?}",
        p.stats
    );
    assert!(
        p.stats.user_stacks_truncated * 10 < p.stats.samples,
        "{:?}",
        p.stats
    );
}

#[test]
fn a_process_that_exits_mid_window_from_a_deleted_binary_is_still_symbolized() {
    let Some(mut agent) = harness::start_with(|c| {
        c.profile_hz = 99;
        c.profile_window = Duration::from_secs(3);
    }) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(built) = build_split_program(dir.path()) else {
        return;
    };
    let binary = dir.path().join("short-lived");
    std::fs::rename(&built, &binary).unwrap();
    let mut child = spawn(&binary, "0.8");
    std::thread::sleep(Duration::from_millis(200));
    std::fs::remove_file(&binary).unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());

    let profile = agent.wait_for("the short-lived process's profile", |events| {
        events.iter().find_map(|e| match e.as_ref() {
            Event::Profile(p) if p.process.pid == pid => Some(p.clone()),
            _ => None,
        })
    });
    let names: Vec<String> = profile.frames.iter().map(|f| f.name()).collect();
    assert!(names.iter().any(|n| n == "three_quarters"), "{names:?}");
    assert!(names.iter().any(|n| n == "one_quarter"), "{names:?}");
    let ours = profile
        .frames
        .iter()
        .find(|f| f.function.as_deref() == Some("three_quarters"))
        .unwrap();
    assert_eq!(ours.module, binary.display().to_string());
    assert!(
        profile.stats.samples >= 40,
        "{} samples",
        profile.stats.samples
    );
}

#[test]
fn a_stripped_binary_s_frames_are_unknown_with_module_and_offset() {
    let Some(agent) = harness::start_with(|c| c.profile_hz = 0) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(binary) = build_split_program(dir.path()) else {
        return;
    };
    assert!(Command::new("strip")
        .arg(&binary)
        .status()
        .unwrap()
        .success());
    let mut child = spawn(&binary, "3");
    let profiles = agent
        .handle
        .profile(&ProfileRequest {
            target: Target::Pid(child.id()),
            duration: Duration::from_secs(1),
            hz: 199,
        })
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let p = &profiles[0];
    let module = binary.display().to_string();
    let unknown: Vec<_> = p.frames.iter().filter(|f| f.module == module).collect();
    assert!(!unknown.is_empty());
    assert!(unknown.iter().all(|f| f.function.is_none() && f.offset > 0));
    assert!(
        unknown[0].name().starts_with("[unknown] split+0x"),
        "{}",
        unknown[0].name()
    );
    assert!(p.stats.unknown_frames > 0);
}

#[test]
fn a_profile_of_a_pid_that_does_not_exist_is_refused() {
    let Some(agent) = harness::start_with(|c| c.profile_hz = 0) else {
        return;
    };
    let request = |target, hz| ProfileRequest {
        target,
        duration: Duration::from_secs(1),
        hz,
    };
    assert!(matches!(
        agent
            .handle
            .profile(&request(Target::Pid(u32::MAX - 1), 99)),
        Err(SessionError::NoSuchProcess(_))
    ));
    assert!(matches!(
        agent.handle.profile(&request(Target::All, 5000)),
        Err(SessionError::Hz(5000))
    ));
}

#[test]
fn a_stack_deeper_than_the_kernel_unwinds_is_cut_and_counted() {
    let Some(agent) = harness::start_with(|c| c.profile_hz = 0) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    if !crate::servers::installed("gcc") {
        return;
    }
    let source = dir.path().join("deep.c");
    std::fs::write(
        &source,
        r#"
__attribute__((noinline)) unsigned long descend(int depth)
{
	volatile unsigned long x = 0;
	if (depth == 0)
		for (;;)
			x++;
	return descend(depth - 1) + x;
}
int main(void) { return (int)descend(5000); }
"#,
    )
    .unwrap();
    let binary = dir.path().join("deep");
    let built = Command::new("gcc")
        .args([
            "-O1",
            "-fno-omit-frame-pointer",
            "-fno-optimize-sibling-calls",
            "-o",
        ])
        .arg(&binary)
        .arg(&source)
        .status()
        .unwrap();
    assert!(built.success());
    let mut child = Command::new(&binary).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let profiles = agent
        .handle
        .profile(&ProfileRequest {
            target: Target::Pid(child.id()),
            duration: Duration::from_millis(500),
            hz: 199,
        })
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let p = &profiles[0];
    assert!(p.stats.samples > 0);
    // Every stack is the recursion, cut: none reaches main. Frame pointers
    // stop at 127 frames; the .eh_frame unwinder may go a few frames further,
    // to the end of the 16 KiB stack copy, and then its stack is kept.
    for (frames, _) in p.resolved_stacks() {
        assert!(
            (127..=200).contains(&frames.len()),
            "{} frames",
            frames.len()
        );
        // A sample taken while the recursion faults in a new stack page
        // has kernel frames on top; the user part is the recursion alone.
        let names: Vec<String> = frames.iter().map(|f| f.name()).collect();
        let descends = names.iter().filter(|n| **n == "descend").count();
        assert!(descends >= 120, "{descends} descend frames: {names:?}");
        assert!(
            !names.iter().any(|n| n == "main"),
            "reached main: {names:?}"
        );
    }
    assert_eq!(p.stats.user_stacks_truncated, p.stats.samples);
    let depth_limited = agent
        .handle
        .stats()
        .snapshot()
        .profiler
        .stacks_depth_limited;
    assert_eq!(depth_limited, p.stats.samples);
}
