#![no_main]
//! Fuzz target `segment`: see `weir::fuzzing::segment`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| weir::fuzzing::segment(data));
