//! `.eh_frame` unwinding of real samples of C programs built without frame
//! pointers, taken with sonde's BPF profiler, and of garbage.

mod sampling;
mod support;

use std::time::Duration;

use sampling::{functions, outermost, percent, Sample, Workload, LEVELS, MAX_FRAMES};
use sonde_symbolize::THREAD_ENTRIES;
use sonde_symbolize::{AddressSpaces, Symbolizer, UnwindStats, Unwinder, UserRegs};
use support::compile;

const NO_FP: &[&str] = &["-O2", "-g", "-fomit-frame-pointer"];

/// Time in libc: `memset` of a large buffer (user mode) and `getppid`
/// (kernel mode: the user registers are those saved at the system call).
/// Neither is a tail call, so `fill` and `ask_parent` stay on the stack.
const IN_LIBC: &str = r#"#include <string.h>
#include <unistd.h>

char buffer[1 << 22];
volatile long sink;

__attribute__((noipa)) int fill(int c) {
    memset(buffer, c, sizeof buffer);
    return buffer[c & 4095]; /* not a tail call */
}

__attribute__((noipa)) long ask_parent(void) {
    long sum = 0;
    for (int i = 0; i < 2000; i++)
        sum += getppid();
    return sum;
}

int main(void) {
    for (int c = 0;; c++) {
        sink += fill(c) + ask_parent();
    }
}
"#;

/// Time in the vDSO: `clock_gettime` runs there, without a system call.
const IN_VDSO: &str = r#"#include <time.h>

volatile long sink;

__attribute__((noipa)) long read_clock(void) {
    struct timespec ts;
    long sum = 0;
    for (int i = 0; i < 2000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sum += ts.tv_nsec;
    }
    return sum;
}

int main(void) {
    for (;;)
        sink += read_clock();
}
"#;

/// Spins in a library it loads half a second after it started, after the
/// tests observed it.
const LOADER: &str = r#"#include <dlfcn.h>
#include <unistd.h>

volatile unsigned long sink;

int main(void) {
    usleep(500000);
    void *plugin = dlopen(PLUGIN, RTLD_NOW);
    if (!plugin)
        return 1;
    unsigned long (*spin)(unsigned long) = dlsym(plugin, "plugin_spin");
    if (!spin)
        return 2;
    for (unsigned long n = 0;; n++)
        sink = spin(n) + 1;
}
"#;

const PLUGIN: &str = r#"
__attribute__((noipa)) unsigned long plugin_inner(unsigned long n) {
    unsigned long x = n;
    for (unsigned long i = 0; i < 200000; i++)
        x = x * 6364136223846793005UL + i;
    return x;
}

unsigned long plugin_spin(unsigned long n) {
    return plugin_inner(n) ^ n;
}
"#;

/// A workload's samples, each unwound and symbolized both ways.
struct Unwinding {
    samples: Vec<(Sample, bool, Vec<String>, Vec<String>)>,
}

/// Runs `exe`, samples it for a second and unwinds every sample.
fn sample_and_unwind(exe: &std::path::Path) -> (Unwinding, UnwindStats) {
    let _one = sampling::one_at_a_time();
    let workload = Workload::spawn(exe.to_str().unwrap(), &[]);
    let pid = workload.pid();
    let (mut spaces, mut symbolizer, mut unwinder) = (
        AddressSpaces::new(),
        Symbolizer::new().unwrap(),
        Unwinder::new(),
    );
    // Before sampling, as the agent does on a process's first sample.
    spaces.observe(pid).unwrap();
    let samples = sampling::sample(pid, Duration::from_secs(1));
    let mut out = Vec::new();
    for sample in samples {
        let unwound = unwinder.unwind(&mut spaces, pid, sample.regs, &sample.stack, MAX_FRAMES);
        let dwarf = symbolizer.user_frames(&mut spaces, pid, &unwound.addrs);
        let fp = symbolizer.user_frames(&mut spaces, pid, &sample.fp);
        let owned = |frames: &[Vec<sonde_event::Frame>]| {
            let mut names: Vec<String> = functions(frames).into_iter().map(String::from).collect();
            // The outermost function last, even if something was inlined into it.
            if let Some(f) = outermost(frames) {
                names.push(format!("<{f}>"));
            }
            names
        };
        out.push((sample, unwound.complete, owned(&fp), owned(&dwarf)));
    }
    (Unwinding { samples: out }, unwinder.stats())
}

/// True if `names` (sampled function first, then the outermost marker)
/// ends where a thread begins.
fn reaches_entry(names: &[String]) -> bool {
    names
        .last()
        .and_then(|n| n.strip_prefix('<')?.strip_suffix('>'))
        .is_some_and(|f| THREAD_ENTRIES.contains(&f))
}

/// True if `wanted` appear in `names` in this order (not necessarily
/// adjacent).
fn in_order(names: &[String], wanted: &[&str]) -> bool {
    let mut rest = names.iter();
    wanted.iter().all(|w| rest.any(|n| n == w))
}

#[test]
fn unwinds_a_program_built_without_frame_pointers_to_its_entry() {
    if !sampling::can_sample() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "levels", LEVELS, NO_FP);
    let (unwinding, stats) = sample_and_unwind(&exe);

    let in_level3: Vec<_> = unwinding
        .samples
        .iter()
        .filter(|(_, _, _, dwarf)| dwarf.first().is_some_and(|f| f == "level3"))
        .collect();
    assert!(
        in_level3.len() >= 100,
        "{} of {} samples in level3",
        in_level3.len(),
        unwinding.samples.len()
    );
    let good = in_level3
        .iter()
        .filter(|(_, complete, _, dwarf)| {
            *complete
                && in_order(dwarf, &["level3", "level2", "level1", "main"])
                && reaches_entry(dwarf)
        })
        .count();
    let fp_truncated = in_level3
        .iter()
        .filter(|(_, _, fp, _)| !reaches_entry(fp))
        .count();
    let dwarf_truncated = in_level3
        .iter()
        .filter(|(_, _, _, dwarf)| !reaches_entry(dwarf))
        .count();
    eprintln!(
        "{} samples in level3: truncated {:.1}% with frame pointers, {:.1}% with .eh_frame; \
         {good} complete through level2, level1, main",
        in_level3.len(),
        percent(fp_truncated, in_level3.len()),
        percent(dwarf_truncated, in_level3.len()),
    );
    if let Some((sample, _, fp, dwarf)) = in_level3.first() {
        eprintln!(
            "e.g. frame pointers: {fp:?} ({} addresses)",
            sample.fp.len()
        );
        eprintln!("     .eh_frame:      {dwarf:?}");
    }
    eprintln!("{stats:?}");
    assert!(
        good * 10 > in_level3.len() * 9,
        "{good} of {} level3 samples unwound completely",
        in_level3.len()
    );
    assert_eq!(stats.files_unreadable, 0, "{stats:?}");
}

#[test]
fn unwinds_through_libc_up_to_main() {
    if !sampling::can_sample() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "in_libc", IN_LIBC, NO_FP);
    let (unwinding, _) = sample_and_unwind(&exe);

    // Samples whose sampled instruction is in libc: memset, getppid.
    let in_libc: Vec<_> = unwinding
        .samples
        .iter()
        .filter(|(_, _, _, dwarf)| {
            dwarf.first().is_some_and(|f| {
                f.contains("memset") || f.contains("getppid") || f.contains("syscall")
            })
        })
        .collect();
    let kernel_mode = in_libc.iter().filter(|(s, ..)| s.kernel_mode).count();
    assert!(
        in_libc.len() >= 50 && kernel_mode >= 10,
        "{} of {} samples in libc, {kernel_mode} of them in the kernel",
        in_libc.len(),
        unwinding.samples.len()
    );
    let good = in_libc
        .iter()
        .filter(|(_, complete, _, dwarf)| {
            *complete
                && (in_order(dwarf, &["fill", "main"]) || in_order(dwarf, &["ask_parent", "main"]))
                && reaches_entry(dwarf)
        })
        .count();
    let fp_truncated = in_libc
        .iter()
        .filter(|(_, _, fp, _)| !reaches_entry(fp))
        .count();
    eprintln!(
        "{} samples in libc ({kernel_mode} in the kernel): {good} unwound to main and the entry; \
         {:.1}% truncated with frame pointers",
        in_libc.len(),
        percent(fp_truncated, in_libc.len()),
    );
    if let Some((_, _, _, dwarf)) = in_libc.iter().find(|(s, ..)| s.kernel_mode) {
        eprintln!("e.g. {dwarf:?}");
    }
    assert!(
        good * 10 > in_libc.len() * 9,
        "{good} of {} libc samples unwound completely",
        in_libc.len()
    );
}

#[test]
fn unwinds_through_the_vdso() {
    if !sampling::can_sample() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "in_vdso", IN_VDSO, NO_FP);
    let (unwinding, _) = sample_and_unwind(&exe);

    let in_vdso: Vec<_> = unwinding
        .samples
        .iter()
        .filter(|(_, _, _, dwarf)| dwarf.first().is_some_and(|f| f.contains("clock_gettime")))
        .collect();
    assert!(
        in_vdso.len() >= 50,
        "{} of {} samples in the vDSO",
        in_vdso.len(),
        unwinding.samples.len()
    );
    let good = in_vdso
        .iter()
        .filter(|(_, complete, _, dwarf)| {
            *complete && in_order(dwarf, &["read_clock", "main"]) && reaches_entry(dwarf)
        })
        .count();
    eprintln!(
        "{} samples in the vDSO: {good} unwound to main and the entry",
        in_vdso.len()
    );
    if let Some((_, _, _, dwarf)) = in_vdso.first() {
        eprintln!("e.g. {dwarf:?}");
    }
    assert!(
        good * 10 > in_vdso.len() * 9,
        "{good} of {} vDSO samples unwound completely",
        in_vdso.len()
    );
}

#[test]
fn unwinds_a_library_loaded_after_the_process_was_observed() {
    if !sampling::can_sample() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plugin = compile(
        dir.path(),
        "libplugin.so",
        PLUGIN,
        &["-shared", "-fPIC", "-O2", "-g", "-fomit-frame-pointer"],
    );
    let define = format!("-DPLUGIN=\"{}\"", plugin.display());
    let exe = compile(dir.path(), "loader", LOADER, &[NO_FP, &[&define]].concat());
    let (unwinding, stats) = sample_and_unwind(&exe);

    let in_plugin: Vec<_> = unwinding
        .samples
        .iter()
        .filter(|(_, _, _, dwarf)| dwarf.first().is_some_and(|f| f == "plugin_inner"))
        .collect();
    assert!(
        in_plugin.len() >= 100,
        "{} of {} samples in the library",
        in_plugin.len(),
        unwinding.samples.len()
    );
    let good = in_plugin
        .iter()
        .filter(|(_, complete, _, dwarf)| {
            *complete
                && in_order(dwarf, &["plugin_inner", "plugin_spin", "main"])
                && reaches_entry(dwarf)
        })
        .count();
    eprintln!(
        "{} samples in the library: {good} unwound to main and the entry",
        in_plugin.len()
    );
    assert!(
        good * 10 > in_plugin.len() * 9,
        "{good} of {} library samples unwound completely",
        in_plugin.len()
    );
    // Built when first unwound, again once the maps showed the library.
    assert_eq!(stats.module_builds, 2, "{stats:?}");
}

/// xorshift64*: reproducible noise without a dependency.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[inline(never)]
fn code_of_this_test() -> u64 {
    code_of_this_test as *const () as u64
}

#[test]
fn garbage_is_never_complete_and_never_panics() {
    if !support::can_run() {
        return;
    }
    let own = std::process::id();
    let mut spaces = AddressSpaces::new();
    let mut unwinder = Unwinder::new();
    let real_code = [code_of_this_test(), libc::getpid as *const () as u64];
    let mut noise = Noise(0x5eed_5eed_5eed);
    let regs = |ip, sp, bp| UserRegs { ip, sp, bp };

    // The edges: nothing to start from, or nowhere to read.
    let stack = noise.bytes(4096);
    let sp = 0x7ffd_0000_0000;
    for (pid, regs, stack) in [
        (own, regs(0, 0, 0), &stack[..]),
        (own, regs(real_code[1], 0, 0), &stack[..]),
        (own, regs(real_code[1], sp, 0), &[][..]),
        (own, regs(real_code[1], sp, 0), &stack[..5]),
        (own, regs(real_code[0], u64::MAX, u64::MAX), &stack[..]),
        (
            support::unused_pid(),
            regs(real_code[1], sp, sp),
            &stack[..],
        ),
    ] {
        let unwound = unwinder.unwind(&mut spaces, pid, regs, stack, MAX_FRAMES);
        assert!(!unwound.complete, "{regs:x?}: {unwound:x?}");
        assert!(unwound.addrs.len() <= 1, "{regs:x?}: {unwound:x?}");
    }
    assert_eq!(
        unwinder.unwind(&mut spaces, own, regs(real_code[1], sp, 0), &stack, 0),
        sonde_symbolize::Unwound {
            addrs: vec![],
            complete: false
        }
    );

    // Noise: random registers (or real code with a random stack), random
    // stacks of random lengths.
    for round in 0..2000 {
        let ip = match round % 3 {
            0 => noise.next(),
            _ => real_code[round % 2],
        };
        let sp = match round % 4 {
            0 => noise.next(),
            1 => noise.next() % 0x10000,
            _ => 0x7ffd_0000_0000 + (noise.next() % 0x1000) * 8,
        };
        let len = (noise.next() % 16384) as usize;
        let stack = noise.bytes(len);
        let regs = regs(ip, sp, noise.next());
        let unwound = unwinder.unwind(&mut spaces, own, regs, &stack, MAX_FRAMES);
        assert!(!unwound.complete, "{regs:x?}: {unwound:x?}");
        assert!(unwound.addrs.len() <= MAX_FRAMES);
    }

    let stats = unwinder.stats();
    eprintln!("{stats:?}");
    assert_eq!(stats.stacks, 2007);
    assert_eq!(stats.complete, 0);
    assert_eq!(
        stats.out_of_stack
            + stats.max_frames
            + stats.unmapped
            + stats.errors
            + stats.unknown_process
            + stats.no_registers,
        stats.stacks
    );
    assert_eq!(stats.unknown_process, 1);
}
