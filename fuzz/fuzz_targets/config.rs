//! Config metadata (JSON) and config inference: a config that validates has computable sizes,
//! and inference from a model's tensors under that config never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use whitebox::CrateConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(cfg) = serde_json::from_slice::<CrateConfig>(data) else {
        return;
    };
    if cfg.validate().is_err() {
        return;
    }
    let n = cfg
        .param_count()
        .expect("a valid config has a parameter count");
    assert!(n <= whitebox::budget::limits::PARAMS);
    let _ = (cfg.grid(), cfg.tokens(), cfg.head_dim(), cfg.patch_len());
    let _ = cfg.forward_flops(cfg.image[0], cfg.image[1]);
    // Small valid configs: build the model and infer the config back from its shapes, with
    // and without the metadata.
    if n <= 1 << 16 {
        let p = whitebox::model::init::init_params(&cfg, 0).expect("init of a valid config");
        let (back, _) = whitebox::model::io::infer_config(&p.tensors, Some(cfg.clone()), None)
            .expect("a model's own config infers back");
        assert_eq!(back, cfg);
        let _ = whitebox::model::io::infer_config(&p.tensors, None, Some(cfg.heads));
    }
});
