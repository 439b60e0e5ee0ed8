//! `histogram_quantile` over classic (`le`-bucketed) histograms:
//! Prometheus's `BucketQuantile`.

/// Relative difference between adjacent cumulative counts that Prometheus
/// treats as a floating-point artifact and irons out.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// Prometheus's `almost.Equal`.
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Go's `sort.Search(n, f)`: the smallest `i` in `[0, n)` with `f(i)`, or
/// `n`, probing in Go's order (which matters when NaN counts make `f`
/// non-monotonic).
fn go_search(n: usize, f: impl Fn(usize) -> bool) -> usize {
    let (mut i, mut j) = (0, n);
    while i < j {
        let h = i + (j - i) / 2;
        if f(h) {
            j = h;
        } else {
            i = h + 1;
        }
    }
    i
}

/// Merges adjacent buckets with the same upper bound (input sorted).
fn coalesce(buckets: &mut Vec<(f64, f64)>) {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(le, count) in buckets.iter() {
        match out.last_mut() {
            Some(last) if last.0 == le => last.1 += count,
            _ => out.push((le, count)),
        }
    }
    *buckets = out;
}

/// Prometheus's `ensureMonotonicAndIgnoreSmallDeltas`: counts that are
/// almost equal to the previous kept count, or lower, are raised to it.
fn ensure_monotonic(buckets: &mut [(f64, f64)]) {
    let Some(&(_, mut prev)) = buckets.first() else {
        return;
    };
    for bucket in buckets.iter_mut().skip(1) {
        let curr = bucket.1;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) || curr < prev {
            bucket.1 = prev;
            continue;
        }
        prev = curr;
    }
}

/// The `q` quantile of a classic histogram given as `(le, cumulative
/// count)` buckets in any order, as Prometheus's `BucketQuantile`.
///
/// q NaN gives NaN, q < 0 gives -Inf and q > 1 gives +Inf; no `+Inf`
/// bucket, fewer than two buckets (after merging equal bounds) or zero
/// observations give NaN. A quantile in the `+Inf` bucket is the
/// second-highest bound; one in the lowest bucket interpolates from 0 unless
/// that bucket's bound is ≤ 0, which is then returned. `buckets` is left
/// sorted, merged and made monotonic.
pub(crate) fn bucket_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // A total order, so NaN bounds (which Prometheus does not expect) cannot
    // upset the sort.
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    match buckets.last() {
        Some(&(le, _)) if le == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    coalesce(buckets);
    ensure_monotonic(buckets);
    let n = buckets.len();
    if n < 2 {
        return f64::NAN;
    }
    let observations = buckets[n - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = go_search(n - 1, |i| buckets[i].1 >= rank);
    if b == n - 1 {
        return buckets[n - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let bucket_end = buckets[b].0;
    let mut count = buckets[b].1;
    let mut bucket_start = 0.0;
    if b > 0 {
        bucket_start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    fn bq(q: f64, buckets: &[(f64, f64)]) -> f64 {
        bucket_quantile(q, &mut buckets.to_vec())
    }

    #[test]
    fn interpolates_within_buckets() {
        let b = [(0.1, 10.0), (0.2, 30.0), (INF, 40.0)];
        // rank 20 falls in (0.1, 0.2]: 0.1 + 0.1 * (10/20).
        assert_eq!(bq(0.5, &b), 0.1 + (0.2 - 0.1) * (10.0 / 20.0));
        // rank 4 in the first bucket, interpolated from 0.
        assert_eq!(bq(0.1, &b), 0.1 * (4.0 / 10.0));
        // rank 36 in the +Inf bucket: the second-highest bound.
        assert_eq!(bq(0.9, &b), 0.2);
        assert_eq!(bq(0.0, &b), 0.0);
        assert_eq!(bq(1.0, &b), 0.2);
    }

    #[test]
    fn sorts_and_merges_buckets() {
        let b = [(INF, 40.0), (0.2, 30.0), (0.1, 4.0), (0.1, 6.0)];
        assert_eq!(bq(0.5, &b), 0.1 + (0.2 - 0.1) * (10.0 / 20.0));
    }

    #[test]
    fn special_cases() {
        let b = [(1.0, 1.0), (INF, 2.0)];
        assert!(bq(f64::NAN, &b).is_nan());
        assert_eq!(bq(-0.1, &b), f64::NEG_INFINITY);
        assert_eq!(bq(1.1, &b), INF);
        // No +Inf bucket, a single bucket, no observations, nothing at all.
        assert!(bq(0.5, &[(1.0, 1.0), (2.0, 2.0)]).is_nan());
        assert!(bq(0.5, &[(INF, 2.0)]).is_nan());
        assert!(bq(0.5, &[(1.0, 0.0), (INF, 0.0)]).is_nan());
        assert!(bq(0.5, &[]).is_nan());
        // Out-of-range q wins even over malformed buckets.
        assert_eq!(bq(2.0, &[]), INF);
    }

    #[test]
    fn non_positive_lowest_bound_is_returned() {
        let b = [(-1.0, 5.0), (0.0, 10.0), (INF, 10.0)];
        assert_eq!(bq(0.2, &b), -1.0);
        // rank 7.5 in (-1, 0]: -1 + 1 * (2.5/5).
        assert_eq!(bq(0.75, &b), -0.5);
    }

    #[test]
    fn nan_counts_do_not_panic() {
        let b = [(1.0, f64::NAN), (2.0, 3.0), (INF, f64::NAN)];
        // NaN observations: no bucket reaches the rank.
        assert_eq!(bq(0.5, &b), 2.0);
        let b = [(1.0, 1.0), (2.0, f64::NAN), (INF, 4.0)];
        assert!(!bq(0.9, &b).is_infinite());
        assert_eq!(go_search(0, |_| true), 0);
        assert_eq!(go_search(5, |i| i >= 3), 3);
        assert_eq!(go_search(5, |_| false), 5);
    }

    #[test]
    fn forces_monotonicity() {
        // The dip to 5 is raised to 10.
        let mut b = vec![(1.0, 10.0), (2.0, 5.0), (3.0, 20.0), (INF, 20.0)];
        assert_eq!(bucket_quantile(0.5, &mut b), 1.0);
        assert_eq!(b, vec![(1.0, 10.0), (2.0, 10.0), (3.0, 20.0), (INF, 20.0)]);
        // A tiny relative difference is ironed out in either direction.
        let mut b = vec![(1.0, 1e15), (2.0, 1e15 + 0.25), (INF, 2e15)];
        bucket_quantile(0.5, &mut b);
        assert_eq!(b[1].1, 1e15);
    }
}
