#![no_main]
//! Fuzz target `frame`: see `weir::fuzzing::frame`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| weir::fuzzing::frame(data));
