//! Image decoding and every preprocessing mode, on a model of each input convention.
#![no_main]
use libfuzzer_sys::fuzz_target;
use whitebox::data::image::{decode_image, preprocess, DecodeLimits, Resize};
use whitebox::CrateConfig;

fuzz_target!(|data: &[u8]| {
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
        let cfg = CrateConfig::preset(preset).unwrap();
        for resize in Resize::ALL {
            if let Ok(t) = preprocess(&img, &cfg, cfg.image, resize) {
                assert_eq!(t.shape[0], cfg.channels);
                assert!(t.data.iter().all(|v| v.is_finite()));
            }
        }
    }
});
