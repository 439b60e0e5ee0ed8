//! Reads across blocks and head: each source answers for itself, then the
//! answers are merged by labels. Samples at a timestamp held by more than
//! one source (a block and a head replayed from an older WAL, overlapping
//! blocks) are kept once, the oldest source's winning.
//!
//! Label names and values without matchers come straight from the
//! indexes of the head and of the blocks overlapping the range, without
//! reading samples (as Prometheus does); with matchers they come from the
//! selected series.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::block::Block;
use crate::db::{Db, DbError};
use crate::head::SeriesSamples;
use crate::labels::Labels;
use crate::matcher::Matcher;

impl Db {
    /// The blocks overlapping `[mint, maxt]`, oldest first.
    fn blocks_in(&self, mint: i64, maxt: i64) -> Vec<Arc<Block>> {
        self.disk.as_ref().map_or_else(Vec::new, |disk| {
            let blocks = disk.blocks.read().expect("blocks lock");
            blocks
                .iter()
                .filter(|b| b.overlaps(mint, maxt))
                .cloned()
                .collect()
        })
    }

    /// Series matching every matcher, with their samples in `[mint, maxt]`,
    /// sorted by labels.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, DbError> {
        let blocks = self.blocks_in(mint, maxt);
        let head = self
            .head
            .read()
            .expect("head lock")
            .select(matchers, mint, maxt)?;
        if blocks.is_empty() {
            return Ok(head);
        }
        let mut merged: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
        for block in &blocks {
            for (labels, samples) in block.select(matchers, mint, maxt)? {
                merged.entry(labels).or_default().extend(samples);
            }
        }
        for (labels, samples) in head {
            merged.entry(labels).or_default().extend(samples);
        }
        Ok(merged
            .into_iter()
            .map(|(labels, mut samples)| {
                if samples.windows(2).any(|w| w[0].0 >= w[1].0) {
                    samples.sort_by_key(|s| s.0);
                    samples.dedup_by_key(|s| s.0);
                }
                (labels, samples)
            })
            .collect())
    }

    /// Label sets of the series matching every matcher with a sample in
    /// `[mint, maxt]`, sorted.
    pub fn series(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, DbError> {
        Ok(self
            .select(matchers, mint, maxt)?
            .into_iter()
            .map(|(labels, _)| labels)
            .collect())
    }

    /// Label names on the series [`Db::series`] would return, sorted and
    /// unique; with no matchers, the names in the indexes of the head and
    /// of the blocks overlapping the range.
    pub fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, DbError> {
        let mut names: Vec<String> = if matchers.is_empty() {
            let mut names: Vec<String> = self
                .head
                .read()
                .expect("head lock")
                .label_names()
                .map(str::to_owned)
                .collect();
            for block in self.blocks_in(mint, maxt) {
                names.extend(block.index().label_names().map(str::to_owned));
            }
            names
        } else {
            self.series(matchers, mint, maxt)?
                .iter()
                .flat_map(|labels| labels.iter().map(|(name, _)| name.to_owned()))
                .collect()
        };
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }

    /// Values of label `name` on the series [`Db::series`] would return,
    /// sorted and unique; with no matchers, from the indexes as
    /// [`Db::label_names`].
    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, DbError> {
        let mut values: Vec<String> = if matchers.is_empty() {
            let mut values: Vec<String> = self
                .head
                .read()
                .expect("head lock")
                .label_values(name)
                .map(str::to_owned)
                .collect();
            for block in self.blocks_in(mint, maxt) {
                values.extend(block.index().label_values(name).map(str::to_owned));
            }
            values
        } else {
            self.series(matchers, mint, maxt)?
                .iter()
                .filter_map(|labels| labels.get(name).map(str::to_owned))
                .collect()
        };
        values.sort_unstable();
        values.dedup();
        Ok(values)
    }
}
