//! Integration tests of sonde-rules: load errors, operators, macros and lists,
//! ancestry, output, sequences, the evt.type pre-filter, Falco-style rules,
//! robustness against random input.

mod docs;
mod errors;
mod event;
mod falco;
mod fuzz;
mod operators;
mod sequence;
