//! The `sonde` binary end to end: bad input gives one clear line and a
//! non-zero exit; a running agent serves, follows and survives kill -9
//! without losing what it acknowledged.

mod agent;
mod alerts;
mod analyze;
mod bad_input;
mod capture;
mod doctor;
mod harness;
mod profile;
mod query;
mod storage;
