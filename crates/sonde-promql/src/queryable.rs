//! What the engine reads from.

use sonde_tsdb::{Db, Matcher, SeriesSamples};

/// A source of series: every series matching all `matchers` with its
/// samples in `[mint, maxt]` (milliseconds, both inclusive), sorted by
/// labels. Staleness markers are returned as stored.
pub trait Queryable: Send + Sync {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, String>;
}

impl Queryable for Db {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, String> {
        Db::select(self, matchers, mint, maxt).map_err(|e| e.to_string())
    }
}
