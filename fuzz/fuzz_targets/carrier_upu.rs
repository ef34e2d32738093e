#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| porchlight::fuzzing::carrier_upu(data));
