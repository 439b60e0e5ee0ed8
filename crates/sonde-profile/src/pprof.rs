//! pprof: the gzipped `perftools.profiles.Profile` protobuf that
//! `go tool pprof`, Pyroscope, Parca and most profilers' UIs read.

mod messages;

use std::collections::HashMap;
use std::io::Write;

use flate2::{write::GzEncoder, Compression};
use prost::Message;
use sonde_event::{Frame, FrameKind, Profile};

use crate::stacks::{sampled_stacks, SampledStack};

use messages as pb;

/// The mapping every kernel frame is placed in.
const KERNEL_MAPPING: &str = "[kernel]";

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// Encodes `profiles` as one pprof profile, gzipped as pprof files are.
///
/// - Sample types: `samples/count`, then `cpu/nanoseconds` (= samples ×
///   period), the one pprof shows by default. The period is one second over
///   the sampling rate; when the profiles were taken at different rates the
///   highest is used and no value is rescaled, so the CPU time of the slower
///   profiles is understated. A rate of 0 (unknown) gives a period of 0.
/// - `time_nanos` is the earliest window's start and `duration_nanos` the
///   span from there to the latest window's end.
/// - One sample per stack and thread, labelled `pid` (number), `comm`,
///   `thread` and, for a process in a container, `container` (its id).
/// - One mapping per module, named by its path; every kernel frame is in
///   `[kernel]`. Mappings start at 0, so a location's address is the frame's
///   file offset (user) or address (kernel).
/// - A function inlined into another shares its location: one location per
///   run of a frame and the frames inlined into it, its lines innermost
///   first, at the address of the outer frame.
/// - Functions are named by [`Frame::name`], so unresolved frames keep their
///   `[unknown] module+0xoffset` name, and mappings are marked as already
///   symbolized so `pprof` does not try to symbolize them again.
pub fn encode_pprof(profiles: &[Profile]) -> Vec<u8> {
    let raw = build(profiles).encode_to_vec();
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    gzip.write_all(&raw)
        .and_then(|()| gzip.finish())
        .expect("gzip into a Vec<u8> cannot fail: Vec's writes never do")
}

fn build(profiles: &[Profile]) -> pb::Profile {
    let hz = profiles.iter().map(|p| u64::from(p.hz)).max().unwrap_or(0);
    let period = NANOS_PER_SECOND.checked_div(hz).unwrap_or(0);
    let start = profiles
        .iter()
        .map(|p| p.time.as_nanos())
        .min()
        .unwrap_or(0);
    let end = profiles
        .iter()
        .map(|p| p.time.as_nanos().saturating_add(p.duration_ns))
        .max()
        .unwrap_or(0);

    let mut builder = Builder::default();
    // pprof takes the first mapping for the main binary (`File:` in its
    // reports): the binary of the most sampled process.
    if let Some(main) = profiles
        .iter()
        .filter(|p| !p.process.binary.is_empty())
        .max_by_key(|p| p.stats.samples)
    {
        builder.mapping_id(&main.process.binary);
    }
    let samples_count = builder.value_type("samples", "count");
    let cpu_nanoseconds = builder.value_type("cpu", "nanoseconds");
    for stack in sampled_stacks(profiles) {
        builder.add_sample(&stack, period);
    }
    pb::Profile {
        sample_type: vec![samples_count, cpu_nanoseconds.clone()],
        sample: builder.samples,
        mapping: builder.mappings,
        location: builder.locations,
        function: builder.functions,
        string_table: builder.strings,
        time_nanos: int(start),
        duration_nanos: int(end.saturating_sub(start)),
        period_type: Some(cpu_nanoseconds),
        period: int(period),
        ..pb::Profile::default()
    }
}

/// A location's identity: its mapping, address and lines.
type LocationKey = (u64, u64, Vec<pb::Line>);

/// The profile's tables, each entry added once and named by its id (its
/// 1-based position; strings by their 0-based index).
struct Builder {
    strings: Vec<String>,
    string_index: HashMap<String, i64>,
    mappings: Vec<pb::Mapping>,
    mapping_ids: HashMap<String, u64>,
    functions: Vec<pb::Function>,
    function_ids: HashMap<(String, Option<String>), u64>,
    locations: Vec<pb::Location>,
    location_ids: HashMap<LocationKey, u64>,
    samples: Vec<pb::Sample>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            strings: vec![String::new()],
            string_index: HashMap::from([(String::new(), 0)]),
            mappings: Vec::new(),
            mapping_ids: HashMap::new(),
            functions: Vec::new(),
            function_ids: HashMap::new(),
            locations: Vec::new(),
            location_ids: HashMap::new(),
            samples: Vec::new(),
        }
    }
}

impl Builder {
    fn add_sample(&mut self, stack: &SampledStack<'_>, period: u64) {
        let mut location_id: Vec<u64> = inline_runs(&stack.frames)
            .into_iter()
            .map(|run| self.location(run))
            .collect();
        location_id.reverse();

        let process = stack.process;
        let mut label = vec![
            self.num_label("pid", i64::from(process.pid)),
            self.str_label("comm", &process.comm),
            self.str_label("thread", stack.thread),
        ];
        if let Some(container) = &process.container {
            label.push(self.str_label("container", &container.id));
        }
        self.samples.push(pb::Sample {
            location_id,
            value: vec![
                int(stack.samples),
                int(stack.samples.saturating_mul(period)),
            ],
            label,
        });
    }

    /// The location of a run of frames, root first: a frame and those
    /// inlined into it. Runs from [`inline_runs`] are never empty.
    fn location(&mut self, run: &[&Frame]) -> u64 {
        let outer = run[0];
        let mapping_id = self.mapping(run);
        let line: Vec<pb::Line> = run
            .iter()
            .rev()
            .map(|frame| pb::Line {
                function_id: self.function(frame),
                line: frame.line.map_or(0, i64::from),
            })
            .collect();
        let key = (mapping_id, outer.offset, line);
        if let Some(&id) = self.location_ids.get(&key) {
            return id;
        }
        let id = next_id(self.locations.len());
        let (mapping_id, address, line) = key.clone();
        self.locations.push(pb::Location {
            id,
            mapping_id,
            address,
            line,
            is_folded: false,
        });
        self.location_ids.insert(key, id);
        id
    }

    /// The mapping of a run's module, its flags widened by what the run tells.
    fn mapping(&mut self, run: &[&Frame]) -> u64 {
        let module = match run[0].kind {
            FrameKind::Kernel => KERNEL_MAPPING,
            FrameKind::User => run[0].module.as_str(),
        };
        let id = self.mapping_id(module);
        let mapping = &mut self.mappings[index(id)];
        mapping.has_filenames |= run.iter().any(|f| f.file.is_some());
        mapping.has_line_numbers |= run.iter().any(|f| f.line.is_some());
        mapping.has_inline_frames |= run.len() > 1;
        id
    }

    /// The mapping named `module`, added if new.
    fn mapping_id(&mut self, module: &str) -> u64 {
        if let Some(&id) = self.mapping_ids.get(module) {
            return id;
        }
        let id = next_id(self.mappings.len());
        let filename = self.string(module);
        self.mappings.push(pb::Mapping {
            id,
            filename,
            has_functions: true,
            ..pb::Mapping::default()
        });
        self.mapping_ids.insert(module.to_string(), id);
        id
    }

    fn function(&mut self, frame: &Frame) -> u64 {
        let key = (frame.name(), frame.file.clone());
        if let Some(&id) = self.function_ids.get(&key) {
            return id;
        }
        let id = next_id(self.functions.len());
        let name = self.string(&key.0);
        let filename = key.1.as_deref().map_or(0, |file| self.string(file));
        self.functions.push(pb::Function {
            id,
            name,
            system_name: name,
            filename,
            start_line: 0,
        });
        self.function_ids.insert(key, id);
        id
    }

    fn value_type(&mut self, r#type: &str, unit: &str) -> pb::ValueType {
        pb::ValueType {
            r#type: self.string(r#type),
            unit: self.string(unit),
        }
    }

    fn str_label(&mut self, key: &str, value: &str) -> pb::Label {
        pb::Label {
            key: self.string(key),
            str: self.string(value),
            ..pb::Label::default()
        }
    }

    fn num_label(&mut self, key: &str, num: i64) -> pb::Label {
        pb::Label {
            key: self.string(key),
            num,
            ..pb::Label::default()
        }
    }

    fn string(&mut self, text: &str) -> i64 {
        if let Some(&index) = self.string_index.get(text) {
            return index;
        }
        let index = int(self.strings.len() as u64);
        self.strings.push(text.to_string());
        self.string_index.insert(text.to_string(), index);
        index
    }
}

/// Splits a root-first stack into runs that share one location: a frame
/// followed by the frames inlined into it (of the same module). An inlined
/// frame with nothing to be inlined into (a stack cut short) starts a run.
fn inline_runs<'s, 'f>(frames: &'s [&'f Frame]) -> Vec<&'s [&'f Frame]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for (i, frame) in frames.iter().enumerate().skip(1) {
        let outer = frames[start];
        let joins = frame.inlined && frame.kind == outer.kind && frame.module == outer.module;
        if !joins {
            runs.push(&frames[start..i]);
            start = i;
        }
    }
    if start < frames.len() {
        runs.push(&frames[start..]);
    }
    runs
}

/// The id of the table entry about to be pushed after `len` others.
fn next_id(len: usize) -> u64 {
    len as u64 + 1
}

/// The table position of an id [`next_id`] gave.
fn index(id: u64) -> usize {
    (id - 1) as usize
}

/// pprof's int64 fields: counts past `i64::MAX` are clamped.
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
