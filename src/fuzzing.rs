//! The properties fuzzing checks on every reader of untrusted bytes, written once.
//!
//! Each function takes arbitrary bytes and either returns (the input was refused or read) or
//! panics (a property failed: a reader panicked, or accepted something inconsistent). Two drivers
//! call them: the coverage-guided `cargo fuzz` targets in `fuzz/` (`scripts/fuzz.sh`, long runs)
//! and the bounded mutation smoke test `tests/fuzz_smoke.rs` that CI runs, which also caps the
//! heap at 1 GiB as the long runs do.

use crate::data::image::{decode_image, preprocess, DecodeLimits, Resize};
use crate::model::io;
use crate::CrateConfig;

/// A property check on arbitrary bytes (panics when the property fails).
pub type Target = fn(&[u8]);

/// The targets by name, as `scripts/fuzz.sh` and the smoke test know them.
pub const TARGETS: &[(&str, Target)] = &[
    ("pickle", pickle),
    ("pth", pth),
    ("safetensors", safetensors),
    ("config", config),
    ("image", image),
];

/// The restricted unpickler: an error or a value, never a panic, memory within its budget.
pub fn pickle(data: &[u8]) {
    let _ = io::pickle::unpickle(data);
}

/// `torch.save` zip checkpoints, through to the model (config inference and validation).
pub fn pth(data: &[u8]) {
    let _ = io::read_pth(data, "fuzz.pth");
    if io::is_zip(data) {
        let _ = io::load_model(data, "fuzz.pth", None);
    }
}

/// safetensors files, through to the model (config from metadata, inference, validation).
pub fn safetensors(data: &[u8]) {
    if let Ok(f) = io::read_safetensors(data, "fuzz.safetensors") {
        let _ = f.config();
    }
    let _ = io::load_model(data, "fuzz.safetensors", Some(2));
}

/// Config metadata (JSON) and config inference: a config that validates has computable sizes,
/// and a model built from a small valid config infers that config back from its shapes.
pub fn config(data: &[u8]) {
    let Ok(cfg) = serde_json::from_slice::<CrateConfig>(data) else {
        return;
    };
    if cfg.validate().is_err() {
        return;
    }
    let n = cfg
        .param_count()
        .expect("a valid config has a parameter count");
    assert!(n <= crate::budget::limits::PARAMS);
    let _ = (cfg.grid(), cfg.tokens(), cfg.head_dim(), cfg.patch_len());
    let _ = cfg.forward_flops(cfg.image[0], cfg.image[1]);
    if n <= 1 << 16 {
        let p = crate::model::init::init_params(&cfg, 0).expect("init of a valid config");
        let (back, _) = io::infer_config(&p.tensors, Some(cfg.clone()), None)
            .expect("a model's own config infers back");
        assert_eq!(back, cfg);
        let _ = io::infer_config(&p.tensors, None, Some(cfg.heads));
    }
}

/// Image decoding and every preprocessing mode, for a grey 28×28 and an RGB 32×32 model: a
/// decoded image holds exactly its pixels, and every accepted preprocessing gives finite values
/// with the model's channel count.
pub fn image(data: &[u8]) {
    // Tighter than the defaults so that a run explores more images per second; the limits
    // themselves are what is under test.
    let limits = DecodeLimits {
        max_width: 4096,
        max_height: 4096,
        max_alloc: 64 << 20,
        max_file_bytes: 1 << 20,
    };
    let Ok(img) = decode_image(data, "fuzz.img", &limits) else {
        return;
    };
    assert_eq!(img.rgb.len(), img.width as usize * img.height as usize * 3);
    for preset in ["crate-fmnist", "crate-c32"] {
        let cfg = CrateConfig::preset(preset).expect("a built-in preset");
        for resize in Resize::ALL {
            if let Ok(t) = preprocess(&img, &cfg, cfg.image, resize) {
                assert_eq!(t.shape[0], cfg.channels);
                assert!(t.data.iter().all(|v| v.is_finite()));
            }
        }
    }
}
