//! The restricted unpickler on arbitrary bytes: an error or a value, never a panic, and memory
//! within its limit.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = whitebox::model::io::pickle::unpickle(data);
});
