//! The test scripting language's commands: `load`, `clear`, `eval`, with
//! `expect` lines and expected series, as Prometheus's `promqltest` reads
//! them. Comment lines count as blank, and a blank line ends a command.

use sonde_tsdb::{Labels, METRIC_NAME};

use super::series::{
    expand_values, parse_duration, parse_number, split_series, take_string, Point,
};

/// A command of a test file.
pub enum Command {
    /// Series to add, sampled every `interval` ms from 0. Series sonde
    /// cannot store are left out and listed in `native` (native histograms,
    /// `{{...}}`, and the custom-bucket histograms `load_with_nhcb` derives
    /// from `_bucket` series) or `start_ts` (start timestamps, `metric@st`).
    Load {
        interval: i64,
        series: Vec<(Labels, Vec<Point>)>,
        native: Vec<Labels>,
        start_ts: Vec<Labels>,
    },
    Clear,
    Eval(Box<Eval>),
}

/// When an `eval` runs.
#[derive(Clone, Copy)]
pub enum EvalKind {
    Instant(i64),
    Range { start: i64, end: i64, step: i64 },
}

/// How an expected error message is matched.
pub enum MessageMatch {
    Any,
    Exact(String),
    Regex(String),
}

/// One `eval` with its expectations.
pub struct Eval {
    pub line: usize,
    pub query: String,
    pub kind: EvalKind,
    pub fail: Option<MessageMatch>,
    pub ordered: bool,
    pub string: Option<String>,
    /// `expect range vector from .. to .. step ..`: (start, step).
    pub range_vector: Option<(i64, i64)>,
    /// `expect warn`/`expect info` lines: sonde produces no annotations.
    pub annotations: usize,
    /// An expected scalar.
    pub scalar: Option<f64>,
    pub series: Vec<(Labels, Vec<Point>)>,
    /// Expectations that mention native histograms (`{{...}}`).
    pub native: bool,
}

/// Parses a whole file.
pub fn parse_script(text: &str) -> Result<Vec<Command>, String> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                ""
            } else {
                t
            }
        })
        .collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].is_empty() {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < lines.len() && !lines[i].is_empty() && !is_command(lines[i]) {
            i += 1;
        }
        let body = &lines[start + 1..i];
        let line_no = start + 1;
        let cmd = parse_command(lines[start], body, line_no)
            .map_err(|e| format!("line {line_no}: {e}"))?;
        if let Some(cmd) = cmd {
            commands.push(cmd);
        }
    }
    Ok(commands)
}

fn is_command(line: &str) -> bool {
    line == "clear" || line.starts_with("load") || line.starts_with("eval")
}

fn parse_command(head: &str, body: &[&str], line: usize) -> Result<Option<Command>, String> {
    let mut words = head.split_whitespace();
    let word = words.next().unwrap_or_default();
    match word {
        "clear" => Ok(Some(Command::Clear)),
        "load" | "load_with_nhcb" => {
            let interval = parse_duration(words.next().ok_or("load needs an interval")?)?;
            let mut series = Vec::new();
            let mut native = Vec::new();
            let mut start_ts = Vec::new();
            for l in body {
                // `metric@st` lines give start timestamps.
                let head_end = l.find(['}', ' ', '\t']).map_or(l.len(), |i| {
                    if l[i..].starts_with('}') {
                        i + 1
                    } else {
                        i
                    }
                });
                let head = l[..head_end].strip_suffix("@st");
                if head.is_some() || l[head_end..].starts_with("@st") {
                    let (labels, _) = split_series(head.unwrap_or(&l[..head_end]))?;
                    start_ts.push(labels);
                    continue;
                }
                let (labels, rest) = split_series(l)?;
                if rest.contains("{{") {
                    native.push(labels);
                    continue;
                }
                let name = labels.metric_name().unwrap_or_default();
                if let Some(base) = name.strip_suffix("_bucket") {
                    if word == "load_with_nhcb" {
                        native.push(labels.filter(|n| n != "le").with(METRIC_NAME, base));
                    }
                }
                series.push((labels, expand_values(rest)?));
            }
            Ok(Some(Command::Load {
                interval,
                series,
                native,
                start_ts,
            }))
        }
        w if w.starts_with("eval") => {
            parse_eval(w, head, body, line).map(|e| Some(Command::Eval(Box::new(e))))
        }
        _ => Err(format!("unknown command {head:?}")),
    }
}

/// Strips `word` and following white space from the start of `s`.
fn strip_word<'s>(s: &'s str, word: &str) -> Option<&'s str> {
    let rest = s.strip_prefix(word)?;
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then(|| rest.trim_start())
}

/// The first word of `s` and the rest.
fn next_word(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

fn parse_eval(word: &str, head: &str, body: &[&str], line: usize) -> Result<Eval, String> {
    let rest = strip_word(head, word).ok_or("bad eval")?;
    let (kind, query) = if let Some(rest) = strip_word(rest, "instant") {
        let rest = strip_word(rest, "at").unwrap_or(rest);
        let (t, query) = next_word(rest);
        (EvalKind::Instant(parse_duration(t)?), query)
    } else if let Some(rest) = strip_word(rest, "range") {
        let rest = strip_word(rest, "from").ok_or("range needs from")?;
        let (start, rest) = next_word(rest);
        let rest = strip_word(rest, "to").ok_or("range needs to")?;
        let (end, rest) = next_word(rest);
        let rest = strip_word(rest, "step").ok_or("range needs step")?;
        let (step, query) = next_word(rest);
        (
            EvalKind::Range {
                start: parse_duration(start)?,
                end: parse_duration(end)?,
                step: parse_duration(step)?,
            },
            query,
        )
    } else {
        return Err(format!("bad eval {head:?}"));
    };
    let mut eval = Eval {
        line,
        query: query.to_string(),
        kind,
        fail: None,
        ordered: word == "eval_ordered",
        string: None,
        range_vector: None,
        annotations: usize::from(word == "eval_warn" || word == "eval_info"),
        scalar: None,
        series: Vec::new(),
        native: false,
    };
    if word == "eval_fail" {
        eval.fail = Some(MessageMatch::Any);
    }
    for l in body {
        if let Some(e) = strip_word(l, "expect") {
            parse_expect(&mut eval, e)?;
        } else if let Some(m) = strip_word(l, "expected_fail_message") {
            // The legacy forms of `expect fail msg:` and `expect fail regex:`.
            eval.fail = Some(MessageMatch::Exact(m.to_string()));
        } else if let Some(r) = strip_word(l, "expected_fail_regexp") {
            eval.fail = Some(MessageMatch::Regex(r.to_string()));
        } else if l.contains("{{") {
            eval.native = true;
        } else if let Ok(v) = parse_number(l) {
            eval.scalar = Some(v);
        } else {
            let (labels, rest) = split_series(l)?;
            eval.series.push((labels, expand_values(rest)?));
        }
    }
    Ok(eval)
}

fn parse_expect(eval: &mut Eval, e: &str) -> Result<(), String> {
    let (kind, rest) = next_word(e);
    match kind {
        "fail" => {
            eval.fail = Some(if let Some(m) = rest.strip_prefix("msg:") {
                MessageMatch::Exact(m.trim().to_string())
            } else if let Some(r) = rest.strip_prefix("regex:") {
                MessageMatch::Regex(r.trim().to_string())
            } else {
                MessageMatch::Any
            });
        }
        "ordered" => eval.ordered = true,
        "warn" | "info" => eval.annotations += 1,
        "no_warn" | "no_info" => {}
        "string" => eval.string = Some(take_string(rest)?.0),
        "range" => {
            let rest = strip_word(rest, "vector").ok_or("bad expect range vector")?;
            let rest = strip_word(rest, "from").ok_or("bad expect range vector")?;
            let (start, rest) = next_word(rest);
            let rest = strip_word(rest, "to").ok_or("bad expect range vector")?;
            let (_end, rest) = next_word(rest);
            let rest = strip_word(rest, "step").ok_or("bad expect range vector")?;
            let (step, _) = next_word(rest);
            eval.range_vector = Some((parse_duration(start)?, parse_duration(step)?));
        }
        other => return Err(format!("unknown expectation {other:?}")),
    }
    Ok(())
}
