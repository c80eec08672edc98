//! The GPU engine against the CPU engine: whole forwards, logits and every trace tensor.
//! Needs a wgpu adapter (lavapipe in CI); fails, never skips, when there is none.

use crate::common;

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
    compare_with(model, x, opts, None)
}

/// [`compare`], optionally forcing the CPU-adapter kernel variants on or off.
fn compare_with(model: Model, x: &Tensor, opts: ForwardOptions, cpu_kernels: Option<bool>) -> f64 {
    let mut cpu = CpuEngine::new(model.clone());
    let mut gpu = GpuEngine::new_blocking(model).expect("a GPU adapter (lavapipe in CI)");
    if let Some(on) = cpu_kernels {
        gpu.set_cpu_adapter_kernels(on);
    }
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

/// Both kernel families (tiled with workgroup memory for real GPUs, register-blocked for
/// CPU-emulated adapters) on whichever adapter runs the tests: fmnist and the awkward shape.
#[test]
fn gpu_both_kernel_variants_match_cpu() {
    let cfg = CrateConfig::preset("crate-fmnist").unwrap();
    let model = Model::new(cfg.clone(), init_params(&cfg, 7).unwrap()).unwrap();
    let mut awk = CrateConfig::preset("crate-c32").unwrap();
    awk.dim = 99;
    awk.heads = 3;
    awk.depth = 2;
    awk.image = [28, 28];
    awk.classes = 7;
    awk.class_names = None;
    let awkward = Model::new(awk.clone(), init_params(&awk, 11).unwrap()).unwrap();
    for on in [false, true] {
        for opts in [full(), ForwardOptions::default()] {
            compare_with(
                model.clone(),
                &golden_input(2, &[3, 1, 28, 28]),
                opts,
                Some(on),
            );
            compare_with(
                awkward.clone(),
                &golden_input(4, &[2, 3, 28, 28]),
                opts,
                Some(on),
            );
        }
    }
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
    let measures = ForwardOptions {
        stats: true,
        cls: true,
        ..Default::default()
    };
    for opts in [ForwardOptions::default(), full(), measures] {
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

fn measures() -> ForwardOptions {
    ForwardOptions {
        stats: true,
        cls: true,
        ..Default::default()
    }
}

/// The measures computed by the GPU engine (Grams and non-zero counts on the GPU, logdet on the
/// CPU) against the CPU engine's, and the CLS attention rows against the CPU's; returns the GPU
/// engine for further checks.
fn compare_measures(model: Model, x: &Tensor) -> GpuEngine {
    compare_measures_with(model, x, None)
}

/// [`compare_measures`], optionally forcing the CPU-adapter kernel variants on or off.
fn compare_measures_with(model: Model, x: &Tensor, cpu_kernels: Option<bool>) -> GpuEngine {
    let heads = model.config.heads;
    let mut cpu = CpuEngine::new(model.clone());
    let mut gpu = GpuEngine::new_blocking(model).expect("a GPU adapter (lavapipe in CI)");
    if let Some(on) = cpu_kernels {
        gpu.set_cpu_adapter_kernels(on);
    }
    let want = cpu.forward(x, measures()).unwrap();
    let got = gpu.forward(x, measures()).unwrap();
    assert!(got.trace.is_none() && want.trace.is_none());
    assert_close("logits", &got.logits.data, &want.logits.data, TOL);
    // The CPU engine's measures are those of its own trace.
    let traced = cpu.forward(x, full()).unwrap();
    let from_trace = whitebox::analysis::layer_stats(traced.trace.as_ref().unwrap(), heads);
    let (g, w) = (got.stats.unwrap(), want.stats.unwrap());
    assert_eq!(w, from_trace);
    assert_eq!(g.len(), x.shape[0]);
    let (mut worst_rc, mut worst_sp) = (0.0f64, 0.0f64);
    for (i, (gi, wi)) in g.iter().zip(&w).enumerate() {
        assert_eq!(gi.len(), wi.len());
        for (l, (a, b)) in gi.iter().zip(wi).enumerate() {
            for (name, x, y) in [("rc_in", a.rc_in, b.rc_in), ("rc_out", a.rc_out, b.rc_out)] {
                let rel = (x - y).abs() / y.abs().max(1e-12);
                worst_rc = worst_rc.max(rel);
                assert!(rel <= 1e-3, "image {i} layer {l} {name}: gpu {x} cpu {y}");
            }
            let ds = (a.sparsity - b.sparsity).abs();
            worst_sp = worst_sp.max(ds);
            assert!(ds <= 2e-3, "image {i} layer {l} sparsity: {a:?} vs {b:?}");
        }
    }
    eprintln!("measures: worst R^c rel {worst_rc:.2e}, worst sparsity abs {worst_sp:.2e}");
    let (gc, wc) = (got.cls.unwrap(), want.cls.unwrap());
    assert_eq!(gc.len(), wc.len());
    for (l, ((a, b), t)) in gc
        .iter()
        .zip(&wc)
        .zip(&traced.trace.unwrap().layers)
        .enumerate()
    {
        assert_eq!(a.shape, b.shape);
        assert_close(&format!("layer {l} cls rows"), &a.data, &b.data, TOL);
        // The rows are the CLS rows of the full probabilities.
        let attn = t.attn.as_ref().unwrap();
        let nt = attn.shape[2];
        for bk in 0..attn.shape[0] * attn.shape[1] {
            assert_eq!(&b.data[bk * nt..][..nt], &attn.data[bk * nt * nt..][..nt]);
        }
    }
    gpu
}

#[test]
fn gpu_measures_match_cpu_fmnist_batch1_and_batch3() {
    let cfg = CrateConfig::preset("crate-fmnist").unwrap();
    let model = Model::new(cfg.clone(), init_params(&cfg, 7).unwrap()).unwrap();
    compare_measures(model.clone(), &golden_input(1, &[1, 1, 28, 28]));
    compare_measures(model, &golden_input(2, &[3, 1, 28, 28]));
}

/// d = 99 with 3 heads (dh = 33: three Gram tiles per side, none full) and N = 50, with both
/// kernel families (the tiled Gram kernel, and normalise + matmul + pack).
#[test]
fn gpu_measures_match_cpu_awkward_shapes() {
    let mut cfg = CrateConfig::preset("crate-c32").unwrap();
    cfg.dim = 99;
    cfg.heads = 3;
    cfg.depth = 3;
    cfg.image = [28, 28];
    cfg.classes = 7;
    cfg.class_names = None;
    let model = Model::new(cfg.clone(), init_params(&cfg, 11).unwrap()).unwrap();
    for b in [1, 4] {
        for variant in [Some(false), Some(true)] {
            compare_measures_with(
                model.clone(),
                &golden_input(b as u64, &[b, 3, 28, 28]),
                variant,
            );
        }
    }
}

/// The measures path reads back the logits, the packed Grams and the counts, nothing else:
/// far fewer bytes than a trace.
#[test]
fn gpu_measures_read_back_far_less_than_a_trace() {
    let cfg = CrateConfig::preset("crate-fmnist").unwrap();
    let model = Model::new(cfg.clone(), init_params(&cfg, 7).unwrap()).unwrap();
    let mut gpu = GpuEngine::new_blocking(model).expect("a GPU adapter (lavapipe in CI)");
    let b = 4;
    let x = golden_input(3, &[b, 1, 28, 28]);
    let bytes = |gpu: &mut GpuEngine, opts| {
        let before = gpu.context().bytes_read_back();
        gpu.forward(&x, opts).unwrap();
        gpu.context().bytes_read_back() - before
    };
    let stats_only = ForwardOptions {
        stats: true,
        ..Default::default()
    };
    let trace_only = ForwardOptions {
        trace: true,
        ..Default::default()
    };
    let s = bytes(&mut gpu, stats_only);
    let t = bytes(&mut gpu, trace_only);
    // Measures and a trace together: the same measures, and those of the trace.
    let both = gpu
        .forward(
            &x,
            ForwardOptions {
                trace: true,
                stats: true,
                ..Default::default()
            },
        )
        .unwrap();
    let alone = gpu.forward(&x, stats_only).unwrap();
    assert_eq!(both.stats, alone.stats);
    let from_trace = whitebox::analysis::layer_stats(both.trace.as_ref().unwrap(), cfg.heads);
    for (a, b) in both
        .stats
        .unwrap()
        .iter()
        .flatten()
        .zip(from_trace.iter().flatten())
    {
        assert!((a.rc_in - b.rc_in).abs() <= 1e-3 * b.rc_in.abs());
        assert!((a.rc_out - b.rc_out).abs() <= 1e-3 * b.rc_out.abs());
        assert!((a.sparsity - b.sparsity).abs() <= 2e-3);
    }
    let (l, k, dh, nt, d) = (cfg.depth, cfg.heads, cfg.dim / cfg.heads, 50, cfg.dim);
    let expect = 4 * (b * cfg.classes + l * 2 * b * k * dh * (dh + 1) / 2 + l * b);
    assert_eq!(s as usize, expect, "logits + packed Grams + counts");
    assert!(
        t as usize >= 4 * 5 * l * b * nt * d,
        "the trace reads back its tensors"
    );
    eprintln!("read back: measures {s} bytes, trace {t} bytes");
    assert!(s * 5 < t, "measures {s} bytes vs trace {t} bytes");
}

/// Past the tiled kernels' 2,048 tokens (a CRATE-B/8 at 448 has 3,137) the GPU engine takes the
/// matmul-based MSSA and Gram path on every adapter: with the tiled kernels chosen (as on a
/// real GPU), 2,117 tokens still give the CPU engine's logits, measures and CLS rows.
#[test]
fn gpu_measures_past_the_tiled_token_limit_match_cpu() {
    let cfg = CrateConfig::preset("crate-tiny").unwrap();
    let model = Model::new(cfg.clone(), init_params(&cfg, 5).unwrap()).unwrap();
    // 184 / 4 = 46 → 46² + 1 = 2,117 tokens.
    let x = golden_input(9, &[1, 3, 184, 184]);
    compare_measures_with(model.clone(), &x, Some(false));
    compare_measures_with(model, &x, Some(true));
}
