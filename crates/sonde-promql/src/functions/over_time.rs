//! The `<aggregation>_over_time` functions over one series' float samples,
//! with Prometheus's summation order, Kahan compensation and NaN handling.

use super::RangeArgs;
use crate::math::{kahan_inc, quantile};

/// The values of the points.
fn values(args: &RangeArgs) -> Vec<f64> {
    args.points.iter().map(|&(_, v)| v).collect()
}

/// `avg_over_time`: the direct Kahan-compensated mean while the sum stays
/// finite, switching to Prometheus's incremental mean once it overflows.
pub(super) fn avg(args: &RangeArgs) -> Option<f64> {
    let (&(_, first), rest) = args.points.split_first()?;
    let (mut sum, mut count) = (first, 1.0);
    let (mut mean, mut kahan_c) = (0.0, 0.0);
    let mut incremental = false;
    for (i, &(_, f)) in rest.iter().enumerate() {
        count = (i + 2) as f64;
        if !incremental {
            let (new_sum, new_c) = kahan_inc(f, sum, kahan_c);
            if !new_sum.is_infinite() {
                (sum, kahan_c) = (new_sum, new_c);
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            kahan_c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, kahan_c) = kahan_inc(f / count, q * mean, q * kahan_c);
    }
    if incremental {
        Some(mean + kahan_c)
    } else {
        Some(sum / count + kahan_c / count)
    }
}

/// `sum_over_time`: Kahan sum; an infinite sum is returned without its
/// compensation.
pub(super) fn sum(args: &RangeArgs) -> Option<f64> {
    if args.points.is_empty() {
        return None;
    }
    let (mut sum, mut c) = (0.0, 0.0);
    for &(_, f) in args.points {
        (sum, c) = kahan_inc(f, sum, c);
    }
    Some(if sum.is_infinite() { sum } else { sum + c })
}

/// `count_over_time`.
pub(super) fn count(args: &RangeArgs) -> Option<f64> {
    (!args.points.is_empty()).then_some(args.points.len() as f64)
}

/// Prometheus's `compareOverTime`: keeps the first point and replaces it
/// with each later one `better` prefers; returns `(value, timestamp)`.
fn compare(args: &RangeArgs, better: impl Fn(f64, f64) -> bool) -> Option<(f64, i64)> {
    let &(t0, f0) = args.points.first()?;
    let (mut best, mut best_t) = (f0, t0);
    for &(t, f) in args.points {
        if better(f, best) {
            (best, best_t) = (f, t);
        }
    }
    Some((best, best_t))
}

/// `min_over_time`: NaN only when every value is NaN.
pub(super) fn min(args: &RangeArgs) -> Option<f64> {
    compare(args, |cur, m| cur < m || m.is_nan()).map(|(v, _)| v)
}

/// `max_over_time`: NaN only when every value is NaN.
pub(super) fn max(args: &RangeArgs) -> Option<f64> {
    compare(args, |cur, m| cur > m || m.is_nan()).map(|(v, _)| v)
}

/// `ts_of_min_over_time`: the time (seconds) of the last minimum.
pub(super) fn ts_of_min(args: &RangeArgs) -> Option<f64> {
    compare(args, |cur, m| cur <= m || m.is_nan()).map(|(_, t)| t as f64 / 1000.0)
}

/// `ts_of_max_over_time`: the time (seconds) of the last maximum.
pub(super) fn ts_of_max(args: &RangeArgs) -> Option<f64> {
    compare(args, |cur, m| cur >= m || m.is_nan()).map(|(_, t)| t as f64 / 1000.0)
}

/// Prometheus's `varianceOverTime`: Welford's algorithm with Kahan
/// compensation of the mean and of the sum of squares.
pub(super) fn stdvar(args: &RangeArgs) -> Option<f64> {
    if args.points.is_empty() {
        return None;
    }
    let mut count = 0.0;
    let (mut mean, mut c_mean) = (0.0, 0.0);
    let (mut aux, mut c_aux) = (0.0, 0.0);
    for &(_, f) in args.points {
        count += 1.0;
        let delta = f - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (f - (mean + c_mean)), aux, c_aux);
    }
    Some((aux + c_aux) / count)
}

/// `stddev_over_time`.
pub(super) fn stddev(args: &RangeArgs) -> Option<f64> {
    stdvar(args).map(f64::sqrt)
}

/// `quantile_over_time(q, ...)`.
pub(super) fn quantile_over(args: &RangeArgs, q: f64) -> Option<f64> {
    if args.points.is_empty() {
        return None;
    }
    Some(quantile(q, &mut values(args)))
}

/// `mad_over_time`: the median absolute deviation from the median. A NaN
/// sample makes the result NaN (as Prometheus's tests require).
pub(super) fn mad(args: &RangeArgs) -> Option<f64> {
    if args.points.is_empty() {
        return None;
    }
    let mut vals = values(args);
    if vals.iter().any(|v| v.is_nan()) {
        return Some(f64::NAN);
    }
    let median = quantile(0.5, &mut vals.clone());
    for v in &mut vals {
        *v = (*v - median).abs();
    }
    Some(quantile(0.5, &mut vals))
}

/// `last_over_time`.
pub(super) fn last(args: &RangeArgs) -> Option<f64> {
    args.points.last().map(|&(_, v)| v)
}

/// `first_over_time`.
pub(super) fn first(args: &RangeArgs) -> Option<f64> {
    args.points.first().map(|&(_, v)| v)
}

/// `ts_of_last_over_time`: the time (seconds) of the last sample.
pub(super) fn ts_of_last(args: &RangeArgs) -> Option<f64> {
    args.points.last().map(|&(t, _)| t as f64 / 1000.0)
}

/// `ts_of_first_over_time`: the time (seconds) of the first sample.
pub(super) fn ts_of_first(args: &RangeArgs) -> Option<f64> {
    args.points.first().map(|&(t, _)| t as f64 / 1000.0)
}

/// `present_over_time`: 1 when there is any sample.
pub(super) fn present(args: &RangeArgs) -> Option<f64> {
    (!args.points.is_empty()).then_some(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(values: &[f64]) -> Vec<(i64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| ((i as i64 + 1) * 10_000, v))
            .collect()
    }

    fn args(points: &[(i64, f64)]) -> RangeArgs<'_> {
        RangeArgs {
            points,
            range_start: 0,
            range_end: 1_000_000,
            scalars: &[],
        }
    }

    #[test]
    fn empty_gives_nothing() {
        let a = args(&[]);
        for f in [
            avg, sum, count, min, max, stdvar, stddev, mad, last, first, present,
        ] {
            assert_eq!(f(&a), None);
        }
        assert_eq!(ts_of_min(&a), None);
        assert_eq!(ts_of_last(&a), None);
        assert_eq!(quantile_over(&a, 0.5), None);
    }

    #[test]
    fn sums_and_means() {
        let p = at(&[1.0, 2.0, 3.0, 4.0]);
        let a = args(&p);
        assert_eq!(sum(&a), Some(10.0));
        assert_eq!(avg(&a), Some(2.5));
        assert_eq!(count(&a), Some(4.0));
        assert_eq!(present(&a), Some(1.0));
        // Kahan keeps the small terms.
        let p = at(&[1.0, 1e100, 1.0, -1e100]);
        assert_eq!(sum(&args(&p)), Some(2.0));
        assert_eq!(avg(&args(&p)), Some(0.5));
    }

    #[test]
    fn avg_switches_to_incremental_mean_on_overflow() {
        let p = at(&[f64::MAX, f64::MAX, f64::MAX]);
        let v = avg(&args(&p)).unwrap();
        assert!((v / f64::MAX - 1.0).abs() < 1e-15, "{v}");
        let p = at(&[f64::MAX, -f64::MAX]);
        assert_eq!(avg(&args(&p)), Some(0.0));
        let p = at(&[1.0, f64::INFINITY, 2.0]);
        assert_eq!(avg(&args(&p)), Some(f64::INFINITY));
        let p = at(&[f64::INFINITY, f64::NEG_INFINITY]);
        assert!(avg(&args(&p)).unwrap().is_nan());
        let p = at(&[f64::MAX, f64::MAX]);
        assert_eq!(sum(&args(&p)), Some(f64::INFINITY));
    }

    #[test]
    fn min_max_and_their_timestamps() {
        let p = at(&[f64::NAN, 3.0, 1.0, 3.0, 1.0, f64::NAN]);
        let a = args(&p);
        assert_eq!(min(&a), Some(1.0));
        assert_eq!(max(&a), Some(3.0));
        // Ties: the last occurrence.
        assert_eq!(ts_of_min(&a), Some(50.0));
        assert_eq!(ts_of_max(&a), Some(40.0));
        let p = at(&[f64::NAN, f64::NAN]);
        assert!(min(&args(&p)).unwrap().is_nan());
        assert!(max(&args(&p)).unwrap().is_nan());
        // functions.test: `load 10s53ms metric 1 2 3 0 5 6 2 1 4` at 90s [90s].
        let p: Vec<_> = [2.0, 3.0, 0.0, 5.0, 6.0, 2.0, 1.0, 4.0]
            .iter()
            .enumerate()
            .map(|(i, &v)| ((i as i64 + 1) * 10_053, v))
            .collect();
        assert_eq!(ts_of_min(&args(&p)), Some(30.159));
        assert_eq!(ts_of_max(&args(&p)), Some(50.265));
        assert_eq!(ts_of_first(&args(&p)), Some(10.053));
        assert_eq!(ts_of_last(&args(&p)), Some(80.424));
        assert_eq!(first(&args(&p)), Some(2.0));
        assert_eq!(last(&args(&p)), Some(4.0));
    }

    #[test]
    fn variance() {
        // functions.test: metric 0 8 8 2 3 -> stdvar 10.56, stddev 3.249615.
        let p = at(&[0.0, 8.0, 8.0, 2.0, 3.0]);
        let v = stdvar(&args(&p)).unwrap();
        assert!((v - 10.56).abs() < 1e-12, "{v}");
        let d = stddev(&args(&p)).unwrap();
        assert!((d - 3.249615).abs() < 1e-6, "{d}");
        // #4927: equal values give exactly 0.
        let p = at(&[1.5990505637277868; 3]);
        assert_eq!(stdvar(&args(&p)), Some(0.0));
        assert_eq!(stddev(&args(&p)), Some(0.0));
        assert_eq!(stdvar(&args(&at(&[5.0]))), Some(0.0));
    }

    #[test]
    fn quantiles_and_mad() {
        let p = at(&[0.0, 1.0, 4.0]);
        assert_eq!(quantile_over(&args(&p), 0.5), Some(1.0));
        assert_eq!(quantile_over(&args(&p), 0.75), Some(2.5));
        assert_eq!(quantile_over(&args(&p), -1.0), Some(f64::NEG_INFINITY));
        assert_eq!(quantile_over(&args(&p), 2.0), Some(f64::INFINITY));
        // functions.test mad_over_time cases.
        assert_eq!(
            mad(&args(&at(&[4.0, 6.0, 2.0, 1.0, 999.0, 1.0, 2.0]))),
            Some(1.0)
        );
        assert_eq!(mad(&args(&at(&[1.0, 2.0, 3.0, 4.0, 5.0]))), Some(1.0));
        assert_eq!(mad(&args(&at(&[7.0; 5]))), Some(0.0));
        assert_eq!(mad(&args(&at(&[5.0]))), Some(0.0));
        assert!(mad(&args(&at(&[1.0, 2.0, f64::NAN, 4.0])))
            .unwrap()
            .is_nan());
    }
}
