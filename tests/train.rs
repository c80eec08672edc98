//! Training: a tiny model overfits 64 images, resuming equals uninterrupted training (bit-exact
//! on CPU), a NaN step is skipped with the weights kept finite, the metrics/checkpoint hooks,
//! and the CLI's errors for a missing or corrupt dataset; training on the subspace mixture.
//! GPU training is tested in `tests/gpu_train.rs`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::AtomicBool;

use serde_json::Value;
use whitebox::data::synthetic::{ShapesConfig, ShapesDataset};
use whitebox::data::ImageDataset;
use whitebox::model::init::init_params;
use whitebox::train::{checkpoint, Hooks, OptimConfig, TrainConfig, Trainer};
use whitebox::CrateConfig;

/// A tiny CRATE on 28×28 grayscale (16 tokens of 7×7 patches), 5 shape classes.
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

fn shapes(len: usize, seed: u64) -> ShapesDataset {
    ShapesDataset::new(ShapesConfig::for_model(&tiny(), len, seed)).unwrap()
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("whitebox-train-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn tiny_model_overfits_64_images() {
    let ds = shapes(64, 11);
    let cfg = tiny();
    let params = init_params(&cfg, 1).unwrap();
    let tc = TrainConfig {
        lr: 3e-3,
        min_lr: 1e-4,
        warmup_epochs: 5.0,
        optim: OptimConfig::adamw(0.0),
        label_smoothing: 0.0,
        log_every: 10,
        stats_images: 16,
        ..TrainConfig::new(100, 32, 5)
    };
    let mut t = Trainer::new(cfg, &params, tc, ds.len()).unwrap();
    let mut lines: Vec<Value> = Vec::new();
    let mut saves = 0;
    let stop = AtomicBool::new(false);
    let now = || 0.0;
    t.train(
        &ds,
        &ds,
        Hooks {
            now: &now,
            metrics: &mut |v| lines.push(v.clone()),
            progress: &mut |_, _| {},
            checkpoint: &mut |_, _| {
                saves += 1;
                Ok(())
            },
            stop: &stop,
        },
    )
    .unwrap();
    assert_eq!(t.state.step, 200);
    assert_eq!(saves, 100);
    let epochs: Vec<&Value> = lines.iter().filter(|v| v["kind"] == "epoch").collect();
    assert_eq!(epochs.len(), 100);
    assert_eq!(epochs[0]["layers"].as_array().unwrap().len(), 2);
    assert_eq!(lines.iter().filter(|v| v["kind"] == "step").count(), 20);
    let ev = t.evaluate(&ds, None).unwrap();
    assert!(
        ev.accuracy > 0.95,
        "training accuracy {} after 200 steps (loss {})",
        ev.accuracy,
        ev.loss
    );
    assert_eq!(
        t.state.best_accuracy,
        Some(
            epochs
                .iter()
                .map(|v| v["test_accuracy"].as_f64().unwrap())
                .fold(0.0, f64::max)
        )
    );
}

fn run_steps(t: &mut Trainer, ds: &dyn ImageDataset, n: usize) {
    for _ in 0..n {
        let r = t.next_step(ds).unwrap();
        assert!(!r.skipped);
    }
}

fn resume_case(optim: OptimConfig, tag: &str) {
    let ds = shapes(40, 3);
    let cfg = tiny();
    let params = init_params(&cfg, 2).unwrap();
    let tc = TrainConfig {
        optim,
        lr: 2e-3,
        label_smoothing: 0.1,
        augment: Some(whitebox::data::Augment::new(2, true)),
        ..TrainConfig::new(3, 8, 9)
    };
    // 5 steps per epoch: 13 steps cross two epoch boundaries; stop after 7 (mid-epoch).
    let mut whole = Trainer::new(cfg.clone(), &params, tc.clone(), ds.len()).unwrap();
    run_steps(&mut whole, &ds, 13);
    let mut first = Trainer::new(cfg, &params, tc, ds.len()).unwrap();
    run_steps(&mut first, &ds, 7);
    let dir = tmp(tag);
    checkpoint::save(&dir, &first, false).unwrap();
    drop(first);
    let mut second = checkpoint::load(&dir).unwrap();
    assert_eq!(second.state.step, 7);
    run_steps(&mut second, &ds, 6);
    assert_eq!(second.state, whole.state);
    assert_eq!(second.shuffler, whole.shuffler);
    assert_eq!(second.opt, whole.opt);
    for (k, a) in &whole.params.tensors {
        let b = &second.params.tensors[k];
        let same = a
            .data
            .iter()
            .zip(&b.data)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{tag}: `{k}` differs after resume");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resume_equals_uninterrupted_training_adamw() {
    resume_case(OptimConfig::adamw(0.05), "adamw");
}

#[test]
fn resume_equals_uninterrupted_training_lion() {
    resume_case(OptimConfig::lion(0.1), "lion");
}

#[test]
fn nan_step_is_skipped_and_weights_stay_finite() {
    let cfg = tiny();
    let params = init_params(&cfg, 4).unwrap();
    let mut t = Trainer::new(cfg.clone(), &params, TrainConfig::new(1, 2, 0), 10).unwrap();
    let before = t.params.clone();
    let n = 2 * 28 * 28;
    let mut images = vec![0.1f32; n];
    images[17] = f32::NAN;
    let r = t.train_batch(&images, &[0, 1]).unwrap();
    assert!(r.skipped, "loss {}", r.loss);
    assert_eq!(t.state.skipped, 1);
    assert_eq!(t.state.step, 1);
    assert_eq!(t.opt.steps, 0);
    assert_eq!(t.params, before);
    images[17] = f32::INFINITY;
    assert!(t.train_batch(&images, &[0, 1]).unwrap().skipped);
    assert_eq!(t.state.skipped, 2);
    // a clean batch trains again
    images[17] = 0.1;
    let r = t.train_batch(&images, &[0, 1]).unwrap();
    assert!(!r.skipped && r.loss.is_finite());
    assert_ne!(t.params, before);
    assert!(t
        .params
        .tensors
        .values()
        .all(|a| a.data.iter().all(|v| v.is_finite())));
}

fn whitebox(args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_whitebox"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[test]
fn train_cli_names_a_missing_or_corrupt_dataset() {
    let dir = tmp("corrupt");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out");
    let d = dir.to_str().unwrap();
    let o = out.to_str().unwrap();
    let (ok, msg) = whitebox(&[
        "train",
        "--dataset",
        "fmnist",
        "--data",
        d,
        "--epochs",
        "1",
        "--out",
        o,
    ]);
    assert!(!ok);
    assert!(msg.contains("Fashion-MNIST") && msg.contains(d), "{msg}");
    for f in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        std::fs::write(dir.join(f), b"\x00\x00\x08\x03garbage").unwrap();
    }
    let (ok, msg) = whitebox(&[
        "train",
        "--dataset",
        "fmnist",
        "--data",
        d,
        "--epochs",
        "1",
        "--out",
        o,
    ]);
    assert!(!ok);
    assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");
    let (ok, msg) = whitebox(&["train", "--dataset", "subspaces", "--augment", "--out", o]);
    assert!(!ok && msg.contains("does not apply"), "{msg}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn train_cli_runs_an_epoch_and_resumes() {
    let dir = tmp("cli");
    let o = dir.to_str().unwrap();
    let args = [
        "train",
        "--dataset",
        "shapes",
        "--preset",
        "crate-fmnist",
        "--epochs",
        "1",
        "--batch",
        "16",
        "--limit-train",
        "32",
        "--limit-test",
        "32",
        "--stats-images",
        "8",
        "--out",
        o,
    ];
    let (ok, msg) = whitebox(&args);
    assert!(ok, "{msg}");
    for f in [
        "model.safetensors",
        "best.safetensors",
        "optim.safetensors",
        "state.json",
        "metrics.jsonl",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let m = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let last: Value = serde_json::from_str(m.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "epoch");
    assert_eq!(last["step"], 2);
    // the model file loads with its class names
    let (ok, info) = whitebox(&["info", dir.join("model.safetensors").to_str().unwrap()]);
    assert!(ok, "{info}");
    // resuming a finished run does nothing more
    let (ok, msg) = whitebox(&[
        "train",
        "--dataset",
        "shapes",
        "--limit-train",
        "32",
        "--resume",
        o,
    ]);
    assert!(ok && msg.contains("done: 2 steps"), "{msg}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn train_cli_chooses_the_best_epoch_on_a_validation_split() {
    let dir = tmp("val");
    let o = dir.to_str().unwrap();
    let args = [
        "train",
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
        "--val",
        "16",
        "--limit-test",
        "24",
        "--stats-images",
        "8",
        "--out",
        o,
    ];
    let (ok, msg) = whitebox(&args);
    assert!(ok && msg.contains("best validation accuracy"), "{msg}");
    let m = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let last: Value = serde_json::from_str(m.lines().last().unwrap()).unwrap();
    // 32 training images: 2 steps; 16 validation images; the test split reported beside it
    assert_eq!(last["step"], 2);
    assert_eq!(last["val_images"], 16);
    assert_eq!(last["test_images"], 24);
    assert!(last["val_accuracy"].is_f64() && last["test_accuracy"].is_f64());
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["train"]["val_images"], 16);
    assert_eq!(state["best_accuracy"], last["val_accuracy"]);
    let (ok, msg) = whitebox(&[
        "train",
        "--dataset",
        "shapes",
        "--limit-train",
        "48",
        "--val",
        "48",
        "--out",
        o,
    ]);
    assert!(!ok && msg.contains("leaves no training images"), "{msg}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn train_cli_trains_on_the_subspace_mixture() {
    let dir = tmp("subspaces");
    let o = dir.to_str().unwrap();
    let (ok, msg) = whitebox(&[
        "train",
        "--dataset",
        "subspaces",
        "--preset",
        "crate-fmnist",
        "--epochs",
        "1",
        "--batch",
        "32",
        "--limit-train",
        "64",
        "--limit-test",
        "32",
        "--stats-images",
        "8",
        "--out",
        o,
    ]);
    assert!(ok && msg.contains("done: 2 steps"), "{msg}");
    // the model: 1 x 16 tokens of 32 channels, patch 1, 4 classes
    let (ok, info) = whitebox(&["info", dir.join("model.safetensors").to_str().unwrap()]);
    assert!(ok, "{info}");
    let _ = std::fs::remove_dir_all(&dir);
}
