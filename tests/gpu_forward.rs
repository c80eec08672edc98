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
        ..Default::default()
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

#[test]
fn gpu_crate_t_forward_matches_cpu() {
    let cfg = CrateConfig::preset("crate-t").unwrap();
    let model = Model::new(cfg.clone(), init_params(&cfg, 3).unwrap()).unwrap();
    compare(model, &golden_input(5, &[2, 3, 224, 224]), full());
}

/// d = 99 with 3 heads and N = 50 (a 7×7 grid): nothing fits the 32×32 tile.
#[test]
fn gpu_awkward_shapes_forward_matches_cpu() {
    let mut cfg = CrateConfig::preset("crate-c32").unwrap();
    cfg.dim = 99;
    cfg.heads = 3;
    cfg.depth = 3;
    cfg.image = [28, 28];
    cfg.classes = 7;
    cfg.class_names = None;
    let model = Model::new(cfg.clone(), init_params(&cfg, 11).unwrap()).unwrap();
    for b in [1, 4] {
        compare(
            model.clone(),
            &golden_input(b as u64, &[b, 3, 28, 28]),
            full(),
        );
    }
    // Trace without attention, no trace at all, and another input size (interpolated pos).
    let trace_only = ForwardOptions {
        trace: true,
        attention: false,
        ..Default::default()
    };
    compare(model.clone(), &golden_input(6, &[2, 3, 28, 28]), trace_only);
    compare(
        model.clone(),
        &golden_input(7, &[2, 3, 28, 28]),
        ForwardOptions::default(),
    );
    compare(model, &golden_input(8, &[2, 3, 36, 20]), full());
}

#[test]
fn gpu_segmentation_demo_head_matches_cpu() {
    let mut cfg = CrateConfig::preset("crate-fmnist").unwrap();
    cfg.pre_head_dim = Some(48);
    cfg.classes = 21;
    cfg.class_names = None;
    cfg.depth = 2;
    let model = Model::new(cfg.clone(), init_params(&cfg, 4).unwrap()).unwrap();
    compare(model, &golden_input(9, &[2, 1, 28, 28]), full());
}

/// One submit per forward, whatever is traced, and a repeated forward creates no new buffers
/// or pipelines.
#[test]
fn gpu_one_submit_per_forward_and_buffers_reused() {
    let cfg = CrateConfig::preset("crate-fmnist").unwrap();
    let model = Model::new(cfg.clone(), init_params(&cfg, 7).unwrap()).unwrap();
    let mut gpu = GpuEngine::new_blocking(model).expect("a GPU adapter (lavapipe in CI)");
    let x = golden_input(1, &[2, 1, 28, 28]);
    for opts in [ForwardOptions::default(), full()] {
        let before = gpu.context().submit_count();
        let first = gpu.forward(&x, opts).unwrap();
        assert_eq!(gpu.context().submit_count(), before + 1, "{opts:?}");
        let created = gpu.buffers_created();
        let second = gpu.forward(&x, opts).unwrap();
        assert_eq!(gpu.context().submit_count(), before + 2, "{opts:?}");
        assert_eq!(gpu.buffers_created(), created, "second forward allocated");
        assert_eq!(first, second, "a repeated forward gives the same result");
    }
}

#[test]
fn gpu_lost_device_is_reported_and_engine_can_be_recreated() {
    let cfg = CrateConfig::preset("crate-fmnist").unwrap();
    let model = Model::new(cfg.clone(), init_params(&cfg, 7).unwrap()).unwrap();
    let x = golden_input(1, &[1, 1, 28, 28]);
    let mut gpu = GpuEngine::new_blocking(model.clone()).expect("a GPU adapter");
    gpu.forward(&x, ForwardOptions::default()).unwrap();
    gpu.context().device.destroy();
    let _ = gpu
        .context()
        .device
        .poll(wgpu::PollType::wait_indefinitely());
    assert!(gpu.context().lost().is_some(), "lost callback recorded");
    let err = gpu.forward(&x, ForwardOptions::default()).unwrap_err();
    assert!(err.to_string().contains("lost"), "{err}");
    let mut again = GpuEngine::new_blocking(model).expect("a new device");
    again.forward(&x, ForwardOptions::default()).unwrap();
}

#[test]
fn gpu_rejects_bad_input_like_cpu() {
    let cfg = CrateConfig::preset("crate-fmnist").unwrap();
    let model = Model::new(cfg.clone(), init_params(&cfg, 7).unwrap()).unwrap();
    let mut gpu = GpuEngine::new_blocking(model).expect("a GPU adapter");
    let bad = golden_input(1, &[1, 1, 30, 28]);
    assert!(gpu.forward(&bad, ForwardOptions::default()).is_err());
}
