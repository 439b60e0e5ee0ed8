//! A small parser of the Prometheus text exposition format and of the
//! OpenMetrics sample lines this bench writes. Bench-only: it handles what
//! node-exporter and Prometheus expose (names, `{label="escaped value",...}`,
//! a value, an optional timestamp) and is no general-purpose parser.

use anyhow::{anyhow, bail, Context};

/// `NaN` as Go's `strconv.ParseFloat` returns it (`math.NaN()`), so that
/// sonde stores the same bits as Prometheus.
pub const GO_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// One sample line: labels with `__name__` first, in exposition order.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// The timestamp in milliseconds, when the line has one.
    pub t_ms: Option<i64>,
}

/// Parses every sample line of `text`; comments and blank lines are skipped.
pub fn parse(text: &str) -> anyhow::Result<Vec<Line>> {
    let mut lines = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        lines.push(parse_line(raw).with_context(|| format!("line {}: {raw}", n + 1))?);
    }
    Ok(lines)
}

fn parse_line(s: &str) -> anyhow::Result<Line> {
    let name_end = s
        .find(|c: char| c == '{' || c.is_ascii_whitespace())
        .ok_or_else(|| anyhow!("no value"))?;
    let mut labels = vec![("__name__".to_string(), s[..name_end].to_string())];
    let mut rest = &s[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        rest = parse_labels(inner, &mut labels)?;
    }
    let mut fields = rest.split_ascii_whitespace();
    let value = parse_value(fields.next().ok_or_else(|| anyhow!("no value"))?)?;
    let t_ms = match fields.next() {
        // Go's `int64(f * 1000)` of the float seconds: truncation.
        Some(ts) => Some((ts.parse::<f64>().context("timestamp")? * 1000.0) as i64),
        None => None,
    };
    Ok(Line {
        labels,
        value,
        t_ms,
    })
}

/// Parses `name="value",...}` and returns what follows the `}`.
fn parse_labels<'a>(mut s: &'a str, out: &mut Vec<(String, String)>) -> anyhow::Result<&'a str> {
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Ok(rest);
        }
        let eq = s.find('=').ok_or_else(|| anyhow!("label without '='"))?;
        let name = s[..eq].trim().to_string();
        s = s[eq + 1..].trim_start();
        s = s
            .strip_prefix('"')
            .ok_or_else(|| anyhow!("unquoted value"))?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => bail!("unterminated escape"),
                },
                Some((_, c)) => value.push(c),
                None => bail!("unterminated label value"),
            }
        };
        out.push((name, value));
        s = s[end + 1..].trim_start();
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

fn parse_value(s: &str) -> anyhow::Result<f64> {
    Ok(match s {
        "NaN" => f64::from_bits(GO_NAN_BITS),
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().with_context(|| format!("value {s:?}"))?,
    })
}

/// Formats `v` so that Go's `ParseFloat` reads back the same bits (Rust
/// prints the shortest round-tripping decimal).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:?}")
    }
}

/// One OpenMetrics sample line with its timestamp in seconds.
pub fn format_line(labels: &[(String, String)], v: f64, t_ms: i64) -> String {
    let mut out = String::new();
    let name = labels
        .iter()
        .find(|(n, _)| n == "__name__")
        .map_or("", |(_, v)| v.as_str());
    out.push_str(name);
    let mut first = true;
    for (n, value) in labels.iter().filter(|(n, _)| n != "__name__") {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(n);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    if !first {
        out.push('}');
    }
    out.push(' ');
    out.push_str(&format_value(v));
    if t_ms % 1000 == 0 {
        out.push_str(&format!(" {}", t_ms / 1000));
    } else {
        out.push_str(&format!(" {}.{:03}", t_ms / 1000, t_ms % 1000));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_line() {
        let text = "# HELP x y\nnode_x{a=\"q\\\"\\\\\\n\",b=\"2\",} 1.5e+06\nup 1 1700000000.5\n";
        let lines = parse(text).unwrap();
        assert_eq!(lines[0].labels[1].1, "q\"\\\n");
        assert_eq!(lines[0].value, 1.5e6);
        assert_eq!(lines[1].t_ms, Some(1_700_000_000_500));
        let om = format_line(&lines[0].labels, f64::NAN, 15_000);
        assert_eq!(om, "node_x{a=\"q\\\"\\\\\\n\",b=\"2\"} NaN 15");
        let back = parse(&om).unwrap();
        assert_eq!(back[0].labels, lines[0].labels);
        assert_eq!(back[0].value.to_bits(), GO_NAN_BITS);
    }
}
