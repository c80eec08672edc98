//! GPU training against the CPU reference: every parameter's gradient equals
//! `grad::loss_and_grads` (f32) on a tiny model and on an awkward one (d = 36 with 3 heads,
//! N = 13 odd, 3 channels, the extra head), one AdamW and one Lion update equal
//! `Optimizer::step`, a few GPU training steps track CPU training steps, a NaN batch is skipped
//! on the GPU with the weights kept finite, and resuming a GPU run equals an uninterrupted one.
//! Needs a wgpu adapter (lavapipe in CI); fails, never skips, when there is none.

use whitebox::gpu::train::{GpuStepConfig, GpuTrainer};
use whitebox::gpu::GpuContext;
use whitebox::grad::{self, ParamSet};
use whitebox::model::init::init_params;
use whitebox::train::{OptimConfig, Optimizer, TrainConfig, Trainer};
use whitebox::CrateConfig;

/// Gradient tolerance: ||g_gpu - g_cpu|| / ||g_cpu|| per tensor (floored at 1e-3 of the global
/// gradient norm for tensors whose gradient is nearly zero).
const GRAD_TOL: f64 = 1e-3;

fn ctx() -> GpuContext {
    GpuContext::new_blocking().expect("a GPU adapter (lavapipe in CI)")
}

fn tiny() -> CrateConfig {
    CrateConfig {
        dim: 32,
        depth: 2,
        heads: 2,
        patch: 7,
        classes: 5,
        class_names: None,
        ..CrateConfig::preset("crate-fmnist").unwrap()
    }
}

/// d = 36 (not a multiple of the tile, dh = 12), N = 13 (odd), 3 channels (P = 48), 7 classes
/// behind the extra `head` Linear.
fn awkward() -> CrateConfig {
    CrateConfig {
        dim: 36,
        depth: 2,
        heads: 3,
        patch: 4,
        image: [16, 12],
        channels: 3,
        classes: 7,
        mean: vec![0.5; 3],
        std: vec![0.25; 3],
        class_names: None,
        pre_head_dim: Some(10),
        ..CrateConfig::preset("crate-fmnist").unwrap()
    }
}

fn batch(cfg: &CrateConfig, b: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let [h, w] = cfg.image;
    let images = whitebox::rng::uniform(seed, "images", b * cfg.channels * h * w, 2.0);
    let labels = (0..b)
        .map(|i| (i * 3 + seed as usize) % cfg.classes)
        .collect();
    (images, labels)
}

fn norm(v: &[f32]) -> f64 {
    v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt()
}

/// Worst per-tensor relative error of `got` against `want`, and its key.
fn worst(got: &ParamSet<f32>, want: &ParamSet<f32>, floor_frac: f64) -> (f64, String) {
    let global = want.norm();
    let mut worst = (0.0, String::new());
    for (k, a) in &want.tensors {
        let g = &got.tensors[k];
        assert_eq!(g.shape, a.shape, "{k}");
        let diff: Vec<f32> = g.data.iter().zip(&a.data).map(|(x, y)| x - y).collect();
        let e = norm(&diff) / norm(&a.data).max(floor_frac * global).max(1e-30);
        assert!(e.is_finite(), "{k}: non-finite error");
        if e > worst.0 {
            worst = (e, k.clone());
        }
    }
    worst
}

fn step_cfg(optim: OptimConfig, smoothing: f32, clip: Option<f32>) -> GpuStepConfig {
    GpuStepConfig {
        optim,
        label_smoothing: smoothing,
        clip_norm: clip,
    }
}

fn grads_case(cfg: &CrateConfig, b: usize, seed: u64) {
    let params = ParamSet::<f32>::from_params(&init_params(cfg, seed).unwrap());
    let opt = Optimizer::new(OptimConfig::adamw(0.0), &params);
    let mut g =
        GpuTrainer::new(ctx(), cfg, &params, &opt, step_cfg(opt.config, 0.1, None)).unwrap();
    let (images, labels) = batch(cfg, b, seed);
    let want = grad::loss_and_grads(cfg, &params, &images, &labels, 0.1f32).unwrap();
    let (loss, logits, got) = g.loss_and_grads(&images, &labels).unwrap();
    let lerr = ((loss - want.loss) / want.loss).abs();
    let logit_err = logits
        .iter()
        .zip(&want.logits)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let (e, key) = worst(&got, &want.grads, 1e-3);
    eprintln!(
        "d={} heads={} N={} b={b}: loss rel err {lerr:.2e}, logits max abs err {logit_err:.2e}, \
         worst gradient rel err {e:.2e} ({key})",
        cfg.dim,
        cfg.heads,
        cfg.tokens()
    );
    assert!(lerr < 1e-5, "loss {loss} vs {}", want.loss);
    assert!(logit_err < 1e-4);
    assert!(e < GRAD_TOL, "gradient of {key}: relative error {e}");
}

#[test]
fn gpu_gradients_match_cpu_tiny() {
    grads_case(&tiny(), 3, 1);
}

#[test]
fn gpu_gradients_match_cpu_awkward_shape() {
    grads_case(&awkward(), 5, 2);
}
