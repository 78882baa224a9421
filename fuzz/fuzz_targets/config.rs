#![no_main]
//! Fuzz target `config`: see `weir::fuzzing::config`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| weir::fuzzing::config(data));
