//! The series index at 100k series: `select` for random selectors must equal
//! a brute-force filter of every series, before and after deletes.
//!
//! Series are drawn from a few label dimensions (metric × job × instance ×
//! path × status), with `path` and `status` sometimes absent, so the
//! empty-value rules are exercised at scale. A fixed-seed xorshift keeps the
//! run reproducible.

use std::collections::HashSet;

use roaring::RoaringBitmap;
use sonde_tsdb::{Labels, MatchOp, Matcher, SeriesIndex, SeriesRef};

const SERIES: usize = 100_000;
const SELECTORS: usize = 50;

/// xorshift64* (Vigna), enough for test data.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const METRICS: &[&str] = &["up", "http_requests_total", "rpc_calls", "node:cpu:rate5m"];
const JOBS: &[&str] = &["api", "web", "db", "cache", "batch"];
const STATUSES: &[&str] = &["", "200", "404", "500"];

fn random_series(rng: &mut XorShift) -> Labels {
    let instance = format!("10.0.0.{}:9100", rng.below(50));
    // One in ten series has no path.
    let path = match rng.below(61) {
        0..=5 => String::new(),
        n => format!("/api/v{}/item{}", n % 3, n),
    };
    Labels::new([
        ("__name__", rng.pick(METRICS).to_owned()),
        ("job", rng.pick(JOBS).to_owned()),
        ("instance", instance),
        ("path", path),
        ("status", rng.pick(STATUSES).to_owned()),
    ])
    .expect("valid generated labels")
}

/// A value for a matcher on `name`: a real one, the empty string, a
/// missing one, or a pattern (plain, alternation, or with regex syntax).
fn random_value(rng: &mut XorShift, index: &SeriesIndex, name: &str) -> String {
    let values: Vec<&str> = index.label_values(name).collect();
    let real = |rng: &mut XorShift| {
        if values.is_empty() {
            "none".to_owned()
        } else {
            values[rng.below(values.len())].to_owned()
        }
    };
    match rng.below(8) {
        0 => String::new(),
        1 => "missing".to_owned(),
        2 => format!("{}|{}|{}", real(rng), real(rng), "missing"),
        3 => rng
            .pick(&[".*", ".+", "", ".*0.*", "/api/v1/.*", "[a-c].*", "2..|5.."])
            .to_owned(),
        4 => format!("{}|.*1", real(rng)),
        _ => real(rng),
    }
}

fn random_selector(rng: &mut XorShift, index: &SeriesIndex) -> Vec<Matcher> {
    const NAMES: &[&str] = &["__name__", "job", "instance", "path", "status", "zone"];
    const OPS: [MatchOp; 4] = [MatchOp::Eq, MatchOp::Ne, MatchOp::Re, MatchOp::Nre];
    (0..1 + rng.below(3))
        .map(|_| {
            let name = rng.pick(NAMES);
            let op = OPS[rng.below(OPS.len())];
            let value = random_value(rng, index, name);
            Matcher::new(op, name, value).expect("valid pattern")
        })
        .collect()
}

/// Every series whose labels satisfy every matcher, tested one by one.
fn brute_force(index: &SeriesIndex, matchers: &[Matcher]) -> RoaringBitmap {
    index
        .all_postings()
        .iter()
        .filter(|&r| {
            let labels = index.labels(r).expect("listed series has labels");
            matchers
                .iter()
                .all(|m| m.matches(labels.get(m.name()).unwrap_or("")))
        })
        .collect()
}

fn check_selectors(rng: &mut XorShift, index: &SeriesIndex) -> (usize, usize) {
    let (mut empty, mut nonempty) = (0, 0);
    for _ in 0..SELECTORS {
        let matchers = random_selector(rng, index);
        let got = index.select(&matchers);
        let want = brute_force(index, &matchers);
        let shown: Vec<String> = matchers
            .iter()
            .map(|m| format!("{}{:?}{:?}", m.name(), m.op(), m.value()))
            .collect();
        assert_eq!(got, want, "selector {shown:?}");
        if got.is_empty() {
            empty += 1;
        } else {
            nonempty += 1;
        }
    }
    (empty, nonempty)
}

#[test]
fn select_equals_brute_force_on_100k_series() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut index = SeriesIndex::new();
    let mut seen = HashSet::new();
    while index.len() < SERIES {
        let labels = random_series(&mut rng);
        let (series_ref, created) = index.get_or_create(&labels).expect("refs left");
        assert_eq!(created, seen.insert(labels), "created iff new");
        if created {
            // No deletes yet: references are handed out densely from 0.
            assert_eq!(series_ref as usize, index.len() - 1);
        }
    }
    assert_eq!(index.all_postings().len(), SERIES as u64);

    let (empty, nonempty) = check_selectors(&mut rng, &index);
    // The selectors must exercise both outcomes, or the test proves little.
    assert!(
        empty >= 3 && nonempty >= 15,
        "{empty} empty, {nonempty} non-empty"
    );

    // Delete every third series and check again.
    let doomed: Vec<SeriesRef> = index.all_postings().iter().step_by(3).collect();
    for series_ref in &doomed {
        assert!(index.delete(*series_ref).is_some());
    }
    assert_eq!(index.len(), SERIES - doomed.len());
    check_selectors(&mut rng, &index);
}
