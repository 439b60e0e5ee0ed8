//! Request parameters as Prometheus reads them: from the URL and, for a
//! `POST` with an `application/x-www-form-urlencoded` body, from the body
//! too (body first, as Go's `Request.ParseForm` orders them); times as
//! RFC 3339 or Unix seconds with a fraction; durations as `1h30m` or float
//! seconds.
//!
//! The parsers here are pure: text in, milliseconds or nanoseconds or a
//! typed error out.

use axum::extract::{FromRequest, Query, Request};
use axum::http::{header, Method};
use axum::Form;

use super::envelope::PromError;

/// The earliest time Prometheus's API takes by default (`minTime`), in ms.
pub const MIN_TIME_MS: i64 = (i64::MIN / 1000 + 62_135_596_801) * 1000;
/// The latest time Prometheus's API takes by default (`maxTime`), in ms.
pub const MAX_TIME_MS: i64 = (i64::MAX / 1000 - 62_135_596_801) * 1000;

/// A request's parameters, in order, repeated keys kept.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = PromError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PromError> {
        let from_url = Query::<Vec<(String, String)>>::try_from_uri(req.uri())
            .map_err(|e| PromError::BadData(format!("error parsing form: {}", e.body_text())))?
            .0;
        let is_form = req.method() == Method::POST
            && req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let mut pairs = Vec::new();
        if is_form {
            let Form(body) = Form::<Vec<(String, String)>>::from_request(req, state)
                .await
                .map_err(|e| {
                    PromError::BadData(format!("error parsing form: {}", e.body_text()))
                })?;
            pairs = body;
        }
        pairs.extend(from_url);
        Ok(Params(pairs))
    }
}

impl Params {
    /// The first value of `key`, `None` when absent or empty (as Go's
    /// `FormValue`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Optional time parameter `key` in ms, `default` when absent
    /// (Prometheus's `parseTimeParam`, whose errors say a bit more).
    pub fn time_or(&self, key: &str, default: i64) -> Result<i64, PromError> {
        match self.get(key) {
            None => Ok(default),
            Some(text) => parse_time(text)
                .map_err(|e| PromError::param(key, format!("Invalid time value for '{key}': {e}"))),
        }
    }

    /// Required time parameter `key` in ms.
    pub fn time(&self, key: &str) -> Result<i64, PromError> {
        parse_time(self.get(key).unwrap_or("")).map_err(|e| PromError::param(key, e))
    }

    /// Optional duration parameter `key` in ns.
    pub fn duration(&self, key: &str) -> Result<Option<i64>, PromError> {
        self.get(key)
            .map(|text| parse_duration(text).map_err(|e| PromError::param(key, e)))
            .transpose()
    }

    /// Optional non-negative integer parameter `key` (0 when absent).
    pub fn limit(&self, key: &str) -> Result<usize, PromError> {
        match self.get(key) {
            None => Ok(0),
            Some(text) => match text.parse::<i64>() {
                Ok(n) => Ok(usize::try_from(n).unwrap_or(0)),
                Err(_) => Err(PromError::BadData(format!("{key} must be a number"))),
            },
        }
    }
}

/// A time that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse {0:?} to a valid timestamp")]
pub struct BadTime(pub String);

/// A duration that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadDuration {
    #[error("cannot parse {0:?} to a valid duration")]
    Syntax(String),
    #[error("cannot parse {0:?} to a valid duration. It overflows int64")]
    Overflow(String),
}

/// Prometheus's `parseTime`: Unix seconds with an optional fraction
/// (rounded to the millisecond), or RFC 3339 with an optional fraction and
/// offset. Returns milliseconds since the epoch.
pub fn parse_time(text: &str) -> Result<i64, BadTime> {
    let bad = || BadTime(text.to_owned());
    if let Some(seconds) = parse_go_float(text) {
        // Beyond ±2^53 ms the float is too coarse to be a time anyway.
        if !seconds.is_finite() || seconds.abs() > 9.2e15 {
            return Err(bad());
        }
        let whole = seconds.trunc();
        let fraction = ((seconds - whole) * 1000.0).round();
        return Ok(whole as i64 * 1000 + fraction as i64);
    }
    parse_rfc3339(text).ok_or_else(bad)
}

/// Prometheus's `parseDuration`: float seconds, or `1y2w3d4h5m6s7ms` with
/// each unit at most once and in that order. Returns nanoseconds.
pub fn parse_duration(text: &str) -> Result<i64, BadDuration> {
    if let Some(seconds) = parse_go_float(text) {
        let ns = seconds * 1e9;
        // 2^63 ns, exactly representable: Go's int64 overflow bounds.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if !(-LIMIT..LIMIT).contains(&ns) {
            return Err(BadDuration::Overflow(text.to_owned()));
        }
        return Ok(ns as i64);
    }
    parse_prom_duration(text)
        .map(|ms| ms.saturating_mul(1_000_000))
        .ok_or_else(|| BadDuration::Syntax(text.to_owned()))
}

/// Float syntax Go's `ParseFloat` takes and Rust's also does; Rust alone
/// takes `infinity` spelled out, and neither takes an empty string.
fn parse_go_float(text: &str) -> Option<f64> {
    let t = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if t.is_empty() || t.starts_with("infinity") && t != "infinity" {
        return None;
    }
    text.parse::<f64>().ok()
}

/// `model.ParseDuration`: `[0-9]+` + unit, units `y w d h m s ms` each at
/// most once, largest first; milliseconds.
fn parse_prom_duration(text: &str) -> Option<i64> {
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    let mut next_unit = 0;
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let number: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..letters];
        rest = &rest[letters..];
        let index = UNITS.iter().position(|(u, _)| *u == unit)?;
        if index < next_unit {
            return None;
        }
        next_unit = index + 1;
        total = total.checked_add(number.checked_mul(UNITS[index].1)?)?;
    }
    Some(total)
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, to ms (fraction truncated to ms).
fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b[i] == b'.' {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let frac = &text[i + 1..i + 1 + digits];
        let padded: String = frac.chars().chain("000".chars()).take(3).collect();
        millis = padded.parse::<i64>().ok()?;
        i += 1 + digits;
    }
    let offset_minutes = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Now, in ms since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1435781451.781"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("1435781451"), Ok(1_435_781_451_000));
        assert_eq!(parse_time("-1.5"), Ok(-1500));
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(
            parse_time("2015-07-01T22:10:51.781+02:00"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Ok(951_782_400_000));
        for bad in [
            "",
            "x",
            "NaN",
            "Inf",
            "2015-02-30T00:00:00Z",
            "2015-07-01",
            "2015-07-01T20:10:51.Z",
            "1e300",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15s"), Ok(15_000_000_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration("0.5"), Ok(500_000_000));
        assert_eq!(parse_duration("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_duration("100ms"), Ok(100_000_000));
        for bad in ["", "1x", "30s1m", "1s1s", "s", "-1m", "1e300"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_match_prometheus() {
        assert_eq!(MIN_TIME_MS, -9_223_309_901_257_974_000);
        assert_eq!(MAX_TIME_MS, 9_223_309_901_257_974_000);
    }
}
