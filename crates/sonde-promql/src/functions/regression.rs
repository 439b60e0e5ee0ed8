//! Least-squares linear regression: `deriv` and `predict_linear`, as
//! Prometheus's `linearRegression` computes them (Kahan-compensated sums,
//! x in seconds relative to a chosen time, constant series special-cased).

use crate::math::kahan_inc;

/// Prometheus's `linearRegression`: the slope (per second) and the value
/// of the regression line at `intercept_time` (ms). Needs at least one point.
fn linear_regression(points: &[(i64, f64)], intercept_time: i64) -> (f64, f64) {
    let Some(&(_, init_y)) = points.first() else {
        return (f64::NAN, f64::NAN);
    };
    let mut n = 0.0;
    let (mut sum_x, mut c_x) = (0.0, 0.0);
    let (mut sum_y, mut c_y) = (0.0, 0.0);
    let (mut sum_xy, mut c_xy) = (0.0, 0.0);
    let (mut sum_x2, mut c_x2) = (0.0, 0.0);
    let mut const_y = true;
    for (i, &(t, f)) in points.iter().enumerate() {
        // Any new y value (NaN included) makes the series non-constant.
        if const_y && i > 0 && f != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = t.saturating_sub(intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(f, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * f, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;

    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `deriv`: the regression slope per second; needs two points.
pub(super) fn deriv(points: &[(i64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    // Relative to the first sample, to keep x small (Prometheus #2674).
    Some(linear_regression(points, points[0].0).0)
}

/// `predict_linear(v, duration)`: the regression line's value `duration`
/// seconds after `eval_time` (ms, the evaluation step's timestamp, before
/// offset and `@`); needs two points.
pub(super) fn predict_linear(points: &[(i64, f64)], duration: f64, eval_time: i64) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(points, eval_time);
    Some(slope * duration + intercept)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// functions.test: `testcounter_reset_middle_total 0+10x4 0+10x5` every 5m.
    fn reset_middle() -> Vec<(i64, f64)> {
        let ys = [
            0.0, 10.0, 20.0, 30.0, 40.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0,
        ];
        ys.iter()
            .enumerate()
            .map(|(i, &y)| (i as i64 * 300_000, y))
            .collect()
    }

    #[test]
    fn deriv_matches_prometheus() {
        assert_eq!(deriv(&reset_middle()), Some(0.010606060606060607));
        let line: Vec<_> = (0..=10).map(|i| (i * 300_000, i as f64 * 80.0)).collect();
        assert_eq!(deriv(&line[1..]), Some(0.26666666666666666));
        assert_eq!(deriv(&[(0, 1.0)]), None);
        assert_eq!(deriv(&[]), None);
    }

    #[test]
    fn deriv_constant_and_infinite_series() {
        assert_eq!(deriv(&[(0, 5.0), (1000, 5.0)]), Some(0.0));
        assert!(deriv(&[(0, f64::INFINITY), (1000, f64::INFINITY)])
            .unwrap()
            .is_nan());
        let mut inf = vec![(0, f64::NEG_INFINITY)];
        inf.extend((1..=11).map(|i| (i * 300_000, (i - 1) as f64 * 80.0)));
        inf.push((12 * 300_000, f64::INFINITY));
        assert!(deriv(&inf).unwrap().is_nan());
    }

    #[test]
    fn predict_linear_intercepts_at_eval_time() {
        let p = reset_middle();
        // Window (0, 50m] excludes the sample at 0.
        assert_eq!(predict_linear(&p[1..], 3600.0, 3_000_000), Some(70.0));
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.abs();
        // @ 3000 evaluated at 50m, 10m and 70m ([55m] includes the sample at 0).
        let v = predict_linear(&p, 3600.0, 3_000_000).unwrap();
        assert!(close(v, 76.81818181818181), "{v}");
        let v = predict_linear(&p, 3600.0, 600_000).unwrap();
        assert!(close(v, 51.36363636363637), "{v}");
        let v = predict_linear(&p, 3600.0, 4_200_000).unwrap();
        assert!(close(v, 89.54545454545455), "{v}");
        assert_eq!(predict_linear(&p[..1], 1.0, 0), None);
        assert!(predict_linear(&p, 1.0, i64::MIN).is_some());
        // A constant series predicts itself.
        assert_eq!(predict_linear(&[(0, 3.0), (10, 3.0)], 100.0, 20), Some(3.0));
    }
}
