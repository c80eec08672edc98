//! The GPU engine against the CPU engine: whole forwards, logits and every trace tensor.
//! Needs a wgpu adapter (lavapipe in CI); fails, never skips, when there is none.

mod common;

use common::*;
use whitebox::cpu::CpuEngine;
use whitebox::gpu::GpuEngine;
use whitebox::model::init::init_params;
use whitebox::{CrateConfig, Engine, ForwardOptions, Model, Tensor};

const TOL: f64 = 1e-3;

fn full() -> ForwardOptions {
    ForwardOptions {
        trace: true,
        attention: true,
    }
}

/// Runs both engines and checks logits and every trace tensor; returns the largest error.
fn compare(model: Model, x: &Tensor, opts: ForwardOptions) -> f64 {
    let mut cpu = CpuEngine::new(model.clone());
    let mut gpu = GpuEngine::new_blocking(model).expect("a GPU adapter (lavapipe in CI)");
    let want = cpu.forward(x, opts).unwrap();
    let got = gpu.forward(x, opts).unwrap();
    let mut worst = rel_err(&got.logits.data, &want.logits.data);
    assert_eq!(got.logits.shape, want.logits.shape);
    assert_close("logits", &got.logits.data, &want.logits.data, TOL);
    assert_eq!(got.trace.is_some(), want.trace.is_some());
    if let (Some(g), Some(w)) = (&got.trace, &want.trace) {
        assert_eq!(g.layers.len(), w.layers.len());
        for (l, (gl, wl)) in g.layers.iter().zip(&w.layers).enumerate() {
            let pairs = [
                ("z", &gl.z, &wl.z),
                ("zhalf", &gl.zhalf, &wl.zhalf),
                ("zout", &gl.zout, &wl.zout),
                ("proj_in", &gl.proj_in, &wl.proj_in),
                ("proj_half", &gl.proj_half, &wl.proj_half),
            ];
            for (name, a, b) in pairs {
                assert_eq!(a.shape, b.shape, "layer {l} {name}");
                worst = worst.max(rel_err(&a.data, &b.data));
                assert_close(&format!("layer {l} {name}"), &a.data, &b.data, TOL);
            }
            assert_eq!(gl.attn.is_some(), wl.attn.is_some());
            if let (Some(a), Some(b)) = (&gl.attn, &wl.attn) {
                assert_eq!(a.shape, b.shape);
                worst = worst.max(rel_err(&a.data, &b.data));
                assert_close(&format!("layer {l} attn"), &a.data, &b.data, TOL);
            }
        }
    }
    eprintln!("max relative error vs CPU: {worst:.3e}");
    worst
}

#[test]
fn gpu_fmnist_forward_matches_cpu_batch1_and_batch3() {
    let cfg = CrateConfig::preset("crate-fmnist").unwrap();
    let model = Model::new(cfg.clone(), init_params(&cfg, 7).unwrap()).unwrap();
    compare(model.clone(), &golden_input(1, &[1, 1, 28, 28]), full());
    compare(model, &golden_input(2, &[3, 1, 28, 28]), full());
}
