//! A fixed, seeded forward pass whose numbers the native build and the wasm build must agree on:
//! `whitebox selftest` prints them natively, the page prints them at `?selftest`, and
//! `scripts/wasm-selftest.sh` compares the two (the wasm build is single-threaded and uses
//! SIMD128 kernels, so this checks that path end to end).

use serde_json::{json, Value};

use crate::analysis::{cls_rows, layer_stats, mean_map};
use crate::cpu::CpuEngine;
use crate::error::Result;
use crate::model::{init::init_params, CrateConfig, Model};
use crate::{Engine, ForwardOptions, ForwardOutput, Tensor, Trace};

/// The self-test's model: `crate-fmnist` with the seed-0 initialisation.
pub fn selftest_model() -> Result<Model> {
    let cfg = CrateConfig::preset("crate-fmnist")?;
    Model::new(cfg.clone(), init_params(&cfg, 0)?)
}

/// The self-test's input: three seeded 28×28 images.
pub fn selftest_input() -> Tensor {
    let (b, h, w) = (3, 28, 28);
    Tensor {
        shape: vec![b, 1, h, w],
        data: crate::rng::uniform(1, "selftest", b * h * w, 1.7),
    }
}

/// The self-test's model on the CPU engine, its input, and their forward with the trace and
/// the attention maps: where the tests of reports and of their wire format start.
#[cfg(test)]
pub(crate) fn traced_selftest() -> (CrateConfig, CpuEngine, Tensor, ForwardOutput) {
    let model = selftest_model().unwrap();
    let cfg = model.config.clone();
    let input = selftest_input();
    let mut engine = CpuEngine::new(model);
    let opts = ForwardOptions {
        trace: true,
        attention: true,
        ..ForwardOptions::default()
    };
    let out = engine.forward(&input, opts).unwrap();
    (cfg, engine, input, out)
}

/// What is compared: logits, per-layer R^c and sparsity, and the last layer's mean CLS map.
pub fn report(cfg: &CrateConfig, out: &ForwardOutput, engine: &str) -> Value {
    let b = out.logits.shape[0];
    let empty = Trace::default();
    let trace = out.trace.as_ref().unwrap_or(&empty);
    let stats = layer_stats(trace, cfg.heads);
    let nt = trace.layers.first().map_or(0, |l| l.z.shape[1]);
    let maps: Vec<Vec<f32>> = match trace.layers.last().and_then(|l| l.attn.as_ref()) {
        Some(a) => (0..b)
            .map(|i| mean_map(&cls_rows(&a.data[i * cfg.heads * nt * nt..], cfg.heads, nt)))
            .collect(),
        None => Vec::new(),
    };
    let col = |f: fn(&crate::analysis::LayerStats) -> f64| -> Vec<Vec<f64>> {
        stats.iter().map(|s| s.iter().map(f).collect()).collect()
    };
    json!({
        "preset": "crate-fmnist",
        "engine": engine,
        "logits": out.logits.data,
        "rc_in": col(|l| l.rc_in),
        "rc_out": col(|l| l.rc_out),
        "sparsity": col(|l| l.sparsity),
        "attention_mean": maps,
    })
}

pub const OPTS: ForwardOptions = ForwardOptions {
    trace: true,
    attention: true,
    stats: false,
    cls: false,
};

/// The self-test on the CPU engine.
pub fn selftest_report() -> Result<Value> {
    let model = selftest_model()?;
    let cfg = model.config.clone();
    let out = CpuEngine::new(model).forward(&selftest_input(), OPTS)?;
    let mut v = report(&cfg, &out, "cpu");
    // The wasm build's own matrix kernel on odd shapes and layouts, against an f64 product (the
    // forward above may not reach every edge of it).
    v["matmul_check"] = whitebox_gemm::check_shapes().into();
    Ok(v)
}
