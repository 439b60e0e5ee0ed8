//! Brendan Gregg's folded stacks: one line per distinct stack,
//! `comm;root;...;leaf count`, the input of `flamegraph.pl` and `inferno`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use sonde_event::{Frame, FrameKind, Profile};

use crate::stacks::{sampled_stacks, SampledStack};

/// Writes the folded stacks of `profiles`, one line each, sorted.
///
/// A line is the process's comm, then the stack's frames root first, joined by
/// `;`, then a space and the number of samples. Identical lines (the same
/// stack in two threads, or in two processes of the same comm) are merged into
/// one. Kernel frames end in `_[k]`, the suffix `perf script | stackcollapse`
/// and `inferno` colour as kernel code. In names, `;` becomes `:` and control
/// characters (newlines, tabs) become spaces, so every line parses back.
pub fn write_folded(profiles: &[Profile], out: &mut impl Write) -> io::Result<()> {
    for line in folded_lines(profiles) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The lines [`write_folded`] writes, without their newlines.
pub(crate) fn folded_lines(profiles: &[Profile]) -> Vec<String> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for stack in sampled_stacks(profiles) {
        let count = counts.entry(folded_stack(&stack)).or_default();
        *count = count.saturating_add(stack.samples);
    }
    counts
        .into_iter()
        .map(|(stack, count)| format!("{stack} {count}"))
        .collect()
}

fn folded_stack(stack: &SampledStack<'_>) -> String {
    let mut line = sanitize(&stack.process.comm);
    for frame in &stack.frames {
        line.push(';');
        line.push_str(&folded_frame(frame));
    }
    line
}

fn folded_frame(frame: &Frame) -> String {
    let mut name = sanitize(&frame.name());
    if frame.kind == FrameKind::Kernel {
        name.push_str("_[k]");
    }
    name
}

/// `name` with the characters that would break a folded line replaced.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            ';' => ':',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_profiles::{kernel, stack, two_processes, user, workload};
    use sonde_event::{ProfileStats, Timestamp};

    fn folded(profiles: &[Profile]) -> String {
        let mut out = Vec::new();
        write_folded(profiles, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn two_processes_fold_to_exact_lines() {
        assert_eq!(
            folded(&two_processes()),
            "batch;main;crunch 20\n\
             server;main;a:b c 5\n\
             server;main;handle;[unknown] libc.so.6+0x2a0;do_syscall_64_[k];tcp_sendmsg_[k] 25\n\
             server;main;handle;parse 50\n"
        );
    }

    #[test]
    fn processes_of_one_comm_merge() {
        let mut profiles = two_processes();
        profiles[1].process = workload(300, "server", None);
        assert!(folded(&profiles).contains("server;main;crunch 20\n"));

        profiles.push(profiles[1].clone());
        assert!(folded(&profiles).contains("server;main;crunch 40\n"));
    }

    #[test]
    fn a_stack_with_no_frames_is_the_process_alone() {
        let profile = Profile {
            time: Timestamp(0),
            duration_ns: 0,
            hz: 99,
            process: workload(1, "idle", None),
            frames: vec![kernel("cpu_idle", 0xffff_ffff_8100_1000)],
            stacks: vec![stack(&[], "idle", 3), stack(&[0], "idle", 2)],
            stats: ProfileStats::default(),
        };
        assert_eq!(folded(&[profile]), "idle 3\nidle;cpu_idle_[k] 2\n");
    }

    #[test]
    fn frame_indexes_out_of_range_are_skipped() {
        let profile = Profile {
            time: Timestamp(0),
            duration_ns: 0,
            hz: 99,
            process: workload(1, "app", None),
            frames: vec![user(Some("main"), "/app", 0x10, 1)],
            stacks: vec![stack(&[0, 7], "app", 1)],
            stats: ProfileStats::default(),
        };
        assert_eq!(folded(&[profile]), "app;main 1\n");
    }

    #[test]
    fn no_profiles_write_nothing() {
        assert_eq!(folded(&[]), "");
    }
}
