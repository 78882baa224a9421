#![no_main]
//! Fuzz target `state_files`: see `weir::fuzzing::state_files`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| weir::fuzzing::state_files(data));
