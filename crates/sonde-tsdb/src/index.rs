//! The in-memory head's series index, as Prometheus's `MemPostings` with
//! `PostingsForMatchers` on top.
//!
//! Each series gets a [`SeriesRef`] when first seen. For every label
//! `(name, value)` the index keeps the set of series carrying it (its
//! *postings*) as a [`RoaringBitmap`], which is why references are `u32`:
//! roaring bitmaps hold `u32`s. References are handed out in increasing
//! order and never reused, so a reference held elsewhere (by a chunk, a
//! query) cannot come to name another series after a delete.
//!
//! [`SeriesIndex::select`] answers a selector the way Prometheus does: it
//! intersects the postings of the matchers that reject the empty value,
//! subtracts the postings of the label values rejected by the matchers that
//! accept it (a series lacking a label counts as having the empty value),
//! and starts from all series when every matcher accepts the empty value.

use std::collections::{BTreeMap, HashMap};

use roaring::{MultiOps, RoaringBitmap};
use thiserror::Error;

use crate::labels::Labels;
use crate::matcher::{MatchOp, Matcher};

/// The identifier of a series in a [`SeriesIndex`]; the members of its
/// postings bitmaps.
pub type SeriesRef = u32;

/// A series that could not be added.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum IndexError {
    /// All `u32` references have been handed out (they are never reused).
    #[error("series references exhausted: {} series created", u64::from(u32::MAX) + 1)]
    RefsExhausted,
}

/// Series by reference, and postings by label.
#[derive(Debug)]
pub struct SeriesIndex {
    series: HashMap<SeriesRef, Labels>,
    /// Series by [`Labels::stable_hash`]; more than one on a hash collision.
    by_hash: HashMap<u64, Vec<SeriesRef>>,
    /// Postings by label name, then value; no empty bitmaps, no empty maps.
    postings: BTreeMap<String, BTreeMap<String, RoaringBitmap>>,
    all: RoaringBitmap,
    /// The next reference to hand out; `None` once `u32::MAX` is used.
    next_ref: Option<SeriesRef>,
}

impl Default for SeriesIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl SeriesIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self {
            series: HashMap::new(),
            by_hash: HashMap::new(),
            postings: BTreeMap::new(),
            all: RoaringBitmap::new(),
            next_ref: Some(0),
        }
    }

    /// The reference of the series `labels`, creating it if new; `true`
    /// when it was created by this call.
    pub fn get_or_create(&mut self, labels: &Labels) -> Result<(SeriesRef, bool), IndexError> {
        let hash = labels.stable_hash();
        if let Some(series_ref) = self.find(hash, labels) {
            return Ok((series_ref, false));
        }
        let series_ref = self.next_ref.ok_or(IndexError::RefsExhausted)?;
        self.insert(hash, labels, series_ref);
        Ok((series_ref, true))
    }

    /// Recreates the series `labels` under the reference `series_ref` it
    /// had before (write-ahead log replay), unless `labels` already exist
    /// or `series_ref` is taken by another series: then as
    /// [`SeriesIndex::get_or_create`]. Returns the series' reference.
    pub fn create_with_ref(
        &mut self,
        labels: &Labels,
        series_ref: SeriesRef,
    ) -> Result<SeriesRef, IndexError> {
        let hash = labels.stable_hash();
        if let Some(existing) = self.find(hash, labels) {
            return Ok(existing);
        }
        if self.series.contains_key(&series_ref) {
            return Ok(self.get_or_create(labels)?.0);
        }
        self.insert(hash, labels, series_ref);
        Ok(series_ref)
    }

    /// Adds a new series under `series_ref`; later references are handed
    /// out after it.
    fn insert(&mut self, hash: u64, labels: &Labels, series_ref: SeriesRef) {
        let after = series_ref.checked_add(1);
        self.next_ref = match (self.next_ref, after) {
            (Some(next), Some(after)) => Some(next.max(after)),
            _ => None,
        };
        for (name, value) in labels.iter() {
            self.postings
                .entry(name.to_owned())
                .or_default()
                .entry(value.to_owned())
                .or_default()
                .insert(series_ref);
        }
        self.all.insert(series_ref);
        self.by_hash.entry(hash).or_default().push(series_ref);
        self.series.insert(series_ref, labels.clone());
    }

    /// The reference of the series `labels`, if it exists.
    pub fn get(&self, labels: &Labels) -> Option<SeriesRef> {
        self.find(labels.stable_hash(), labels)
    }

    fn find(&self, hash: u64, labels: &Labels) -> Option<SeriesRef> {
        self.by_hash
            .get(&hash)?
            .iter()
            .copied()
            .find(|r| self.series.get(r) == Some(labels))
    }

    /// The labels of a series, `None` if unknown or deleted.
    pub fn labels(&self, series_ref: SeriesRef) -> Option<&Labels> {
        self.series.get(&series_ref)
    }

    /// The number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether the index holds no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The series carrying label `name="value"`, `None` if there are none.
    pub fn postings(&self, name: &str, value: &str) -> Option<&RoaringBitmap> {
        self.postings.get(name)?.get(value)
    }

    /// Every series.
    pub fn all_postings(&self) -> &RoaringBitmap {
        &self.all
    }

    /// The names of all labels present on some series, sorted.
    pub fn label_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.postings.keys().map(String::as_str)
    }

    /// The values label `name` takes on some series, sorted; none for an
    /// unknown name.
    pub fn label_values(&self, name: &str) -> impl Iterator<Item = &str> + '_ {
        self.postings
            .get(name)
            .into_iter()
            .flat_map(|values| values.keys().map(String::as_str))
    }

    /// The series matching every matcher (all series for no matchers).
    pub fn select(&self, matchers: &[Matcher]) -> RoaringBitmap {
        let mut intersection: Option<RoaringBitmap> = None;
        let mut subtract = RoaringBitmap::new();
        for matcher in matchers {
            if matcher.op() == MatchOp::Re && matcher.value() == ".*" {
                // Matches every value and the absent label alike.
                continue;
            }
            if matcher.matches("") {
                // Holds for series lacking the label: remove the series
                // whose value for it fails the matcher.
                subtract |= self.postings_where(matcher, false);
            } else {
                let postings = self.postings_where(matcher, true);
                let acc = match intersection {
                    Some(acc) => acc & postings,
                    None => postings,
                };
                if acc.is_empty() {
                    return acc;
                }
                intersection = Some(acc);
            }
        }
        let mut result = intersection.unwrap_or_else(|| self.all.clone());
        result -= subtract;
        result
    }

    /// The union of the postings of the values `v` of the matcher's label
    /// for which `matcher.matches(v) == want`.
    fn postings_where(&self, matcher: &Matcher, want: bool) -> RoaringBitmap {
        let Some(values) = self.postings.get(matcher.name()) else {
            return RoaringBitmap::new();
        };
        let negative = matcher.op().is_negative();
        if let Some(literals) = matcher.literals() {
            // `matches(v)` is `v ∈ literals`, negated for `!=`/`!~`.
            if want != negative {
                return literals
                    .iter()
                    .filter_map(|v| values.get(v.as_str()))
                    .union();
            }
        }
        let is_regex = matches!(matcher.op(), MatchOp::Re | MatchOp::Nre);
        if is_regex && matcher.value() == ".+" && want != negative {
            // `=~".+"` (or the rejected values of `!~".+"`): every value.
            return values.values().union();
        }
        values
            .iter()
            .filter(|(value, _)| matcher.matches(value) == want)
            .map(|(_, postings)| postings)
            .union()
    }

    /// Removes a series from the index and every posting; returns its
    /// labels, `None` if it was not there.
    pub fn delete(&mut self, series_ref: SeriesRef) -> Option<Labels> {
        let labels = self.series.remove(&series_ref)?;
        for (name, value) in labels.iter() {
            let Some(values) = self.postings.get_mut(name) else {
                continue;
            };
            if let Some(postings) = values.get_mut(value) {
                postings.remove(series_ref);
                if postings.is_empty() {
                    values.remove(value);
                }
            }
            if values.is_empty() {
                self.postings.remove(name);
            }
        }
        self.all.remove(series_ref);
        let hash = labels.stable_hash();
        if let Some(refs) = self.by_hash.get_mut(&hash) {
            refs.retain(|&r| r != series_ref);
            if refs.is_empty() {
                self.by_hash.remove(&hash);
            }
        }
        Some(labels)
    }
}
