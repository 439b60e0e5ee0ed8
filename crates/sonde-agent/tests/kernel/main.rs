//! Real-kernel tests of the process collector: each loads the real programs
//! through a full agent (kernel → ring buffer → process table → store) and
//! asserts the exact events. Root is required; without it each test prints
//! why it skipped.

mod harness;
mod netns;
mod servers;

mod cgroups;
mod detect;
mod enforce;
mod lifecycle;
mod listen;
mod metrics;
mod network;
mod profile;
mod requests;
mod security;
mod startup;
