//! Real samples of a live process, taken with sonde's BPF profiler (stack
//! copy on), and what the unwinding tests compare: the kernel's
//! frame-pointer stack against the `.eh_frame` unwinding of the same sample.

#![allow(dead_code)] // Each test file uses a different part.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use libbpf_rs::RingBufferBuilder;
use sonde_bpf::decode::{decode, Record};
use sonde_bpf::{abi, ProfileOptions, ProfileProgram};
use sonde_event::Frame;
use sonde_symbolize::{UserRegs, THREAD_ENTRIES};

/// The address count the agent unwinds to.
pub const MAX_FRAMES: usize = 127;

/// One sample, owned.
#[derive(Debug, Clone)]
pub struct Sample {
    pub regs: UserRegs,
    /// The kernel's frame-pointer unwinding of the user stack.
    pub fp: Vec<u64>,
    /// The user stack bytes from `regs.sp` up.
    pub stack: Vec<u8>,
    pub kernel_mode: bool,
}

/// True if the profiler can be loaded and test programs compiled;
/// otherwise prints why not.
pub fn can_sample() -> bool {
    if let Err(e) = sonde_bpf::preflight() {
        eprintln!("SKIP: {e}");
        return false;
    }
    crate::support::can_run()
}

/// One profiler at a time: the tests of one binary run in parallel, on
/// few CPUs, and each wants its workload to have one to itself.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running workload, killed on drop.
pub struct Workload(Child);

impl Workload {
    pub fn spawn(program: &str, args: &[&str]) -> Self {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it map its libraries and get to work.
        std::thread::sleep(Duration::from_millis(200));
        Self(child)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Samples process `pid` at 499 Hz for `duration`, with the stack copy.
pub fn sample(pid: u32, duration: Duration) -> Vec<Sample> {
    let profiler = ProfileProgram::load(ProfileOptions {
        hz: 499,
        pid: Some(pid),
        copy_stack: true,
        ring_bytes: 1 << 24,
    })
    .expect("load the profiler");
    let ring = profiler.events().unwrap();
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sink = samples.clone();
    let mut builder = RingBufferBuilder::new();
    builder
        .add(&ring, move |bytes| {
            if let Ok(Record::Sample(s)) = decode(bytes) {
                sink.lock().unwrap().push(Sample {
                    regs: UserRegs {
                        ip: s.event.user_ip,
                        sp: s.event.user_sp,
                        bp: s.event.user_bp,
                    },
                    fp: s.user_stack().collect(),
                    stack: s.stack.to_vec(),
                    kernel_mode: s.event.flags & abi::SAMPLE_KERNEL_MODE != 0,
                });
            }
            0
        })
        .unwrap();
    let rb = builder.build().unwrap();
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        // The kernel does not wake the reader for every record: poll, then
        // consume what is there anyway.
        rb.poll(Duration::from_millis(50)).unwrap();
        rb.consume().unwrap();
    }
    drop(profiler);
    rb.consume().unwrap();
    drop(rb);
    let samples = samples.lock().unwrap().clone();
    samples
}

/// The function of the outermost frame of a symbolized stack.
pub fn outermost(frames: &[Vec<Frame>]) -> Option<&str> {
    frames.last()?.first()?.function.as_deref()
}

/// The functions of a symbolized stack, sampled one first (inlined ones
/// before the function they were inlined into).
pub fn functions(frames: &[Vec<Frame>]) -> Vec<&str> {
    frames
        .iter()
        .flat_map(|f| f.iter().rev())
        .map(|f| f.function.as_deref().unwrap_or("?"))
        .collect()
}

/// A stack that does not reach where its thread began (an empty one is
/// not a stack, so not truncated).
pub fn truncated(frames: &[Vec<Frame>]) -> bool {
    !frames.is_empty() && !outermost(frames).is_some_and(|f| THREAD_ENTRIES.contains(&f))
}

/// A stack with no thread entry in it at all: one whose outermost frame is
/// unnamed (a stripped executable's `_start`) but that went through
/// `__libc_start_call_main` is not.
pub fn no_entry(frames: &[Vec<Frame>]) -> bool {
    !frames.is_empty()
        && !frames.iter().flatten().any(|f| {
            f.function
                .as_deref()
                .is_some_and(|f| THREAD_ENTRIES.contains(&f))
        })
}

/// `n` as a percentage of `of` (0 when `of` is 0).
pub fn percent(n: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * n as f64 / of as f64
    }
}

/// `level3` spins, called through `level2` and `level1` from `main`. The
/// callers use the result, so no call is a tail call.
pub const LEVELS: &str = r#"
volatile unsigned long sink;

__attribute__((noipa)) unsigned long level3(unsigned long n) {
    unsigned long x = n;
    for (unsigned long i = 0; i < 200000; i++)
        x = x * 6364136223846793005UL + i;
    return x;
}

__attribute__((noipa)) unsigned long level2(unsigned long n) {
    return level3(n + 1) ^ n;
}

__attribute__((noipa)) unsigned long level1(unsigned long n) {
    return level2(n + 2) ^ n;
}

int main(void) {
    for (unsigned long n = 0;; n++)
        sink = level1(n);
}
"#;
