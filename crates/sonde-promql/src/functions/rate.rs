//! Counter and gauge change functions: `rate`, `increase`, `delta`
//! (Prometheus's `extrapolatedRate`), `irate`, `idelta` (`instantValue`),
//! `resets` and `changes`.

use super::RangeArgs;

/// Prometheus's `extrapolatedRate` over float samples.
///
/// `is_counter` corrects for counter resets and stops the extrapolation at
/// the counter's zero point; `is_rate` divides by the range in seconds.
/// Fewer than two points give no sample.
pub(super) fn extrapolated_rate(args: &RangeArgs, is_counter: bool, is_rate: bool) -> Option<f64> {
    let points = args.points;
    if points.len() < 2 {
        return None;
    }
    let num_samples_minus_one = points.len() - 1;
    let (first_t, first_f) = points[0];
    let (last_t, last_f) = points[num_samples_minus_one];
    let mut result = last_f - first_f;
    if is_counter {
        for pair in points.windows(2) {
            let (prev, curr) = (pair[0].1, pair[1].1);
            if curr < prev {
                result += prev;
            }
        }
    }

    let mut duration_to_start = first_t.saturating_sub(args.range_start) as f64 / 1000.0;
    let mut duration_to_end = args.range_end.saturating_sub(last_t) as f64 / 1000.0;
    let sampled_interval = last_t.saturating_sub(first_t) as f64 / 1000.0;
    let average_duration_between_samples = sampled_interval / num_samples_minus_one as f64;

    let extrapolation_threshold = average_duration_between_samples * 1.1;
    if duration_to_start >= extrapolation_threshold {
        duration_to_start = average_duration_between_samples / 2.0;
    }
    if is_counter {
        // Counters cannot be negative: do not extrapolate past the point
        // where the counter would have been zero.
        let mut duration_to_zero = duration_to_start;
        if result > 0.0 && first_f >= 0.0 {
            duration_to_zero = sampled_interval * (first_f / result);
        }
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    if duration_to_end >= extrapolation_threshold {
        duration_to_end = average_duration_between_samples / 2.0;
    }

    let mut factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
    if is_rate {
        factor /= args.range_end.saturating_sub(args.range_start) as f64 / 1000.0;
    }
    Some(result * factor)
}

/// Prometheus's `instantValue`: `irate` (`is_rate`) or `idelta` from the
/// last two points. Two points at the same time give no sample.
pub(super) fn instant_value(args: &RangeArgs, is_rate: bool) -> Option<f64> {
    let n = args.points.len();
    if n < 2 {
        return None;
    }
    let (t0, f0) = args.points[n - 2];
    let (t1, f1) = args.points[n - 1];
    let sampled_interval = t1.saturating_sub(t0);
    if sampled_interval == 0 {
        return None;
    }
    // A counter reset leaves the result at the last value.
    let mut result = if is_rate && f1 < f0 { f1 } else { f1 - f0 };
    if is_rate {
        result /= sampled_interval as f64 / 1000.0;
    }
    Some(result)
}

/// `resets`: how many times a value is lower than the one before it.
pub(super) fn resets(args: &RangeArgs) -> Option<f64> {
    if args.points.is_empty() {
        return None;
    }
    let n = args
        .points
        .windows(2)
        .filter(|pair| pair[1].1 < pair[0].1)
        .count();
    Some(n as f64)
}

/// `changes`: how many times a value differs from the one before it (two
/// NaNs in a row are no change).
pub(super) fn changes(args: &RangeArgs) -> Option<f64> {
    if args.points.is_empty() {
        return None;
    }
    let n = args
        .points
        .windows(2)
        .filter(|pair| {
            let (prev, curr) = (pair[0].1, pair[1].1);
            curr != prev && !(curr.is_nan() && prev.is_nan())
        })
        .count();
    Some(n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(points: &[(i64, f64)], range_start: i64, range_end: i64) -> RangeArgs<'_> {
        RangeArgs {
            points,
            range_start,
            range_end,
            scalars: &[],
        }
    }

    /// `0+10x10` every 5m, evaluated at 50m over 50m: 0 is excluded by the
    /// left-open window, so points are 10..100 at 5m..50m.
    fn counter() -> Vec<(i64, f64)> {
        (1..=10).map(|i| (i * 300_000, i as f64 * 10.0)).collect()
    }

    #[test]
    fn rate_and_increase_extrapolate_to_the_boundaries() {
        let points = counter();
        let a = args(&points, 0, 3_000_000);
        let close = |v: Option<f64>, want: f64| (v.unwrap() - want).abs() < 1e-12 * want;
        // sampled 2700s, to start 300s (< 1.1*300), zero point also 300s back.
        assert!(close(extrapolated_rate(&a, true, false), 100.0));
        assert!(close(extrapolated_rate(&a, true, true), 100.0 / 3000.0));
        assert!(close(extrapolated_rate(&a, false, false), 100.0));
        // functions.test: `0+80x10` every 5m, rate(...[50m]) at 50m.
        let points: Vec<_> = (1..=10).map(|i| (i * 300_000, i as f64 * 80.0)).collect();
        // (Go's float operations give 0.2666666666666667 too; the test file
        // compares with a tolerance.)
        let r = extrapolated_rate(&args(&points, 0, 3_000_000), true, true);
        assert_eq!(r, Some(0.2666666666666667));
        assert!(close(r, 0.26666666666666666));
    }

    #[test]
    fn rate_zero_point_limits_start_extrapolation() {
        // From 1000 to 1090 over 90s, counter far from zero: full extrapolation.
        let points = [(10_000, 1000.0), (100_000, 1090.0)];
        let a = args(&points, 0, 100_000);
        assert_eq!(extrapolated_rate(&a, true, false), Some(100.0));
        // From 1 to 91: zero point is 1s before the first sample.
        let points = [(10_000, 1.0), (100_000, 91.0)];
        let a = args(&points, 0, 100_000);
        assert_eq!(extrapolated_rate(&a, true, false), Some(91.0));
        // delta is not limited by the zero point.
        assert_eq!(extrapolated_rate(&a, false, false), Some(100.0));
    }

    #[test]
    fn rate_far_boundaries_extrapolate_half_an_interval() {
        // Samples every 10s from 100s to 200s in a 1000s window.
        let points: Vec<_> = (10..=20).map(|i| (i * 10_000, 100.0 + i as f64)).collect();
        let a = args(&points, 0, 1_000_000);
        // 10 over 100s, extended by 5s each side: 10 * 110/100.
        assert_eq!(
            extrapolated_rate(&a, false, false),
            Some(10.0 * (110.0 / 100.0))
        );
    }

    #[test]
    fn rate_corrects_counter_resets() {
        // 0+10x4 then reset to 0+10x5, at 5m steps, over (0, 50m].
        let mut points: Vec<(i64, f64)> = (1..=4).map(|i| (i * 300_000, i as f64 * 10.0)).collect();
        points.extend((0..=5).map(|i| ((i + 5) * 300_000, i as f64 * 10.0)));
        let a = args(&points, 0, 3_000_000);
        // raw delta 50-10 = 40, plus 40 lost at the reset = 80 over 2700s,
        // extrapolated by 300s at each... the end is exact; start: zero point
        // 2700*(10/80) = 337.5s > 300s, so 300s.
        let inc = extrapolated_rate(&a, true, false).unwrap();
        assert_eq!(inc, 80.0 * (3000.0 / 2700.0));
        // Decreasing gauges never clamp.
        let points = [(10_000, 10.0), (20_000, 5.0)];
        assert_eq!(
            extrapolated_rate(&args(&points, 10_000, 20_000), false, false),
            Some(-5.0)
        );
    }

    #[test]
    fn extreme_timestamps_do_not_panic() {
        let points = [(i64::MIN, 1.0), (i64::MAX, 2.0)];
        let a = args(&points, i64::MIN, i64::MAX);
        assert!(extrapolated_rate(&a, true, true).is_some());
        assert!(instant_value(&a, true).is_some());
    }

    #[test]
    fn rate_needs_two_points() {
        assert_eq!(extrapolated_rate(&args(&[], 0, 10), true, true), None);
        assert_eq!(
            extrapolated_rate(&args(&[(5, 1.0)], 0, 10), true, true),
            None
        );
    }

    #[test]
    fn irate_and_idelta() {
        let points = [(0, 1.0), (10_000, 5.0), (20_000, 11.0)];
        let a = args(&points, -1, 20_000);
        assert_eq!(instant_value(&a, true), Some(0.6));
        assert_eq!(instant_value(&a, false), Some(6.0));
        let reset = [(10_000, 5.0), (20_000, 2.0)];
        let a = args(&reset, 0, 20_000);
        assert_eq!(instant_value(&a, true), Some(0.2));
        assert_eq!(instant_value(&a, false), Some(-3.0));
        assert_eq!(instant_value(&args(&[(1, 1.0)], 0, 1), true), None);
        assert_eq!(
            instant_value(&args(&[(1, 1.0), (1, 2.0)], 0, 1), true),
            None
        );
    }

    #[test]
    fn resets_and_changes() {
        let points = [
            (1, 1.0),
            (2, 2.0),
            (3, 1.0),
            (4, 1.0),
            (5, f64::NAN),
            (6, f64::NAN),
            (7, 0.0),
        ];
        let a = args(&points, 0, 7);
        assert_eq!(resets(&a), Some(1.0));
        // 1->2, 2->1, 1->NaN, NaN->0.
        assert_eq!(changes(&a), Some(4.0));
        assert_eq!(resets(&args(&[(1, 3.0)], 0, 1)), Some(0.0));
        assert_eq!(changes(&args(&[], 0, 1)), None);
    }
}
