#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| porchlight::fuzzing::webhook_signature(data));
