//! What sonde's benchmarks share.

pub mod agent;
pub mod bpftool;
pub mod cpu;
pub mod json;
pub mod time;
