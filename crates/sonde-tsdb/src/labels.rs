//! Label sets: the identity of a series, as Prometheus's `labels.Labels`.
//!
//! A [`Labels`] is a set of `(name, value)` pairs sorted by name, each name
//! at most once. The metric name is the label [`METRIC_NAME`] (`__name__`).
//! Construction validates as Prometheus's legacy (pre-UTF-8) scheme does:
//! label names match `[a-zA-Z_][a-zA-Z0-9_]*`, the metric name matches
//! `[a-zA-Z_:][a-zA-Z0-9_:]*`, values are any UTF-8. An empty value means
//! "label absent", so such pairs are dropped rather than stored: `{a=""}`
//! and `{}` are the same series. [`Labels::new_utf8`] builds a set as
//! Prometheus 3 allows, any non-empty UTF-8 name; the query engine derives
//! sets from existing ones with [`Labels::filter`] and [`Labels::with`].
//!
//! [`Labels::stable_hash`] is a hash that does not change between runs,
//! platforms or Rust versions (FNV-1a over `name 0xff value 0xff ...`; the
//! byte `0xff` never occurs in UTF-8, so no two sets share an input).

use thiserror::Error;

/// The label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// A label set that could not be built.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LabelError {
    /// A label name outside `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("invalid label name {0:?}: must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidName(String),
    /// A metric name (the value of `__name__`) outside `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("invalid metric name {0:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidMetricName(String),
    /// The same label name given twice with non-empty values.
    #[error("duplicate label name {0:?}")]
    Duplicate(String),
}

/// A validated label set, sorted by name, names unique, values non-empty.
///
/// Equality, ordering and `Hash` are those of the sorted pairs, so two sets
/// are equal exactly when they name the same series.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels {
    pairs: Vec<(String, String)>,
}

impl Labels {
    /// Builds a label set from `(name, value)` pairs in any order.
    ///
    /// Pairs with an empty value are dropped (an empty value means the label
    /// is absent); the rest are validated and sorted by name.
    pub fn new<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Result<Self, LabelError>
    where
        N: Into<String>,
        V: Into<String>,
    {
        let mut kept = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.into(), value.into());
            if !is_valid_label_name(&name) {
                return Err(LabelError::InvalidName(name));
            }
            if value.is_empty() {
                continue;
            }
            if name == METRIC_NAME && !is_valid_metric_name(&value) {
                return Err(LabelError::InvalidMetricName(value));
            }
            kept.push((name, value));
        }
        Self::sorted(kept)
    }

    /// The value of label `name`, `None` when the series lacks it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.pairs[i].1.as_str())
    }

    /// The metric name (the value of `__name__`), if any.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The number of labels.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether the set has no labels at all.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Sorts checked pairs by name; the same name twice is an error.
    fn sorted(mut pairs: Vec<(String, String)>) -> Result<Self, LabelError> {
        pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(pair) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(LabelError::Duplicate(pair[0].0.clone()));
        }
        Ok(Self { pairs })
    }

    /// Builds a label set as Prometheus 3 does, where any non-empty UTF-8
    /// string is a valid label name (and metric name).
    ///
    /// Pairs with an empty value are dropped; an empty name or the same name
    /// twice is an error.
    pub fn new_utf8<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Result<Self, LabelError>
    where
        N: Into<String>,
        V: Into<String>,
    {
        let mut kept = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.into(), value.into());
            if name.is_empty() {
                return Err(LabelError::InvalidName(name));
            }
            if !value.is_empty() {
                kept.push((name, value));
            }
        }
        Self::sorted(kept)
    }

    /// The labels whose names `keep` accepts.
    pub fn filter(&self, keep: impl Fn(&str) -> bool) -> Self {
        Self {
            pairs: self
                .pairs
                .iter()
                .filter(|(n, _)| keep(n))
                .cloned()
                .collect(),
        }
    }

    /// This set with label `name` set to `value`; an empty `value` removes
    /// the label, an empty `name` leaves the set unchanged.
    pub fn with(&self, name: &str, value: &str) -> Self {
        let mut pairs = self.pairs.clone();
        if name.is_empty() {
            return Self { pairs };
        }
        match pairs.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                pairs.remove(i);
            }
            Ok(i) => pairs[i].1 = value.to_string(),
            Err(_) if value.is_empty() => {}
            Err(i) => pairs.insert(i, (name.to_string(), value.to_string())),
        }
        Self { pairs }
    }

    /// A hash of the set that is the same in every run and on every platform.
    pub fn stable_hash(&self) -> u64 {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut hash = OFFSET;
        for (name, value) in &self.pairs {
            for part in [name.as_bytes(), value.as_bytes()] {
                for &byte in part.iter().chain(&[0xff]) {
                    hash ^= u64::from(byte);
                    hash = hash.wrapping_mul(PRIME);
                }
            }
        }
        hash
    }
}

/// Whether `name` is a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    is_valid_identifier(name, |_| false)
}

/// Whether `name` is a valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(name: &str) -> bool {
    is_valid_identifier(name, |b| b == b':')
}

/// `[a-zA-Z_x][a-zA-Z0-9_x]*` where `x` is any byte `extra` accepts.
fn is_valid_identifier(name: &str, extra: impl Fn(u8) -> bool) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    let head = |b: u8| b.is_ascii_alphabetic() || b == b'_' || extra(b);
    head(first) && bytes.all(|b| head(b) || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_names_filter_and_with() {
        let l = Labels::new_utf8([("some.name", "x"), ("a", "1"), ("b", "")]).unwrap();
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            vec![("a", "1"), ("some.name", "x")]
        );
        assert!(Labels::new_utf8([("", "x")]).is_err());
        assert!(Labels::new_utf8([("a", "1"), ("a", "2")]).is_err());
        assert_eq!(
            l.filter(|n| n == "a").iter().collect::<Vec<_>>(),
            vec![("a", "1")]
        );
        let l2 = l.with("b", "2").with("a", "");
        assert_eq!(
            l2.iter().collect::<Vec<_>>(),
            vec![("b", "2"), ("some.name", "x")]
        );
        assert_eq!(l.with("", "v"), l);
    }
}
