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
//! - `functions/`: the language's functions over samples.

mod engine;
mod error;
mod functions;
mod queryable;
mod value;

pub use engine::{Engine, EngineOptions};
pub use error::{ErrorKind, QueryError};
pub use queryable::Queryable;
pub use value::{InstantSample, RangeSeries, Value};
