//! A histogram family with a budget of label sets, like
//! [`LabelledCounter`](crate::labelled_counter::LabelledCounter): past the
//! budget, new label sets observe into one `_other` series, counted.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::labelled_counter::OVERFLOW;

/// Upper bounds of the latency buckets, in seconds (Prometheus's `le`).
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One series: cumulative bucket counts are derived when rendered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Observations per bucket (not cumulative); the last is `+Inf`.
    pub buckets: [u64; LATENCY_BUCKETS.len() + 1],
    pub count: u64,
    pub sum_seconds: f64,
    /// Observations that were errors (RED's E).
    pub errors: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: Option<f64>, error: bool) {
        self.count += 1;
        self.errors += u64::from(error);
        if let Some(s) = seconds {
            let i = LATENCY_BUCKETS
                .iter()
                .position(|le| s <= *le)
                .unwrap_or(LATENCY_BUCKETS.len());
            self.buckets[i] += 1;
            self.sum_seconds += s;
        }
    }
}

pub struct LabelledHistogram<const N: usize, const BUDGET: usize> {
    series: Mutex<(BTreeMap<[String; N], Histogram>, u64)>,
}

impl<const N: usize, const BUDGET: usize> Default for LabelledHistogram<N, BUDGET> {
    fn default() -> Self {
        LabelledHistogram {
            series: Mutex::new((BTreeMap::new(), 0)),
        }
    }
}

impl<const N: usize, const BUDGET: usize> LabelledHistogram<N, BUDGET> {
    /// One request: its latency if it was answered, and whether it failed.
    pub fn observe(&self, labels: [String; N], seconds: Option<f64>, error: bool) {
        let Ok(mut guard) = self.series.lock() else {
            return;
        };
        let (series, overflowed) = &mut *guard;
        let labels = if series.contains_key(&labels) || series.len() < BUDGET {
            labels
        } else {
            *overflowed += 1;
            std::array::from_fn(|_| OVERFLOW.to_string())
        };
        series.entry(labels).or_default().observe(seconds, error);
    }

    /// Every series, and the observations that overflowed the budget.
    pub fn snapshot(&self) -> (Vec<([String; N], Histogram)>, u64) {
        match self.series.lock() {
            Ok(s) => (
                s.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                s.1,
            ),
            Err(_) => (Vec::new(), 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_bucket_and_overflow_past_the_budget() {
        let h = LabelledHistogram::<1, 1>::default();
        h.observe(["a".into()], Some(0.0004), false);
        h.observe(["a".into()], Some(0.003), true);
        h.observe(["a".into()], None, true);
        h.observe(["b".into()], Some(20.0), false);
        let (series, overflowed) = h.snapshot();
        assert_eq!(overflowed, 1);
        let a = &series.iter().find(|(l, _)| l[0] == "a").unwrap().1;
        assert_eq!((a.count, a.errors), (3, 2));
        assert_eq!(a.buckets[0], 1);
        assert_eq!(a.buckets[3], 1);
        assert!((a.sum_seconds - 0.0034).abs() < 1e-12);
        let other = &series.iter().find(|(l, _)| l[0] == OVERFLOW).unwrap().1;
        assert_eq!(other.buckets[LATENCY_BUCKETS.len()], 1);
    }
}
