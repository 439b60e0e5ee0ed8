//! A parser of the Prometheus text exposition format 0.0.4: pure, no I/O.
//!
//! `# HELP` (with `\\` and `\n` escapes) and `# TYPE` lines give metadata;
//! other comments and blank lines are skipped. A sample is
//! `name[{label="value",…}] value [timestamp_ms]`; label values take the
//! escapes `\\`, `\"` and `\n`; values take `NaN`, `+Inf`, `-Inf`.
//! Histograms and summaries are plain series (`_bucket`, `_sum`, `_count`,
//! quantiles). Any malformed line fails the whole text, as a Prometheus
//! scrape fails on a parse error.

use std::collections::BTreeMap;

use sonde_tsdb::{is_valid_label_name, is_valid_metric_name, Metadata, MetricType};

/// One parsed sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample {
    pub name: String,
    /// In the order written.
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// A whole exposition.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Exposition {
    pub samples: Vec<ParsedSample>,
    /// Per family: from its `# TYPE` and `# HELP` lines.
    pub metadata: BTreeMap<String, Metadata>,
}

/// The first malformed line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

pub fn parse(text: &str) -> Result<Exposition, ParseError> {
    let mut out = Exposition::default();
    for (i, line) in text.split('\n').enumerate() {
        let fail = |reason: String| ParseError {
            line: i + 1,
            reason,
        };
        let trimmed = line.trim_matches(|c| c == ' ' || c == '\t');
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            comment_line(comment, &mut out.metadata).map_err(fail)?;
            continue;
        }
        out.samples.push(sample_line(trimmed).map_err(fail)?);
    }
    Ok(out)
}

fn comment_line(comment: &str, metadata: &mut BTreeMap<String, Metadata>) -> Result<(), String> {
    let comment = comment.trim_start_matches([' ', '\t']);
    let (keyword, rest) = split_token(comment);
    if keyword != "HELP" && keyword != "TYPE" {
        return Ok(());
    }
    let (name, rest) = split_token(rest);
    if !is_valid_metric_name(name) {
        return Err(format!("invalid metric name {name:?} in # {keyword}"));
    }
    let entry = metadata.entry(name.to_owned()).or_insert(Metadata {
        metric_type: MetricType::Unknown,
        help: String::new(),
        unit: String::new(),
    });
    if keyword == "HELP" {
        entry.help = unescape_help(rest);
    } else {
        let (kind, extra) = split_token(rest);
        if !extra.is_empty() {
            return Err(format!("unexpected text after # TYPE {name} {kind}"));
        }
        entry.metric_type = match kind {
            "counter" | "gauge" | "histogram" | "summary" => MetricType::parse(kind),
            "untyped" => MetricType::Unknown,
            other => return Err(format!("invalid metric type {other:?}")),
        };
    }
    Ok(())
}

/// The first whitespace-separated token and the rest, leading blanks trimmed.
fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches([' ', '\t']);
    let end = s.find([' ', '\t']).unwrap_or(s.len());
    (&s[..end], s[end..].trim_start_matches([' ', '\t']))
}

fn unescape_help(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn sample_line(line: &str) -> Result<ParsedSample, String> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !is_valid_metric_name(name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let after_name = &line[name_end..];
    if !after_name.is_empty() && !after_name.starts_with([' ', '\t', '{']) {
        return Err(format!("unexpected {after_name:?} after the metric name"));
    }
    let mut rest = after_name.trim_start_matches([' ', '\t']);
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = parse_labels(after, &mut labels)?;
    }
    let (value, rest) = split_token(rest);
    if value.is_empty() {
        return Err(format!("{name} has no value"));
    }
    let value = parse_value(value)?;
    let (timestamp, extra) = split_token(rest);
    if !extra.is_empty() {
        return Err(format!("unexpected text after the timestamp: {extra:?}"));
    }
    let timestamp_ms = match timestamp {
        "" => None,
        t => Some(
            t.parse::<i64>()
                .map_err(|_| format!("invalid timestamp {t:?}"))?,
        ),
    };
    Ok(ParsedSample {
        name: name.to_owned(),
        labels,
        value,
        timestamp_ms,
    })
}

/// Parses `name="value",…}`; returns what follows the `}`.
fn parse_labels<'a>(mut s: &'a str, labels: &mut Vec<(String, String)>) -> Result<&'a str, String> {
    loop {
        s = s.trim_start_matches([' ', '\t']);
        if let Some(rest) = s.strip_prefix('}') {
            return Ok(rest);
        }
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .ok_or("unterminated label set")?;
        let name = &s[..end];
        if !is_valid_label_name(name) {
            return Err(format!("invalid label name {name:?}"));
        }
        if labels.iter().any(|(n, _)| n == name) {
            return Err(format!("duplicate label name {name:?}"));
        }
        s = s[end..].trim_start_matches([' ', '\t']);
        s = s
            .strip_prefix('=')
            .ok_or_else(|| format!("expected = after label {name:?}"))?
            .trim_start_matches([' ', '\t']);
        s = s
            .strip_prefix('"')
            .ok_or_else(|| format!("expected a quoted value for label {name:?}"))?;
        let (value, rest) =
            quoted(s).ok_or_else(|| format!("unterminated value of label {name:?}"))?;
        labels.push((name.to_owned(), value));
        s = rest.trim_start_matches([' ', '\t']);
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return Err(format!("expected , or }} after label {name:?}"));
        }
    }
}

/// A label value up to its closing quote, unescaped; and what follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                'n' => out.push('\n'),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            },
            '\n' => return None,
            c => out.push(c),
        }
    }
    None
}

/// A float as Go's `ParseFloat` reads it, `NaN` and `±Inf` included.
fn parse_value(s: &str) -> Result<f64, String> {
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    let looks_numeric = unsigned
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'))
        || matches!(unsigned, "inf" | "infinity" | "nan");
    if !looks_numeric {
        return Err(format!("invalid value {s:?}"));
    }
    s.parse::<f64>().map_err(|_| format!("invalid value {s:?}"))
}

#[cfg(test)]
#[path = "exposition_tests.rs"]
mod tests;
