//! The encoder checked by decoding what it wrote.

use std::collections::HashSet;
use std::io::Read;

use super::*;
use crate::test_profiles::{inlined, stack, two_processes, user, workload, CONTAINER_ID};
use sonde_event::{ProfileStats, Timestamp};

fn decode(gz: &[u8]) -> pb::Profile {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut raw)
        .unwrap();
    pb::Profile::decode(raw.as_slice()).unwrap()
}

fn text(profile: &pb::Profile, index: i64) -> &str {
    &profile.string_table[usize::try_from(index).unwrap()]
}

fn function_name(profile: &pb::Profile, id: u64) -> &str {
    let function = profile.function.iter().find(|f| f.id == id).unwrap();
    text(profile, function.name)
}

/// Each location's function names, innermost first.
fn names(profile: &pb::Profile, location_id: u64) -> Vec<&str> {
    let location = profile
        .location
        .iter()
        .find(|l| l.id == location_id)
        .unwrap();
    location
        .line
        .iter()
        .map(|line| function_name(profile, line.function_id))
        .collect()
}

/// Each sample's stack (leaf first, one entry per location) and values.
fn stacks(profile: &pb::Profile) -> Vec<(Vec<Vec<&str>>, Vec<i64>)> {
    profile
        .sample
        .iter()
        .map(|s| {
            let stack = s.location_id.iter().map(|&id| names(profile, id)).collect();
            (stack, s.value.clone())
        })
        .collect()
}

fn labels(profile: &pb::Profile, sample: &pb::Sample) -> Vec<(String, String)> {
    sample
        .label
        .iter()
        .map(|l| {
            let value = if l.str != 0 {
                text(profile, l.str).to_string()
            } else {
                l.num.to_string()
            };
            (text(profile, l.key).to_string(), value)
        })
        .collect()
}

#[test]
fn header_fields() {
    let profile = decode(&encode_pprof(&two_processes()));
    assert_eq!(profile.string_table[0], "");
    let types: Vec<(&str, &str)> = profile
        .sample_type
        .iter()
        .map(|t| (text(&profile, t.r#type), text(&profile, t.unit)))
        .collect();
    assert_eq!(types, [("samples", "count"), ("cpu", "nanoseconds")]);
    let period_type = profile.period_type.as_ref().unwrap();
    assert_eq!(text(&profile, period_type.r#type), "cpu");
    assert_eq!(text(&profile, period_type.unit), "nanoseconds");
    assert_eq!(profile.period, 10_101_010, "1 s / 99 Hz");
    assert_eq!(profile.time_nanos, 1_000_000_000);
    assert_eq!(profile.duration_nanos, 1_500_000_000, "1 s to 2.5 s");
}

#[test]
fn every_id_referenced_exists_once() {
    let profile = decode(&encode_pprof(&two_processes()));
    let unique = |ids: Vec<u64>| {
        let set: HashSet<u64> = ids.iter().copied().collect();
        assert_eq!(set.len(), ids.len(), "duplicate ids {ids:?}");
        assert!(!set.contains(&0), "id 0 in {ids:?}");
        set
    };
    let mappings = unique(profile.mapping.iter().map(|m| m.id).collect());
    let locations = unique(profile.location.iter().map(|l| l.id).collect());
    let functions = unique(profile.function.iter().map(|f| f.id).collect());
    let strings = 0..profile.string_table.len() as i64;

    for sample in &profile.sample {
        assert_eq!(sample.value.len(), profile.sample_type.len());
        assert!(sample.location_id.iter().all(|id| locations.contains(id)));
        for label in &sample.label {
            assert!(strings.contains(&label.key) && strings.contains(&label.str));
        }
    }
    for location in &profile.location {
        assert!(mappings.contains(&location.mapping_id));
        assert!(!location.line.is_empty());
        for line in &location.line {
            assert!(functions.contains(&line.function_id));
        }
    }
    for function in &profile.function {
        assert!(strings.contains(&function.name) && strings.contains(&function.filename));
    }
    for mapping in &profile.mapping {
        assert!(strings.contains(&mapping.filename));
    }
    let distinct: HashSet<&String> = profile.string_table.iter().collect();
    assert_eq!(
        distinct.len(),
        profile.string_table.len(),
        "strings deduplicated"
    );
}

#[test]
fn samples_sum_and_stacks_are_leaf_first() {
    let profile = decode(&encode_pprof(&two_processes()));
    let period = 10_101_010;
    assert_eq!(
        stacks(&profile),
        [
            (
                vec![vec!["parse", "handle"], vec!["main"]],
                vec![40, 40 * period]
            ),
            (
                vec![vec!["parse", "handle"], vec!["main"]],
                vec![10, 10 * period]
            ),
            (
                vec![
                    vec!["tcp_sendmsg"],
                    vec!["do_syscall_64"],
                    vec!["[unknown] libc.so.6+0x2a0"],
                    vec!["handle"],
                    vec!["main"],
                ],
                vec![25, 25 * period],
            ),
            (vec![vec!["a;b\nc"], vec!["main"]], vec![5, 5 * period]),
            (vec![vec!["crunch"], vec!["main"]], vec![20, 20 * period]),
        ]
    );
    let total: i64 = profile.sample.iter().map(|s| s.value[0]).sum();
    assert_eq!(total, 100);
}

#[test]
fn inlined_frames_share_the_outer_frames_location() {
    let profile = decode(&encode_pprof(&two_processes()));
    let inline = &profile.location[profile.sample[0].location_id[0] as usize - 1];
    assert_eq!(inline.address, 0x1100);
    let lines: Vec<(&str, i64)> = inline
        .line
        .iter()
        .map(|l| (function_name(&profile, l.function_id), l.line))
        .collect();
    assert_eq!(lines, [("parse", 42), ("handle", 20)], "callee first");
    // The same stack in another thread reuses the locations.
    assert_eq!(profile.sample[0].location_id, profile.sample[1].location_id);
    // `handle` alone (not inlining `parse`) is a location of its own.
    let handle_alone = profile.sample[2].location_id[3];
    assert_ne!(handle_alone, inline.id);
    assert_eq!(names(&profile, handle_alone), ["handle"]);
}

#[test]
fn an_inlined_frame_without_its_caller_starts_a_location() {
    let app = "/app";
    let frames = [
        inlined("orphan", app, 0x10, 1),
        inlined("inner", app, 0x10, 2),
        inlined("other_module", "/lib.so", 0x20, 3),
        user(Some("f"), app, 0x30, 4),
    ];
    let frames: Vec<&Frame> = frames.iter().collect();
    let runs: Vec<usize> = inline_runs(&frames).iter().map(|r| r.len()).collect();
    assert_eq!(runs, [2, 1, 1]);
    assert!(inline_runs(&[]).is_empty());
}

#[test]
fn mappings_per_module_and_kernel() {
    let profile = decode(&encode_pprof(&two_processes()));
    let mapping = |name: &str| {
        profile
            .mapping
            .iter()
            .find(|m| text(&profile, m.filename) == name)
            .unwrap_or_else(|| panic!("no mapping {name}"))
    };
    let server = mapping("/opt/app/server");
    assert!(server.has_functions && server.has_filenames && server.has_line_numbers);
    assert!(server.has_inline_frames);
    let kernel = mapping("[kernel]");
    assert!(kernel.has_functions && !kernel.has_filenames && !kernel.has_inline_frames);
    let libc = mapping("/usr/lib/libc.so.6");
    assert!(!mapping("/opt/app/batch").has_inline_frames);
    assert_eq!(profile.mapping.len(), 4);
    // The busiest process's binary first: pprof's main binary.
    assert_eq!(profile.mapping[0].id, server.id);

    let tcp_sendmsg = profile.sample[2].location_id[0];
    let location = &profile.location[tcp_sendmsg as usize - 1];
    assert_eq!(location.mapping_id, kernel.id);
    assert_eq!(location.address, 0xffff_ffff_8120_0000);
    let unknown = &profile.location[profile.sample[2].location_id[2] as usize - 1];
    assert_eq!((unknown.mapping_id, unknown.address), (libc.id, 0x2a0));
}

#[test]
fn functions_are_shared_by_name_and_file() {
    let profile = decode(&encode_pprof(&two_processes()));
    let mains = profile
        .function
        .iter()
        .filter(|f| text(&profile, f.name) == "main")
        .count();
    assert_eq!(mains, 1, "main of server and of batch: one name, one file");
    let unknown = profile
        .function
        .iter()
        .find(|f| text(&profile, f.name).starts_with("[unknown]"))
        .unwrap();
    assert_eq!(unknown.filename, 0, "no file");
}

#[test]
fn samples_are_labelled_with_their_process_and_thread() {
    let profile = decode(&encode_pprof(&two_processes()));
    let label = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        labels(&profile, &profile.sample[1]),
        [
            label("pid", "100"),
            label("comm", "server"),
            label("thread", "worker"),
            label("container", CONTAINER_ID),
        ]
    );
    assert_eq!(
        labels(&profile, &profile.sample[4]),
        [
            label("pid", "200"),
            label("comm", "batch"),
            label("thread", "batch"),
        ]
    );
}

#[test]
fn rates_differ_the_highest_wins() {
    let mut profiles = two_processes();
    profiles[1].hz = 1000;
    let profile = decode(&encode_pprof(&profiles));
    assert_eq!(profile.period, 1_000_000);
    assert_eq!(profile.sample[4].value, [20, 20_000_000]);
}

#[test]
fn no_profiles_still_make_a_valid_profile() {
    let profile = decode(&encode_pprof(&[]));
    assert_eq!(profile.string_table[0], "");
    assert!(profile.sample.is_empty() && profile.location.is_empty());
    assert_eq!(profile.sample_type.len(), 2);
    assert_eq!((profile.period, profile.time_nanos), (0, 0));
}

#[test]
fn a_rate_of_zero_gives_a_period_of_zero() {
    let profile = Profile {
        time: Timestamp(5),
        duration_ns: 10,
        hz: 0,
        process: workload(1, "app", None),
        frames: vec![user(Some("main"), "/app", 0x10, 1)],
        stacks: vec![stack(&[0], "app", 3)],
        stats: ProfileStats::default(),
    };
    let decoded = decode(&encode_pprof(&[profile]));
    assert_eq!(decoded.period, 0);
    assert_eq!(decoded.sample[0].value, [3, 0]);
    assert_eq!((decoded.time_nanos, decoded.duration_nanos), (5, 10));
}
