//! The storm: W threads, each `posix_spawn`ing the executable and waiting
//! for it, as fast as possible or on a shared schedule of `rate` per second.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::bail;

pub struct Config<'a> {
    pub exe: &'a Path,
    /// Execs per second over all workers; 0 = as fast as possible.
    pub rate: u64,
    pub duration: Duration,
    pub workers: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Children spawned (each one exec of the executable).
    pub generated: u64,
    pub spawn_failed: u64,
    /// Children that did not exit 0.
    pub child_failed: u64,
    /// First spawn to last child reaped.
    pub elapsed: Duration,
    /// Wall clock around the storm, in ns since the epoch.
    pub start_ns: u64,
    pub end_ns: u64,
}

impl Outcome {
    pub fn exec_per_s(&self) -> f64 {
        self.generated as f64 / self.elapsed.as_secs_f64()
    }
}

/// When each spawn may happen.
struct Schedule {
    start: Instant,
    end: Instant,
    rate: u64,
    ticket: AtomicU64,
}

impl Schedule {
    /// The time of the next spawn, or `None` once the storm is over. Behind
    /// schedule, spawns happen at once; the storm ends on time regardless.
    fn next(&self) -> Option<Instant> {
        let now = Instant::now();
        if now >= self.end {
            return None;
        }
        if self.rate == 0 {
            return Some(now);
        }
        let i = self.ticket.fetch_add(1, Relaxed);
        let at = self.start + Duration::from_nanos(i * 1_000_000_000 / self.rate);
        (at < self.end).then_some(at)
    }
}

#[derive(Default)]
struct Counters {
    generated: AtomicU64,
    spawn_failed: AtomicU64,
    child_failed: AtomicU64,
    first_errno: AtomicI32,
}

pub fn run(config: &Config) -> anyhow::Result<Outcome> {
    let exe = CString::new(config.exe.as_os_str().as_bytes())?;
    let counters = Counters::default();
    let start_ns = bench_support::time::now_ns();
    let start = Instant::now();
    let schedule = Schedule {
        start,
        end: start + config.duration,
        rate: config.rate,
        ticket: AtomicU64::new(0),
    };
    std::thread::scope(|s| {
        for _ in 0..config.workers.max(1) {
            s.spawn(|| worker(&exe, &schedule, &counters));
        }
    });
    let elapsed = start.elapsed();
    let end_ns = bench_support::time::now_ns();
    let outcome = Outcome {
        generated: counters.generated.load(Relaxed),
        spawn_failed: counters.spawn_failed.load(Relaxed),
        child_failed: counters.child_failed.load(Relaxed),
        elapsed,
        start_ns,
        end_ns,
    };
    if outcome.generated == 0 {
        let errno = counters.first_errno.load(Relaxed);
        bail!(
            "no process could be spawned ({})",
            std::io::Error::from_raw_os_error(errno)
        );
    }
    Ok(outcome)
}

fn worker(exe: &CStr, schedule: &Schedule, counters: &Counters) {
    let argv = [exe.as_ptr().cast_mut(), ptr::null_mut()];
    let envp = [ptr::null_mut()];
    while let Some(at) = schedule.next() {
        let wait = at.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        let mut pid: libc::pid_t = 0;
        // SAFETY: `exe` is a C string, `argv` and `envp` are null-terminated
        // arrays of C strings that outlive the call; default attributes.
        let rc = unsafe {
            libc::posix_spawn(
                &mut pid,
                exe.as_ptr(),
                ptr::null(),
                ptr::null(),
                argv.as_ptr(),
                envp.as_ptr(),
            )
        };
        if rc != 0 {
            counters.spawn_failed.fetch_add(1, Relaxed);
            let _ = counters
                .first_errno
                .compare_exchange(0, rc, Relaxed, Relaxed);
            // Likely EAGAIN: give the system a moment.
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        counters.generated.fetch_add(1, Relaxed);
        if !reap(pid) {
            counters.child_failed.fetch_add(1, Relaxed);
        }
    }
}

/// Waits for the child; true if it exited 0.
fn reap(pid: libc::pid_t) -> bool {
    let mut status = 0;
    loop {
        // SAFETY: `pid` is our child; `status` is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        }
        if r == -1 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return false;
        }
    }
}
