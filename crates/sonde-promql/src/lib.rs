//! sonde's PromQL engine.
//!
//! Queries are parsed with the `promql-parser` crate and evaluated here over
//! any [`Queryable`] (sonde's [`sonde_tsdb::Db`], or a test's store), with
//! Prometheus's semantics: a 5-minute lookback, staleness markers, offset and
//! `@`, subqueries, every aggregation, vector matching and the functions of
//! the language.
//!
//! - `engine.rs`: [`Engine`], [`EngineOptions`]: instant and range queries.
//! - `value.rs`: [`Value`]s a query returns.
//! - `error.rs`: [`QueryError`] with Prometheus's error types.
//! - `queryable.rs`: [`Queryable`], what the engine reads from.
//! - `parse.rs`: parsing with `promql-parser`, and placing parse errors.
//! - `rewrite/`: rewriting Prometheus 3 syntax that `promql-parser` lacks
//!   (duration expressions, `anchored`/`smoothed`, `info()` selectors
//!   matching the empty string) into text it parses.
//! - `eval/`: the evaluator: selectors, subqueries, operators,
//!   aggregations and function calls, one evaluation time at a time.
//! - `functions/`: the language's functions over samples.
//! - `math.rs`: numeric helpers (Kahan summation, quantiles).

mod engine;
mod error;
mod eval;
mod functions;
mod math;
mod parse;
mod queryable;
mod rewrite;
mod value;

pub use engine::{Engine, EngineOptions};
pub use error::{ErrorKind, QueryError};
pub use queryable::Queryable;
pub use value::{format_value, InstantSample, RangeSeries, Value};
