#![no_main]
//! Fuzz target `request`: see `weir::fuzzing::request`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| weir::fuzzing::request(data));
