//! What sonde's benchmarks share.

pub mod agent;
pub mod cpu;
pub mod time;
