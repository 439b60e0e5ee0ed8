//! How many user stacks stop short of where their thread began, unwound by
//! the kernel with frame pointers and by [`Unwinder`] with `.eh_frame`, on
//! real samples of three workloads; and what unwinding costs. Prints the
//! numbers; asserts `.eh_frame` unwinding is at least as complete as frame
//! pointers on each. For the numbers:
//! `cargo test --release -p sonde-symbolize --test unwind_truncation -- --nocapture`.

mod sampling;
mod support;

use std::time::{Duration, Instant};

use sampling::{functions, no_entry, percent, truncated, Sample, Workload, LEVELS, MAX_FRAMES};
use sonde_symbolize::{AddressSpaces, Symbolizer, Unwinder, Unwound};
use support::compile;

/// One workload's numbers.
struct Measured {
    samples: usize,
    fp_truncated: usize,
    dwarf_truncated: usize,
    fp_no_entry: usize,
    dwarf_no_entry: usize,
    complete: usize,
    /// Unwinding every sample once, with the tables already read.
    unwind_time: Duration,
    /// The first pass: reading the tables, building the modules.
    first_pass: Duration,
}

fn measure(program: &str, args: &[&str]) -> Measured {
    let _one = sampling::one_at_a_time();
    let workload = Workload::spawn(program, args);
    let pid = workload.pid();
    let samples = sampling::sample(pid, Duration::from_secs(1));
    let (mut spaces, mut symbolizer, mut unwinder) = (
        AddressSpaces::new(),
        Symbolizer::new().unwrap(),
        Unwinder::new(),
    );
    spaces.observe(pid).unwrap();

    let unwind_all = |unwinder: &mut Unwinder, spaces: &mut AddressSpaces| {
        let start = Instant::now();
        let unwound: Vec<Unwound> = samples
            .iter()
            .map(|s: &Sample| unwinder.unwind(spaces, pid, s.regs, &s.stack, MAX_FRAMES))
            .collect();
        (unwound, start.elapsed())
    };
    let (_, first_pass) = unwind_all(&mut unwinder, &mut spaces);
    let (unwound, unwind_time) = unwind_all(&mut unwinder, &mut spaces);

    let mut measured = Measured {
        samples: samples.len(),
        fp_truncated: 0,
        dwarf_truncated: 0,
        fp_no_entry: 0,
        dwarf_no_entry: 0,
        complete: 0,
        unwind_time,
        first_pass,
    };
    for (i, (sample, unwound)) in samples.iter().zip(&unwound).enumerate() {
        let fp = symbolizer.user_frames(&mut spaces, pid, &sample.fp);
        let dwarf = symbolizer.user_frames(&mut spaces, pid, &unwound.addrs);
        if i == 0 {
            eprintln!("{program}, e.g.:");
            eprintln!("  frame pointers: {:?}", functions(&fp));
            eprintln!("  .eh_frame:      {:?}", functions(&dwarf));
        }
        measured.fp_truncated += usize::from(truncated(&fp));
        measured.dwarf_truncated += usize::from(truncated(&dwarf));
        measured.fp_no_entry += usize::from(no_entry(&fp));
        measured.dwarf_no_entry += usize::from(no_entry(&dwarf));
        measured.complete += usize::from(unwound.complete);
    }
    eprintln!("{program}: {:?}", unwinder.stats());
    measured
}

#[test]
fn eh_frame_unwinding_truncates_no_more_than_frame_pointers() {
    if !sampling::can_sample() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let levels = compile(
        dir.path(),
        "levels",
        LEVELS,
        &["-O2", "-g", "-fomit-frame-pointer"],
    );
    let workloads = [
        (
            "C, -O2 -fomit-frame-pointer",
            measure(levels.to_str().unwrap(), &[]),
        ),
        (
            "python3 -c 'while True: sum(range(1000))'",
            // Debian's python, built without frame pointers (not a pyenv shim).
            measure("/usr/bin/python3", &["-c", "while True: sum(range(1000))"]),
        ),
        (
            "dd if=/dev/zero of=/dev/null bs=1M",
            measure("dd", &["if=/dev/zero", "of=/dev/null", "bs=1M"]),
        ),
    ];

    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    eprintln!();
    eprintln!(
        "{:<44} {:>7} {:>15} {:>15} {:>9} {:>10} {:>11}",
        "workload",
        "samples",
        "truncated FP",
        "truncated DWARF",
        "complete",
        "µs/unwind",
        "first pass"
    );
    for (name, m) in &workloads {
        let per = m.unwind_time.as_secs_f64() * 1e6 / m.samples.max(1) as f64;
        let pair = |a, b| {
            format!(
                "{:.1}% ({:.1}%)",
                percent(a, m.samples),
                percent(b, m.samples)
            )
        };
        eprintln!(
            "{name:<44} {:>7} {:>15} {:>15} {:>8.1}% {per:>10.2} {:>11.1?}",
            m.samples,
            pair(m.fp_truncated, m.fp_no_entry),
            pair(m.dwarf_truncated, m.dwarf_no_entry),
            percent(m.complete, m.samples),
            m.first_pass,
        );
    }
    eprintln!(
        "truncated: the outermost frame is not a thread entry (in parentheses: \
         no thread entry anywhere in the stack); complete: as the unwinder says"
    );
    let (samples, time) = workloads
        .iter()
        .fold((0, Duration::ZERO), |(n, t), (_, m)| {
            (n + m.samples, t + m.unwind_time)
        });
    eprintln!(
        "{:.0} unwinds/s ({build} build, tables already read)",
        samples as f64 / time.as_secs_f64()
    );

    for (name, m) in &workloads {
        assert!(m.samples >= 100, "{name}: only {} samples", m.samples);
        assert!(
            m.dwarf_truncated <= m.fp_truncated,
            "{name}: {} truncated with .eh_frame, {} with frame pointers",
            m.dwarf_truncated,
            m.fp_truncated
        );
        assert!(
            m.dwarf_no_entry <= m.fp_no_entry,
            "{name}: {} without an entry with .eh_frame, {} with frame pointers",
            m.dwarf_no_entry,
            m.fp_no_entry
        );
    }
}
