#![no_main]
//! cargo-fuzz target; the body lives in `sonde_proto::fuzzing` so the stable smoke test runs it too.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sonde_proto::fuzzing::http1_conversation(data));
