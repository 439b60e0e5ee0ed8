//! The functions that took the most samples, as `perf report` ranks them:
//! by self time (the function was running) or by total time (the function
//! was on the stack).

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use sonde_event::Profile;

use crate::stacks::sampled_stacks;

/// One function's share of the samples of a set of profiles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionShare {
    /// [`Frame::name`](sonde_event::Frame::name): the function, or
    /// `[unknown] module+0xoffset`. User and kernel functions of one name
    /// are counted together.
    pub name: String,
    pub samples: u64,
    /// `samples` as a percentage of every sample of the profiles, stacks
    /// without frames included.
    pub percent: f64,
}

/// The `n` functions most often sampled as the leaf (innermost) frame: self
/// time, `perf report --no-children`. An inlined function at the leaf counts
/// for itself, not for the function it was inlined into. Sorted by samples,
/// most first, then by name.
pub fn top_self(profiles: &[Profile], n: usize) -> Vec<FunctionShare> {
    let mut samples: HashMap<String, u64> = HashMap::new();
    let mut total = 0u64;
    for stack in sampled_stacks(profiles) {
        total = total.saturating_add(stack.samples);
        if let Some(leaf) = stack.frames.last() {
            let count = samples.entry(leaf.name()).or_default();
            *count = count.saturating_add(stack.samples);
        }
    }
    ranked(samples, total, n)
}

/// The `n` functions most often anywhere on the sampled stack: total
/// (inclusive) time, `perf report --children`. A recursive function counts
/// once per stack. Sorted by samples, most first, then by name.
pub fn top_total(profiles: &[Profile], n: usize) -> Vec<FunctionShare> {
    let mut samples: HashMap<String, u64> = HashMap::new();
    let mut total = 0u64;
    for stack in sampled_stacks(profiles) {
        total = total.saturating_add(stack.samples);
        let names: BTreeSet<String> = stack.frames.iter().map(|frame| frame.name()).collect();
        for name in names {
            let count = samples.entry(name).or_default();
            *count = count.saturating_add(stack.samples);
        }
    }
    ranked(samples, total, n)
}

fn ranked(samples: HashMap<String, u64>, total: u64, n: usize) -> Vec<FunctionShare> {
    let mut shares: Vec<FunctionShare> = samples
        .into_iter()
        .map(|(name, samples)| FunctionShare {
            name,
            samples,
            percent: samples as f64 * 100.0 / total as f64,
        })
        .collect();
    shares.sort_by(|a, b| b.samples.cmp(&a.samples).then_with(|| a.name.cmp(&b.name)));
    shares.truncate(n);
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_profiles::two_processes;

    fn table(shares: &[FunctionShare]) -> Vec<(&str, u64, f64)> {
        shares
            .iter()
            .map(|s| (s.name.as_str(), s.samples, s.percent))
            .collect()
    }

    #[test]
    fn self_time_is_the_leaf_frame() {
        assert_eq!(
            table(&top_self(&two_processes(), 10)),
            [
                ("parse", 50, 50.0),
                ("tcp_sendmsg", 25, 25.0),
                ("crunch", 20, 20.0),
                ("a;b\nc", 5, 5.0),
            ]
        );
    }

    #[test]
    fn total_time_counts_every_stack_holding_the_function() {
        assert_eq!(
            table(&top_total(&two_processes(), 10)),
            [
                ("main", 100, 100.0),
                ("handle", 75, 75.0),
                ("parse", 50, 50.0),
                ("[unknown] libc.so.6+0x2a0", 25, 25.0),
                ("do_syscall_64", 25, 25.0),
                ("tcp_sendmsg", 25, 25.0),
                ("crunch", 20, 20.0),
                ("a;b\nc", 5, 5.0),
            ]
        );
    }

    #[test]
    fn n_keeps_the_first_and_ties_go_by_name() {
        assert_eq!(
            table(&top_total(&two_processes(), 5)),
            [
                ("main", 100, 100.0),
                ("handle", 75, 75.0),
                ("parse", 50, 50.0),
                ("[unknown] libc.so.6+0x2a0", 25, 25.0),
                ("do_syscall_64", 25, 25.0),
            ]
        );
        assert!(top_self(&two_processes(), 0).is_empty());
    }

    #[test]
    fn recursion_counts_once_per_stack() {
        let mut profiles = two_processes();
        profiles[1].stacks[0].frames = vec![0, 1, 1, 1];
        let total = top_total(&profiles, 10);
        let crunch = total.iter().find(|s| s.name == "crunch").unwrap();
        assert_eq!(crunch.samples, 20);
    }

    #[test]
    fn no_samples_no_functions() {
        assert!(top_self(&[], 5).is_empty());
        assert!(top_total(&[], 5).is_empty());
    }
}
