//! Evaluating the `anchored` and `smoothed` modifiers of extended range
//! selectors (see `rewrite/modifiers.rs` for how they reach the evaluator).
//!
//! - `x[r] anchored`: the window `(t-r, t]` also holds the last sample at or
//!   before its start (within the lookback), and `rate`, `increase` and
//!   `delta` are the difference between the last sample and that anchor,
//!   without extrapolation; `changes` and `resets` count from the anchor.
//! - `x[r] smoothed`: the window also holds the first sample after its end
//!   (within the lookback), and `rate`, `increase` and `delta` take the
//!   values at the window's two edges, linearly interpolated between the
//!   samples around each edge.
//! - `x smoothed`: the value at `t` interpolated between the samples around
//!   it; the last sample's value when there is none after `t`.
//!
//! For counters, resets are taken out before interpolating: each sample is
//! raised by the values lost at earlier resets.

use super::{exec, Sample};
use crate::QueryError;

/// An extended range selector's modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeModifier {
    Anchored,
    Smoothed,
}

impl RangeModifier {
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "anchored" => Some(Self::Anchored),
            "smoothed" => Some(Self::Smoothed),
            _ => None,
        }
    }

    /// The functions that accept the modifier, as Prometheus lists them.
    fn allowed(self) -> &'static [&'static str] {
        match self {
            Self::Anchored => &["changes", "delta", "increase", "rate", "resets"],
            Self::Smoothed => &["delta", "increase", "rate"],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Anchored => "anchored",
            Self::Smoothed => "smoothed",
        }
    }

    /// Errors, in Prometheus's words, unless `function` takes the modifier.
    pub(crate) fn check(self, function: &str) -> Result<(), QueryError> {
        if self.allowed().contains(&function) {
            return Ok(());
        }
        Err(exec(format!(
            "{} modifier can only be used with: {} - not with {function}",
            self.name(),
            self.allowed().join(", ")
        )))
    }
}

/// `rate`, `increase` (`counter`) or `delta` over an extended window
/// `(start, end]`; `None` when the data lies only before or only after it.
pub(crate) fn extended_delta(
    points: &[(i64, f64)],
    start: i64,
    end: i64,
    modifier: RangeModifier,
    counter: bool,
    rate: bool,
) -> Option<f64> {
    let smoothed = modifier == RangeModifier::Smoothed;
    let last_before_end = points.iter().rposition(|p| p.0 <= end)?;
    let last = if smoothed {
        points
            .iter()
            .position(|p| p.0 >= end)
            .unwrap_or(points.len() - 1)
    } else {
        last_before_end
    };
    if points[last].0 <= start {
        return None;
    }
    let values = if counter {
        without_resets(points)
    } else {
        points.iter().map(|p| p.1).collect()
    };
    let first = points
        .iter()
        .position(|p| p.0 > start)
        .unwrap_or(points.len())
        .saturating_sub(1);
    let at = |i: usize, j: usize, t: i64| {
        let (t1, t2) = (points[i].0, points[j].0);
        values[i] + (values[j] - values[i]) * (t - t1) as f64 / (t2 - t1) as f64
    };
    let left = if smoothed && points[first].0 < start && first + 1 < points.len() {
        at(first, first + 1, start)
    } else {
        values[first]
    };
    let right = if smoothed && points[last].0 > end && last > 0 {
        at(last - 1, last, end)
    } else {
        values[last]
    };
    let mut v = right - left;
    if rate {
        v /= end.saturating_sub(start) as f64 / 1000.0;
    }
    Some(v)
}

/// Counter values with resets taken out: each raised by the values lost at
/// the resets before it.
fn without_resets(points: &[(i64, f64)]) -> Vec<f64> {
    let mut offset = 0.0;
    let mut prev: Option<f64> = None;
    points
        .iter()
        .map(|&(_, v)| {
            if let Some(p) = prev {
                if v < p {
                    offset += p;
                }
            }
            prev = Some(v);
            v + offset
        })
        .collect()
}

/// A smoothed instant sample at `t` from the samples around it (the
/// lookback window before `t` and after it), if there is one before.
pub(crate) fn smoothed_value(points: &[(i64, f64)], t: i64) -> Option<f64> {
    let before = points.iter().rposition(|p| p.0 <= t)?;
    let (t1, v1) = points[before];
    match points.get(before + 1) {
        Some(&(t2, v2)) if t1 < t => Some(v1 + (v2 - v1) * (t - t1) as f64 / (t2 - t1) as f64),
        _ => Some(v1),
    }
}

/// The sample a smoothed selector yields for one series.
pub(crate) fn smoothed_sample(
    labels: sonde_tsdb::Labels,
    points: &[(i64, f64)],
    t: i64,
) -> Option<Sample> {
    smoothed_value(points, t).map(|v| Sample {
        labels,
        v,
        ts: t,
        drop_name: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    #[test]
    fn smoothed_increase_across_resets() {
        // 9 8 5 4 every minute: increase over (15s, 2m15s] is 12.
        let points = [(0, 9.0), (60 * S, 8.0), (120 * S, 5.0), (180 * S, 4.0)];
        let v = extended_delta(
            &points,
            15 * S,
            135 * S,
            RangeModifier::Smoothed,
            true,
            false,
        );
        assert!((v.unwrap() - 12.0).abs() < 1e-9);
    }

    #[test]
    fn anchored_increase_and_empty_windows() {
        let points = [(0, 3.0), (60 * S, 2.0)];
        let v = extended_delta(
            &points,
            30 * S,
            90 * S,
            RangeModifier::Anchored,
            true,
            false,
        );
        assert_eq!(v, Some(2.0));
        let only_before = [(9 * 60 * S, 1.0)];
        let v = extended_delta(
            &only_before,
            600 * S,
            900 * S,
            RangeModifier::Anchored,
            true,
            false,
        );
        assert_eq!(v, None);
    }

    #[test]
    fn smoothed_instant_values() {
        let points = [(0, 1.0), (10 * S, 2.0)];
        assert_eq!(smoothed_value(&points, 5 * S), Some(1.5));
        assert_eq!(smoothed_value(&points, 15 * S), Some(2.0));
        assert_eq!(smoothed_value(&points, -S), None);
    }
}
