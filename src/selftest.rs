//! A fixed, seeded forward pass whose numbers the native build and the wasm build must agree on:
//! `whitebox selftest` prints them natively, the page prints them at `?selftest`, and
//! `scripts/wasm-selftest.sh` compares the two (the wasm build is single-threaded and uses
//! SIMD128 kernels, so this checks that path end to end).

use serde_json::{json, Value};

use crate::analysis::{cls_rows, layer_stats, mean_map};
use crate::cpu::CpuEngine;
use crate::error::Result;
use crate::model::{init::init_params, CrateConfig, Model};
use crate::{Engine, ForwardOptions, Tensor};

pub fn selftest_report() -> Result<Value> {
    let cfg = CrateConfig::preset("crate-fmnist")?;
    let model = Model::new(cfg.clone(), init_params(&cfg, 0)?)?;
    let (b, [h, w]) = (3, cfg.image);
    let x = Tensor {
        shape: vec![b, 1, h, w],
        data: crate::rng::uniform(1, "selftest", b * h * w, 1.7),
    };
    let out = CpuEngine::new(model).forward(
        &x,
        ForwardOptions {
            trace: true,
            attention: true,
        },
    )?;
    let trace = out.trace.unwrap_or_default();
    let stats = layer_stats(&trace, cfg.heads);
    let nt = cfg.tokens();
    let maps: Vec<Vec<f32>> = match trace.layers.last().and_then(|l| l.attn.as_ref()) {
        Some(a) => (0..b)
            .map(|i| mean_map(&cls_rows(&a.data[i * cfg.heads * nt * nt..], cfg.heads, nt)))
            .collect(),
        None => Vec::new(),
    };
    Ok(json!({
        "preset": "crate-fmnist",
        "logits": out.logits.data,
        "rc_in": stats.iter().map(|s| s.iter().map(|l| l.rc_in).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "rc_out": stats.iter().map(|s| s.iter().map(|l| l.rc_out).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "sparsity": stats.iter().map(|s| s.iter().map(|l| l.sparsity).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "attention_mean": maps,
    }))
}
