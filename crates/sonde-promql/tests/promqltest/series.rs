//! Series descriptions of the test language: `metric{a="b"} 1 2+3x4 _ stale`.

use sonde_tsdb::{Labels, METRIC_NAME, STALE_NAN};

/// One value of an expanded sequence: a number, or `_` (no sample).
pub type Point = Option<f64>;

/// Splits `metric{labels} values...` into the labels and the rest.
pub fn split_series(line: &str) -> Result<(Labels, &str), String> {
    let line = line.trim();
    let (head, rest) = match line.find('{') {
        Some(open) if !line[..open].contains(char::is_whitespace) => {
            let close =
                closing_brace(line, open).ok_or_else(|| format!("unclosed '{{' in {line:?}"))?;
            (&line[..=close], &line[close + 1..])
        }
        _ => match line.find(char::is_whitespace) {
            Some(i) => (&line[..i], &line[i..]),
            None => (line, ""),
        },
    };
    Ok((parse_labels(head)?, rest.trim()))
}

/// The index of the `}` closing the `{` at `open`, skipping quoted strings.
fn closing_brace(s: &str, open: usize) -> Option<usize> {
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip_while(|(i, _)| *i <= open) {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else if c == '"' || c == '\'' || c == '`' {
            quote = Some(c);
        } else if c == '}' {
            return Some(i);
        }
    }
    None
}

/// `name`, `name{a="b", ...}`, `{a="b"}` or `{"utf8 name", a="b"}`.
pub fn parse_labels(s: &str) -> Result<Labels, String> {
    let s = s.trim();
    let (name, body) = match s.find('{') {
        Some(open) => {
            let body = s[open + 1..]
                .strip_suffix('}')
                .ok_or_else(|| format!("bad series {s:?}"))?;
            (s[..open].trim(), body)
        }
        None => (s, ""),
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if !name.is_empty() {
        pairs.push((METRIC_NAME.into(), name.into()));
    }
    let mut rest = body.trim();
    while !rest.is_empty() {
        let (first, after) = take_name_or_string(rest)?;
        let after = after.trim_start();
        if let Some(after_eq) = after.strip_prefix('=') {
            let (value, after_value) = take_string(after_eq.trim_start())?;
            pairs.push((first, value));
            rest = after_value.trim_start();
        } else {
            // A bare quoted string is the metric name.
            pairs.push((METRIC_NAME.into(), first));
            rest = after;
        }
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Labels::new_utf8(pairs).map_err(|e| e.to_string())
}

fn take_name_or_string(s: &str) -> Result<(String, &str), String> {
    if s.starts_with(['"', '\'', '`']) {
        return take_string(s);
    }
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '.'))
        .unwrap_or(s.len());
    if end == 0 {
        return Err(format!("expected a label name at {s:?}"));
    }
    Ok((s[..end].to_string(), &s[end..]))
}

/// A quoted string with Go escapes, and what follows it.
pub fn take_string(s: &str) -> Result<(String, &str), String> {
    let mut chars = s.char_indices();
    let Some((_, q)) = chars.next() else {
        return Err("expected a string".into());
    };
    if !matches!(q, '"' | '\'' | '`') {
        return Err(format!("expected a quoted string at {s:?}"));
    }
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        if escaped {
            out.push(match c {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '\\' => '\\',
                other => other,
            });
            escaped = false;
        } else if c == '\\' && q != '`' {
            escaped = true;
        } else if c == q {
            return Ok((out, &s[i + c.len_utf8()..]));
        } else {
            out.push(c);
        }
    }
    Err(format!("unterminated string in {s:?}"))
}

/// Expands a values specification: `1 2+3x4 _ _x2 stale 5x3 Inf`.
pub fn expand_values(s: &str) -> Result<Vec<Point>, String> {
    let mut out = Vec::new();
    for token in s.split_whitespace() {
        if token == "_" {
            out.push(None);
            continue;
        }
        if let Some(n) = token.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|_| format!("bad repeat {token:?}"))?;
            out.extend(std::iter::repeat_n(None, n));
            continue;
        }
        let (value, times) = match token.rfind('x') {
            Some(i)
                if token[i + 1..].bytes().all(|b| b.is_ascii_digit()) && i + 1 < token.len() =>
            {
                let n: usize = token[i + 1..]
                    .parse()
                    .map_err(|_| format!("bad repeat {token:?}"))?;
                (&token[..i], Some(n))
            }
            _ => (token, None),
        };
        let (start, delta) = split_delta(value)?;
        match times {
            None => out.push(Some(start)),
            Some(n) => {
                let mut v = start;
                out.push(Some(v));
                for _ in 0..n {
                    v += delta;
                    out.push(Some(v));
                }
            }
        }
    }
    Ok(out)
}

/// `a+b`, `a-b` or `a` as (a, b).
fn split_delta(s: &str) -> Result<(f64, f64), String> {
    let bytes = s.as_bytes();
    for i in 1..bytes.len() {
        if (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E') {
            let a = parse_number(&s[..i])?;
            let b = parse_number(&s[i..])?;
            return Ok((a, b));
        }
    }
    Ok((parse_number(s)?, 0.0))
}

/// A number as the test language writes it, incl. `Inf`, `NaN`, `stale`.
pub fn parse_number(s: &str) -> Result<f64, String> {
    let lower = s.to_ascii_lowercase();
    match lower.trim_start_matches('+') {
        "stale" => return Ok(STALE_NAN),
        "inf" => return Ok(f64::INFINITY),
        "-inf" => return Ok(f64::NEG_INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    if let Some(hex) = lower.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16)
            .map(|v| v as f64)
            .map_err(|_| format!("bad number {s:?}"));
    }
    s.parse::<f64>().map_err(|_| format!("bad number {s:?}"))
}

/// A duration like `5m`, `1h30m`, `10s53ms`, or a plain number of seconds,
/// in milliseconds; a leading `-` negates.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('-') {
        return parse_duration(rest).map(|d| -d);
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Ok((secs * 1000.0).round() as i64);
    }
    let mut total = 0i64;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("bad duration {s:?}"));
        }
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad duration {s:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return Err(format!("bad duration {s:?}")),
        };
        total += n * ms;
        rest = &rest[unit_len..];
    }
    Ok(total)
}
