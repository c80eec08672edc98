//! Image decoding and preprocessing: the properties are in `whitebox::fuzzing::image`, shared with the CI smoke test.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| whitebox::fuzzing::image(data));
