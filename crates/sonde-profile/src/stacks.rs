//! The one walk over every sampled stack of a set of profiles, shared by the
//! writers so they all agree on what was sampled.

use sonde_event::{Frame, Profile, Workload};

/// One distinct stack of one thread and how often it was sampled.
pub(crate) struct SampledStack<'a> {
    pub process: &'a Workload,
    pub thread: &'a str,
    /// Root first, the sampled (leaf) frame last; user frames, then kernel frames.
    pub frames: Vec<&'a Frame>,
    pub samples: u64,
}

/// Every stack sampled at least once, profile by profile. Frame indexes past
/// the end of a profile's frame table are skipped.
pub(crate) fn sampled_stacks(profiles: &[Profile]) -> impl Iterator<Item = SampledStack<'_>> {
    profiles.iter().flat_map(|profile| {
        profile
            .resolved_stacks()
            .filter(|(_, stack)| stack.samples > 0)
            .map(|(frames, stack)| SampledStack {
                process: &profile.process,
                thread: &stack.thread,
                frames,
                samples: stack.samples,
            })
    })
}
