//! Prometheus's PromQL conformance tests (`promqltest` scripts), run
//! against sonde's engine.
//!
//! Every `*.test` file of `shared/testdata/promql/promqltest` is read and
//! run (see its `README-promqltest.md` for the language). A case that does
//! not pass is counted as skipped, not failed, when sonde cannot hold its
//! data: its expectations hold native histograms (`{{...}}`), or its query
//! read a series of native histograms or one with start timestamps (`@st`),
//! which the test store records but sonde's TSDB does not store. Queries
//! `promql-parser` cannot parse are counted and listed apart. `expect
//! warn`/`expect info` lines are counted but not checked: the engine
//! returns no annotations. As Prometheus's harness does, a passing instant
//! query is also run as a range query around its time, and pinned with `@`
//! at other times (`promqltest/at_invariance.rs`); both must agree.
//!
//! Each file prints `file: passed/total (...)`; `SONDE_PROMQL_VERBOSE=1`
//! adds the first failures of each file, `SONDE_PROMQL_VERBOSE=all` every
//! failure. [`MIN_PASSED`] is a ratchet: a file passing fewer cases than
//! listed fails the test.

mod promqltest {
    pub mod at_invariance;
    pub mod check;
    pub mod script;
    pub mod series;
    pub mod store;
}

use std::path::{Path, PathBuf};

use promqltest::check::{run_eval, Outcome};
use promqltest::script::{parse_script, Command};
use promqltest::store::MemStore;
use sonde_promql::{Engine, EngineOptions};

/// The minimum number of passing cases per file: what sonde passes today.
/// Raise an entry when a file passes more; never lower one to hide a
/// regression.
const MIN_PASSED: &[(&str, usize)] = &[
    ("aggregators.test", 153),
    ("at_modifier.test", 78),
    ("collision.test", 2),
    ("duration_expression.test", 59),
    ("extended_vectors.test", 125),
    ("fill-modifier.test", 46),
    ("functions.test", 379),
    ("histograms.test", 93),
    ("info.test", 52),
    ("limit.test", 15),
    ("literals.test", 25),
    ("name_label_dropping.test", 30),
    ("native_histograms.test", 15),
    ("operators.test", 207),
    ("range_queries.test", 17),
    ("selectors.test", 31),
    ("staleness.test", 17),
    ("start_timestamps.test", 3),
    ("subquery.test", 32),
    ("trig_functions.test", 19),
    ("type_and_unit.test", 58),
];

/// Failures shown per file in verbose mode.
const SHOWN_FAILURES: usize = 8;

#[derive(Default)]
struct FileStats {
    passed: usize,
    total: usize,
    native: usize,
    start_ts: usize,
    parser: usize,
    annotations: usize,
    failures: Vec<String>,
    unparsable: Vec<String>,
}

fn test_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/promql/promqltest")
}

fn run_file(engine: &Engine, path: &Path) -> Result<FileStats, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let commands = parse_script(&text)?;
    let mut store = MemStore::default();
    let mut stats = FileStats::default();
    for cmd in commands {
        match cmd {
            Command::Clear => {
                store.clear();
            }
            Command::Load {
                interval,
                series,
                native,
                start_ts,
            } => {
                native.into_iter().for_each(|l| store.add_native(l));
                start_ts.into_iter().for_each(|l| store.add_start_ts(l));
                for (labels, points) in series {
                    let samples = points
                        .iter()
                        .enumerate()
                        .filter_map(|(i, p)| p.map(|v| (i as i64 * interval, v)));
                    store.add(labels, samples.collect::<Vec<_>>());
                }
            }
            Command::Eval(eval) => {
                stats.total += 1;
                stats.annotations += eval.annotations;
                match run_eval(engine, &store, &eval) {
                    Outcome::Pass => stats.passed += 1,
                    Outcome::SkipNative => stats.native += 1,
                    Outcome::SkipStartTimestamp => stats.start_ts += 1,
                    Outcome::ParserUnsupported(why) => {
                        stats.parser += 1;
                        stats
                            .unparsable
                            .push(format!("line {}: {} ({why})", eval.line, eval.query));
                    }
                    Outcome::Fail(why) => stats
                        .failures
                        .push(format!("line {}: {}\n      {why}", eval.line, eval.query)),
                }
            }
        }
    }
    Ok(stats)
}

#[test]
fn promqltest_files() {
    let dir = test_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!(
            "SKIPPED: promqltest directory {} is missing; no conformance case ran",
            dir.display()
        );
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.test files in {}", dir.display());
    let verbose = std::env::var("SONDE_PROMQL_VERBOSE").ok();
    let shown = match verbose.as_deref() {
        Some("all") => usize::MAX,
        Some("1") => SHOWN_FAILURES,
        _ => 0,
    };
    let engine = Engine::new(EngineOptions::default());
    let (mut passed, mut total, mut native, mut start_ts, mut parser, mut annotations) =
        (0, 0, 0, 0, 0, 0);
    let mut below = Vec::new();
    let mut unparsable = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stats = match run_file(&engine, path) {
            Ok(s) => s,
            Err(e) => panic!("{name}: cannot read the script: {e}"),
        };
        println!(
            "{name}: {}/{} (skipped native-histogram {}, start-timestamp {}, parser-unsupported {}; annotation expectations not checked {})",
            stats.passed, stats.total, stats.native, stats.start_ts, stats.parser, stats.annotations
        );
        for f in stats.failures.iter().take(shown) {
            println!("    FAIL {f}");
        }
        passed += stats.passed;
        total += stats.total;
        native += stats.native;
        start_ts += stats.start_ts;
        parser += stats.parser;
        annotations += stats.annotations;
        unparsable.extend(stats.unparsable.iter().map(|u| format!("{name} {u}")));
        if let Some((_, min)) = MIN_PASSED.iter().find(|(f, _)| *f == name) {
            if stats.passed < *min {
                below.push(format!("{name}: {} < {min}", stats.passed));
            }
        }
    }
    println!("queries promql-parser cannot parse:");
    for u in &unparsable {
        println!("    {u}");
    }
    println!(
        "TOTAL: {passed}/{total} (skipped native-histogram {native}, start-timestamp {start_ts}, parser-unsupported {parser}; annotation expectations not checked {annotations})"
    );
    assert!(below.is_empty(), "below the ratchet: {below:?}");
}
