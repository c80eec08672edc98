//! safetensors files, through to the model (config from metadata, inference, validation).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = whitebox::model::io::read_safetensors(data, "fuzz.safetensors") {
        let _ = f.config();
    }
    let _ = whitebox::model::io::load_model(data, "fuzz.safetensors", Some(2));
});
