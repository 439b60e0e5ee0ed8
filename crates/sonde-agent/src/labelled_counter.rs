//! A counter family with a budget of label sets: past the budget, new label
//! sets count into one overflow series, and the overflow itself is counted,
//! so a flood of distinct peers can never grow memory or /metrics unbounded.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The label value every label takes in the overflow series.
pub const OVERFLOW: &str = "_other";

/// `N` labels per series, at most `BUDGET` series.
pub struct LabelledCounter<const N: usize, const BUDGET: usize> {
    series: Mutex<Series<N>>,
}

#[derive(Default)]
struct Series<const N: usize> {
    counts: BTreeMap<[String; N], u64>,
    /// Increments that went to the overflow series.
    overflowed: u64,
}

impl<const N: usize, const BUDGET: usize> Default for LabelledCounter<N, BUDGET> {
    fn default() -> Self {
        LabelledCounter {
            series: Mutex::new(Series {
                counts: BTreeMap::new(),
                overflowed: 0,
            }),
        }
    }
}

impl<const N: usize, const BUDGET: usize> LabelledCounter<N, BUDGET> {
    pub fn add(&self, labels: [String; N], n: u64) {
        let Ok(mut s) = self.series.lock() else {
            return;
        };
        if s.counts.contains_key(&labels) || s.counts.len() < BUDGET {
            *s.counts.entry(labels).or_default() += n;
        } else {
            s.overflowed += n;
            *s.counts
                .entry(std::array::from_fn(|_| OVERFLOW.to_string()))
                .or_default() += n;
        }
    }

    /// Every series, and the increments that overflowed the budget.
    pub fn snapshot(&self) -> (Vec<([String; N], u64)>, u64) {
        match self.series.lock() {
            Ok(s) => (
                s.counts.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                s.overflowed,
            ),
            Err(_) => (Vec::new(), 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(a: &str, b: &str) -> [String; 2] {
        [a.to_string(), b.to_string()]
    }

    #[test]
    fn series_past_the_budget_fold_into_the_overflow_series() {
        let c = LabelledCounter::<2, 2>::default();
        c.add(labels("curl", "nginx"), 1);
        c.add(labels("curl", "redis"), 1);
        c.add(labels("curl", "nginx"), 2);
        c.add(labels("wget", "nginx"), 5);
        c.add(labels("dig", "unbound"), 1);
        let (series, overflowed) = c.snapshot();
        assert_eq!(overflowed, 6);
        assert_eq!(
            series,
            [
                (labels(OVERFLOW, OVERFLOW), 6),
                (labels("curl", "nginx"), 3),
                (labels("curl", "redis"), 1)
            ]
        );
    }
}
