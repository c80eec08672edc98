//! `torch.save` zip checkpoints, through to the model (config inference and validation).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = whitebox::model::io::read_pth(data, "fuzz.pth");
    if whitebox::model::io::is_zip(data) {
        let _ = whitebox::model::io::load_model(data, "fuzz.pth", None);
    }
});
