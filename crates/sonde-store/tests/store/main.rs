//! Integration tests of the redb event store, in one binary so they build
//! once.

mod common;
mod crash;
mod failures;
mod query;
mod raw;
mod reopen;
mod retention;
mod round_trip;
mod size;
mod stats;
