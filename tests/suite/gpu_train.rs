//! GPU training against the CPU reference: every parameter's gradient equals
//! `grad::loss_and_grads` (f32) on a tiny model and on an awkward one (d = 36 with 3 heads,
//! N = 13 odd, 3 channels, the extra head), one AdamW and one Lion update equal
//! `Optimizer::step`, a few GPU training steps track CPU training steps, a NaN batch is skipped
//! on the GPU with the weights kept finite, and resuming a GPU run equals an uninterrupted one.
//! Needs a wgpu adapter (lavapipe in CI); fails, never skips, when there is none.

use crate::common;

use common::cli::json_lines;
use common::gpu::ctx;
use common::train::{resume_setup, shapes, tiny, tmp, ResumeSetup, RESUME_STEPS, RESUME_STOP};
use whitebox::data::ImageDataset;
use whitebox::gpu::train::{GpuStepConfig, GpuSteps, GpuTrainer};
use whitebox::grad::{self, ParamSet};
use whitebox::model::init::init_params;
use whitebox::train::{checkpoint, OptimConfig, Optimizer, StepEngine, TrainConfig, Trainer};
use whitebox::CrateConfig;

/// Gradient tolerance: ||g_gpu - g_cpu|| / ||g_cpu|| per tensor (floored at 1e-3 of the global
/// gradient norm for tensors whose gradient is nearly zero).
const GRAD_TOL: f64 = 1e-3;

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

fn optim_case(optim: OptimConfig, clip: Option<f32>) {
    let cfg = awkward();
    let mut params = ParamSet::<f32>::from_params(&init_params(&cfg, 5).unwrap());
    let mut opt = Optimizer::new(optim, &params);
    let mut g = GpuTrainer::new(ctx(), &cfg, &params, &opt, step_cfg(optim, 0.0, clip)).unwrap();
    let mut worst_p: f64 = 0.0;
    // Two updates, so that moments and AdamW's bias correction are exercised past step 1.
    for (i, lr) in [3e-3f32, 1e-3].into_iter().enumerate() {
        let mut grads = grad::ParamSet::<f32>::zeros(&cfg);
        for (k, a) in grads.tensors.iter_mut() {
            let n = a.data.len();
            a.data = whitebox::rng::uniform(i as u64, k, n, 0.5);
        }
        g.apply_grads(&grads, lr).unwrap();
        if let Some(c) = clip {
            whitebox::train::clip_grad_norm(&mut grads, c);
        }
        opt.step(&mut params, &grads, lr);
        let (gp, gopt) = g.download().unwrap();
        assert_eq!(gopt.steps, opt.steps);
        for (want, got) in [(&params, &gp), (&opt.m, &gopt.m), (&opt.v, &gopt.v)] {
            for (k, a) in &want.tensors {
                for (x, y) in a.data.iter().zip(&got.tensors[k].data) {
                    let e = ((x - y).abs() / x.abs().max(1e-3)) as f64;
                    worst_p = worst_p.max(e);
                    assert!(e < 1e-4, "{:?} {k}: {x} vs {y}", optim.kind);
                }
            }
        }
    }
    eprintln!(
        "{:?} (clip {clip:?}): worst relative difference of params/moments {worst_p:.2e}",
        optim.kind
    );
}

#[test]
fn one_adamw_and_one_lion_step_equal_the_cpu_optimizer() {
    optim_case(OptimConfig::adamw(0.05), None);
    optim_case(OptimConfig::adamw(0.05), Some(1.0));
    optim_case(OptimConfig::lion(0.1), Some(1.0));
}

/// Runs `steps` steps of `Trainer::train_batch` (CPU) and of `GpuTrainer::step` from the same
/// start; returns the worst relative parameter difference (against the norm of each tensor).
fn track_case(optim: OptimConfig, steps: usize) -> f64 {
    let cfg = tiny();
    let params = init_params(&cfg, 7).unwrap();
    let tc = TrainConfig {
        optim,
        lr: 1e-3,
        label_smoothing: 0.1,
        warmup_epochs: 0.0,
        ..TrainConfig::new(1, 8, 3)
    };
    let mut cpu = Trainer::new(cfg.clone(), &params, tc.clone(), 8 * steps).unwrap();
    let mut g = GpuTrainer::new(
        ctx(),
        &cfg,
        &cpu.params,
        &cpu.opt,
        step_cfg(optim, tc.label_smoothing, tc.clip_norm),
    )
    .unwrap();
    let mut losses = Vec::new();
    for s in 0..steps {
        let (images, labels) = batch(&cfg, 8, 10 + s as u64);
        let lr = cpu.state.schedule.lr_at(cpu.state.step);
        let r = cpu.train_batch(&images, &labels).unwrap();
        let st = g.step(&images, &labels, lr, true).unwrap().unwrap();
        assert!(st.finite && !r.skipped);
        losses.push((r.loss, st.loss));
        assert!(
            ((r.loss - st.loss) / r.loss).abs() < 1e-3,
            "step {s}: loss {} (CPU) vs {} (GPU)",
            r.loss,
            st.loss
        );
    }
    let (gp, gopt) = g.download().unwrap();
    assert_eq!(gopt.steps, steps as u64);
    let (e, key) = worst(&gp, &cpu.params, 0.0);
    eprintln!(
        "{:?}, {steps} steps: losses (CPU, GPU) {losses:?}; worst parameter rel diff {e:.2e} ({key})",
        optim.kind
    );
    e
}

#[test]
fn gpu_training_steps_track_cpu_training_steps() {
    assert!(track_case(OptimConfig::adamw(0.05), 5) < 1e-3);
    assert!(track_case(OptimConfig::lion(0.1), 5) < 1e-2);
}

#[test]
fn nan_batch_is_skipped_on_the_gpu_and_weights_stay_finite() {
    let cfg = tiny();
    let params = ParamSet::<f32>::from_params(&init_params(&cfg, 4).unwrap());
    let opt = Optimizer::new(OptimConfig::adamw(0.05), &params);
    let mut g = GpuTrainer::new(
        ctx(),
        &cfg,
        &params,
        &opt,
        step_cfg(opt.config, 0.1, Some(1.0)),
    )
    .unwrap();
    let n = 2 * 28 * 28;
    let mut images = vec![0.1f32; n];
    images[17] = f32::NAN;
    let st = g.step(&images, &[0, 1], 1e-3, true).unwrap().unwrap();
    assert!(!st.finite, "{st:?}");
    assert_eq!((st.run_skipped, st.run_steps, st.optim_steps), (1, 1, 0));
    images[17] = f32::INFINITY;
    // not read back: the skip is still counted on the GPU
    assert!(g.step(&images, &[0, 1], 1e-3, false).unwrap().is_none());
    let (p1, o1) = g.download().unwrap();
    assert_eq!(p1, params);
    assert_eq!(o1.steps, 0);
    let st = g.stats().unwrap();
    assert_eq!((st.run_skipped, st.run_steps), (1, 1));
    images[17] = 0.1;
    let st = g.step(&images, &[0, 1], 1e-3, true).unwrap().unwrap();
    assert!(st.finite && st.loss.is_finite());
    assert_eq!((st.run_skipped, st.optim_steps, st.run_images), (0, 1, 2));
    let (p2, _) = g.download().unwrap();
    assert_ne!(p2, params);
    assert!(p2
        .tensors
        .values()
        .all(|a| a.data.iter().all(|v| v.is_finite())));
}

fn gpu_steps(t: &mut Trainer, e: &mut GpuSteps, ds: &dyn ImageDataset, n: usize) {
    for _ in 0..n {
        t.next_step_on(e, ds, false).unwrap();
    }
    e.sync(t).unwrap();
}

/// Resuming a GPU run from its checkpoint equals running it uninterrupted, within float
/// tolerance (the GPU's reductions are not bit-reproducible across runs in general).
fn gpu_resume_case(optim: OptimConfig, tag: &str) {
    let ResumeSetup {
        ds,
        cfg,
        params,
        tc,
    } = resume_setup(optim);
    let mut whole = Trainer::new(cfg.clone(), &params, tc.clone(), ds.len()).unwrap();
    let mut ew = GpuSteps::new(ctx(), &whole, 4).unwrap();
    gpu_steps(&mut whole, &mut ew, &ds, RESUME_STEPS);
    let mut first = Trainer::new(cfg, &params, tc, ds.len()).unwrap();
    let mut e1 = GpuSteps::new(ctx(), &first, 4).unwrap();
    gpu_steps(&mut first, &mut e1, &ds, RESUME_STOP);
    let dir = tmp(&format!("gpu-resume-{tag}"));
    checkpoint::save(&dir, &first, false).unwrap();
    drop((first, e1));
    let mut second = checkpoint::load(&dir).unwrap();
    assert_eq!(second.state.step, RESUME_STOP as u64);
    let mut e2 = GpuSteps::new(ctx(), &second, 4).unwrap();
    gpu_steps(&mut second, &mut e2, &ds, RESUME_STEPS - RESUME_STOP);
    assert_eq!(second.state, whole.state);
    assert_eq!(second.shuffler, whole.shuffler);
    assert_eq!(second.opt.steps, RESUME_STEPS as u64);
    let (e, key) = worst(&second.params, &whole.params, 0.0);
    eprintln!("{tag}: resumed vs uninterrupted GPU run, worst parameter rel diff {e:.2e} ({key})");
    assert!(e < 1e-5, "{tag}: `{key}` differs by {e} after resume");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gpu_resume_equals_uninterrupted_gpu_training() {
    gpu_resume_case(OptimConfig::adamw(0.05), "adamw");
    gpu_resume_case(OptimConfig::lion(0.1), "lion");
}

#[test]
fn train_cli_runs_on_the_gpu() {
    let dir = tmp("gpu-cli");
    let o = dir.to_str().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_whitebox"))
        .args([
            "train",
            "--engine",
            "gpu",
            "--dataset",
            "shapes",
            "--preset",
            "crate-fmnist",
            "--epochs",
            "1",
            "--batch",
            "16",
            "--limit-train",
            "48",
            "--limit-test",
            "32",
            "--stats-images",
            "8",
            "--log-every",
            "2",
            "--out",
            o,
        ])
        .output()
        .unwrap();
    let msg =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{msg}");
    assert!(
        msg.contains("GPU: ") && msg.contains("done: 3 steps"),
        "{msg}"
    );
    let m = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let lines = json_lines(&m);
    assert_eq!(lines.iter().filter(|v| v["kind"] == "step").count(), 1);
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "epoch");
    assert_eq!(last["step"], 3);
    assert!(last["train_loss"].as_f64().unwrap().is_finite());
    assert!(dir.join("model.safetensors").exists() && dir.join("optim.safetensors").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_step_is_one_submit_and_allocates_nothing_after_the_first() {
    let cfg = tiny();
    let params = ParamSet::<f32>::from_params(&init_params(&cfg, 6).unwrap());
    let opt = Optimizer::new(OptimConfig::lion(0.1), &params);
    let mut g = GpuTrainer::new(
        ctx(),
        &cfg,
        &params,
        &opt,
        step_cfg(opt.config, 0.1, Some(1.0)),
    )
    .unwrap();
    let (images, labels) = batch(&cfg, 4, 3);
    g.step(&images, &labels, 1e-3, true).unwrap();
    let (s0, b0) = (g.context().submit_count(), g.buffers_created());
    g.step(&images, &labels, 1e-3, false).unwrap();
    assert_eq!(g.context().submit_count(), s0 + 1);
    g.step(&images, &labels, 1e-3, true).unwrap();
    assert_eq!(g.context().submit_count(), s0 + 2);
    assert_eq!(g.buffers_created(), b0, "a repeated step created buffers");
}

#[test]
fn gpu_gradients_match_cpu_fmnist_preset() {
    // 8 × 50 = 400 rows: the weight gradients are split over k and the column sums run in two
    // passes.
    grads_case(&CrateConfig::preset("crate-fmnist").unwrap(), 8, 3);
}

#[test]
fn gpu_evaluation_equals_cpu_evaluation() {
    let ds = shapes(300, 8);
    let cfg = tiny();
    let params = init_params(&cfg, 9).unwrap();
    let t = Trainer::new(cfg, &params, TrainConfig::new(1, 16, 0), ds.len()).unwrap();
    let mut e = GpuSteps::new(ctx(), &t, 0).unwrap();
    // 300 images: a batch of 256, then one of 44 (a second batch size on the GPU)
    let g = t.evaluate_on(&mut e, &ds, None).unwrap();
    let c = t.evaluate(&ds, None).unwrap();
    eprintln!("GPU {g:?} vs CPU {c:?}");
    assert_eq!(g.images, 300);
    assert!((g.accuracy - c.accuracy).abs() <= 1.0 / 300.0 + 1e-12);
    assert!(((g.loss - c.loss) / c.loss).abs() < 1e-5);
}

#[test]
fn bench_train_prints_images_per_second_for_both_engines() {
    for engine in ["cpu", "gpu"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_whitebox"))
            .args([
                "bench",
                "--train",
                "--engine",
                engine,
                "--preset",
                "crate-fmnist",
                "--batch",
                "2",
                "--iters",
                "1",
                "--json",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["kind"], "train");
        assert_eq!(v["batch"], 2);
        assert!(v["images_per_s"].as_f64().unwrap() > 0.0, "{v}");
    }
}
