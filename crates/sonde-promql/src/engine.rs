//! Instant and range query evaluation.

use std::time::Duration;

use crate::{QueryError, Queryable, Value};

/// Limits and defaults, as Prometheus's flags of the same names.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// `--query.lookback-delta`: how far back an instant selector looks.
    pub lookback_delta_ms: i64,
    /// `--query.max-samples`: samples a query may hold in memory at once.
    pub max_samples: usize,
    /// `--query.timeout`.
    pub timeout: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback_delta_ms: 5 * 60 * 1000,
            max_samples: 10_000_000,
            timeout: Duration::from_secs(120),
        }
    }
}

/// The query engine; shareable, holds no per-query state.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    options: EngineOptions,
}

impl Engine {
    pub fn new(options: EngineOptions) -> Self {
        Self { options }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Evaluates `query` at `t` (milliseconds).
    pub fn instant(
        &self,
        _store: &dyn Queryable,
        _query: &str,
        _t: i64,
    ) -> Result<Value, QueryError> {
        Err(QueryError::execution("the PromQL engine is being written"))
    }

    /// Evaluates `query` at every `step` from `start` to `end` (milliseconds,
    /// inclusive); always a [`Value::Matrix`].
    pub fn range(
        &self,
        _store: &dyn Queryable,
        _query: &str,
        _start: i64,
        _end: i64,
        _step: i64,
    ) -> Result<Value, QueryError> {
        Err(QueryError::execution("the PromQL engine is being written"))
    }
}
