//! Running one `eval` and comparing its result as Prometheus's harness
//! does: floats almost equal (relative epsilon 1e-6), NaN equal to NaN.

use sonde_promql::{Engine, ErrorKind, QueryError, Value};
use sonde_tsdb::Labels;

use super::at_invariance;
use super::script::{Eval, EvalKind, MessageMatch};
use super::series::Point;
use super::store::MemStore;

/// What became of one `eval`.
pub enum Outcome {
    Pass,
    Fail(String),
    /// Needs native histograms, which sonde does not store.
    SkipNative,
    /// Reads series with start timestamps, which sonde does not store.
    SkipStartTimestamp,
    /// `promql-parser` rejects a query Prometheus accepts.
    ParserUnsupported(String),
}

/// Prometheus's `almost.Equal` with its test epsilon.
pub fn almost_equal(a: f64, b: f64) -> bool {
    const EPSILON: f64 = 0.000001;
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < EPSILON * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < EPSILON
}

/// Runs `eval`. A case that does not pass is put down to native
/// histograms or start timestamps when its query read such series (or its
/// expectations hold histograms), to `promql-parser` when the query does not
/// parse, and is a failure otherwise.
pub fn run_eval(engine: &Engine, store: &MemStore, eval: &Eval) -> Outcome {
    store.take_touched();
    let result = match eval.kind {
        EvalKind::Instant(t) => engine.instant(store, &eval.query, t),
        EvalKind::Range { start, end, step } => engine.range(store, &eval.query, start, end, step),
    };
    let (native, start_ts) = store.take_touched();
    let verdict = match (&eval.fail, result) {
        (Some(expected), Err(err)) => check_error(expected, &err),
        (Some(_), Ok(v)) => Err(format!("expected an error, got {}", render(&v))),
        (None, Err(err)) if is_parse_error(&err) => Err(format!("{PARSE_ERROR}{}", err.message)),
        (None, Err(err)) => Err(format!("unexpected error: {}", err.message)),
        (None, Ok(v)) if eval.native => {
            Err(format!("expected native histograms, got {}", render(&v)))
        }
        (None, Ok(v)) => compare(eval, &v)
            .and_then(|()| same_in_range_mode(engine, store, eval, &v))
            .and_then(|()| same_when_pinned(engine, store, eval)),
    };
    match verdict {
        Ok(()) => Outcome::Pass,
        Err(_) if eval.native || native => Outcome::SkipNative,
        Err(_) if start_ts => Outcome::SkipStartTimestamp,
        Err(why) => match why.strip_prefix(PARSE_ERROR) {
            Some(message) => Outcome::ParserUnsupported(message.to_string()),
            None => Outcome::Fail(why),
        },
    }
}

/// Prometheus's harness also runs an instant query as a range query from a
/// minute before to a minute after its time, and expects the middle step
/// to equal the instant result. Queries whose value depends on the query's
/// step or range (`step()`, `range()`, `start()`, `end()`) are exempt.
fn same_in_range_mode(
    engine: &Engine,
    store: &MemStore,
    eval: &Eval,
    v: &Value,
) -> Result<(), String> {
    const MINUTE: i64 = 60_000;
    let EvalKind::Instant(t) = eval.kind else {
        return Ok(());
    };
    let depends_on_range = ["step()", "range()", "start()", "end()"]
        .iter()
        .any(|f| eval.query.to_ascii_lowercase().contains(f));
    if depends_on_range || !matches!(v, Value::Vector(_) | Value::Scalar { .. }) {
        return Ok(());
    }
    let range = engine
        .range(store, &eval.query, t - MINUTE, t + MINUTE, MINUTE)
        .map_err(|e| format!("range mode: unexpected error: {}", e.message))?;
    let Value::Matrix(series) = range else {
        return Err(format!("range mode: not a matrix: {}", render(&range)));
    };
    let at_t: Vec<(&Labels, f64)> = series
        .iter()
        .filter_map(|s| s.points.iter().find(|p| p.0 == t).map(|p| (&s.labels, p.1)))
        .collect();
    let same = match v {
        Value::Scalar { v, .. } => at_t.len() == 1 && almost_equal(*v, at_t[0].1),
        Value::Vector(samples) => {
            samples.len() == at_t.len()
                && samples.iter().all(|s| {
                    at_t.iter()
                        .any(|(l, x)| **l == s.labels && almost_equal(s.v, *x))
                })
        }
        _ => true,
    };
    if same {
        Ok(())
    } else {
        Err(format!(
            "range mode differs at the instant: {}",
            render(&Value::Matrix(series.clone()))
        ))
    }
}

/// The `@`-invariance check of Prometheus's harness (`at_invariance.rs`).
fn same_when_pinned(engine: &Engine, store: &MemStore, eval: &Eval) -> Result<(), String> {
    let EvalKind::Instant(t) = eval.kind else {
        return Ok(());
    };
    if eval.range_vector.is_some() {
        return Ok(());
    }
    let Some((pinned, times)) = at_invariance::variants(&eval.query, t) else {
        return Ok(());
    };
    for at in times {
        let v = engine
            .instant(store, &pinned, at)
            .map_err(|e| format!("{pinned} at {at}ms: unexpected error: {}", e.message))?;
        compare(eval, &v).map_err(|why| format!("{pinned} at {at}ms: {why}"))?;
    }
    Ok(())
}

/// How a failure caused by a parse error starts.
const PARSE_ERROR: &str = "parse error: ";

fn is_parse_error(err: &QueryError) -> bool {
    err.kind == ErrorKind::BadData && err.position.is_some()
}

fn check_error(expected: &MessageMatch, err: &QueryError) -> Result<(), String> {
    let ok = match expected {
        MessageMatch::Any => true,
        MessageMatch::Exact(m) => *m == err.message,
        MessageMatch::Regex(r) => regex::Regex::new(r).is_ok_and(|re| re.is_match(&err.message)),
    };
    if ok {
        Ok(())
    } else if is_parse_error(err) {
        Err(format!("{PARSE_ERROR}{}", err.message))
    } else {
        Err(format!(
            "error {:?} does not match the expected one",
            err.message
        ))
    }
}

/// A short rendering of a result for failure reports.
pub fn render(v: &Value) -> String {
    let text = match v {
        Value::Scalar { v, .. } => format!("scalar {v}"),
        Value::String { v, .. } => format!("string {v:?}"),
        Value::Vector(samples) => samples
            .iter()
            .map(|s| format!("{} {}", fmt_labels(&s.labels), s.v))
            .collect::<Vec<_>>()
            .join("; "),
        Value::Matrix(series) => series
            .iter()
            .map(|s| format!("{} {:?}", fmt_labels(&s.labels), s.points))
            .collect::<Vec<_>>()
            .join("; "),
    };
    let mut text = format!("{}: {text}", v.type_name());
    if text.len() > 600 {
        let cut = (0..=600)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

fn fmt_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// The expected points with their timestamps.
fn timed(points: &[Point], start: i64, step: i64) -> Vec<(i64, f64)> {
    points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|v| (start + i as i64 * step, v)))
        .collect()
}

fn compare(eval: &Eval, v: &Value) -> Result<(), String> {
    if let Some(s) = &eval.string {
        return match v {
            Value::String { v, .. } if v == s => Ok(()),
            other => Err(format!("expected string {s:?}, got {}", render(other))),
        };
    }
    if let Some(expected) = eval.scalar {
        return match v {
            Value::Scalar { v, .. } if almost_equal(expected, *v) => Ok(()),
            other => Err(format!("expected scalar {expected}, got {}", render(other))),
        };
    }
    match (eval.kind, v) {
        (EvalKind::Range { start, step, .. }, Value::Matrix(series)) => {
            compare_matrix(eval, series, start, step)
        }
        (EvalKind::Instant(_), Value::Matrix(series)) => match eval.range_vector {
            Some((start, step)) => compare_matrix(eval, series, start, step),
            None => Err(format!("unexpected range vector: {}", render(v))),
        },
        (EvalKind::Instant(_), Value::Vector(samples)) => {
            if samples.len() != eval.series.len() {
                return Err(format!(
                    "expected {} samples, got {}: {}",
                    eval.series.len(),
                    samples.len(),
                    render(v)
                ));
            }
            for (pos, (labels, points)) in eval.series.iter().enumerate() {
                let Some(found) = samples.iter().position(|s| s.labels == *labels) else {
                    return Err(format!("missing {}; got {}", fmt_labels(labels), render(v)));
                };
                if eval.ordered && found != pos {
                    return Err(format!(
                        "{} out of order; got {}",
                        fmt_labels(labels),
                        render(v)
                    ));
                }
                let want = points.first().copied().flatten();
                match want {
                    Some(w) if almost_equal(w, samples[found].v) => {}
                    _ => {
                        return Err(format!(
                            "{}: expected {want:?}, got {}",
                            fmt_labels(labels),
                            samples[found].v
                        ))
                    }
                }
            }
            Ok(())
        }
        (_, other) => Err(format!("unexpected result {}", render(other))),
    }
}

fn compare_matrix(
    eval: &Eval,
    series: &[sonde_promql::RangeSeries],
    start: i64,
    step: i64,
) -> Result<(), String> {
    let expected: Vec<(&Labels, Vec<(i64, f64)>)> = eval
        .series
        .iter()
        .map(|(l, p)| (l, timed(p, start, step)))
        .filter(|(_, p)| !p.is_empty())
        .collect();
    if expected.len() != series.len() {
        return Err(format!(
            "expected {} series, got {}: {}",
            expected.len(),
            series.len(),
            render(&Value::Matrix(series.to_vec()))
        ));
    }
    for (labels, points) in &expected {
        let Some(actual) = series.iter().find(|s| s.labels == **labels) else {
            return Err(format!(
                "missing {}; got {}",
                fmt_labels(labels),
                render(&Value::Matrix(series.to_vec()))
            ));
        };
        let same = actual.points.len() == points.len()
            && actual
                .points
                .iter()
                .zip(points)
                .all(|(a, e)| a.0 == e.0 && almost_equal(e.1, a.1));
        if !same {
            return Err(format!(
                "{}: expected {:?}, got {:?}",
                fmt_labels(labels),
                points,
                actual.points
            ));
        }
    }
    Ok(())
}
