#![no_main]
//! Fuzz target `record_batch`: see `weir::fuzzing::record_batch`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| weir::fuzzing::record_batch(data));
