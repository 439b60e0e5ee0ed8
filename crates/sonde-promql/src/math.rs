//! Numeric helpers shared by the functions and the aggregators, with
//! Prometheus's exact floating-point behaviour.
//!
//! - [`kahan_inc`] / [`KahanSum`]: Prometheus's `kahansum.Inc`, Kahan
//!   summation with Neumaier's improvement; the compensation is reset to 0
//!   once the running sum overflows to ±Inf.
//! - [`quantile`]: Prometheus's `quantile()`, used by the `quantile`
//!   aggregator, `quantile_over_time` and `mad_over_time`.

use std::cmp::Ordering;

/// One step of Prometheus's `kahansum.Inc`: adds `inc` to `sum` with
/// compensation `c`, returning the new `(sum, c)`.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// A compensated running sum, as Prometheus's `sum` aggregation and
/// `sum_over_time` keep it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct KahanSum {
    sum: f64,
    c: f64,
}

impl KahanSum {
    /// An empty sum (0).
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds `v`.
    pub(crate) fn add(&mut self, v: f64) {
        (self.sum, self.c) = kahan_inc(v, self.sum, self.c);
    }

    /// The sum: the running sum plus its compensation, or the running sum
    /// alone once it is ±Inf (as `sum_over_time` returns it).
    pub(crate) fn value(&self) -> f64 {
        if self.sum.is_infinite() {
            self.sum
        } else {
            self.sum + self.c
        }
    }
}

/// Prometheus's sort order for values: NaN before everything, then ascending.
pub(crate) fn nan_first_cmp(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// Prometheus's `quantile(q, values)`: sorts `values` (NaN first) and
/// interpolates linearly between the two nearest ranks.
///
/// Empty `values` or NaN `q` give NaN; `q < 0` gives -Inf and `q > 1` +Inf.
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(nan_first_cmp);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (n - 1.0).min(lower + 1.0);
    let weight = rank - rank.floor();
    // Both indexes are in [0, n-1] by construction.
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kahan_compensates_lost_low_bits() {
        let mut s = KahanSum::new();
        for v in [1.0, 1e100, 1.0, -1e100] {
            s.add(v);
        }
        assert_eq!(s.value(), 2.0);
        let naive: f64 = [1.0, 1e100, 1.0, -1e100].iter().sum();
        assert_eq!(naive, 0.0);
    }

    #[test]
    fn kahan_infinity_resets_compensation() {
        let mut s = KahanSum::new();
        s.add(f64::MAX);
        s.add(f64::MAX);
        assert_eq!((s.sum, s.c), (f64::INFINITY, 0.0));
        assert_eq!(s.value(), f64::INFINITY);
        s.add(-f64::INFINITY);
        assert!(s.value().is_nan());
        let mut e = KahanSum::new();
        assert_eq!(e.value(), 0.0);
        e.add(f64::NAN);
        assert!(e.value().is_nan());
    }

    #[test]
    fn quantile_interpolates() {
        assert_eq!(quantile(0.5, &mut [0.0, 1.0]), 0.5);
        assert_eq!(quantile(0.75, &mut [2.0, 0.0, 1.0]), 1.5);
        assert_eq!(quantile(0.8, &mut [4.0, 1.0, 0.0]), 2.8000000000000003);
        assert_eq!(quantile(0.0, &mut [3.0, 1.0]), 1.0);
        assert_eq!(quantile(1.0, &mut [3.0, 1.0]), 3.0);
        assert_eq!(quantile(0.3, &mut [7.0]), 7.0);
    }

    #[test]
    fn quantile_bounds_and_nan() {
        assert_eq!(quantile(-0.1, &mut [1.0]), f64::NEG_INFINITY);
        assert_eq!(quantile(1.1, &mut [1.0]), f64::INFINITY);
        assert!(quantile(f64::NAN, &mut [1.0]).is_nan());
        assert!(quantile(0.5, &mut []).is_nan());
        // NaN sorts first: it is the smallest value.
        assert_eq!(quantile(0.8, &mut [0.0, 1.0, f64::NAN]), 0.6000000000000001);
        assert!(quantile(0.2, &mut [0.0, 1.0, f64::NAN]).is_nan());
    }
}
