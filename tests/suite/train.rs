//! Training: a tiny model overfits 64 images, resuming equals uninterrupted training (bit-exact
//! on CPU), a NaN step is skipped with the weights kept finite, the metrics/checkpoint hooks,
//! and the CLI's errors for a missing or corrupt dataset; training on the subspace mixture.
//! GPU training is tested in `tests/suite/gpu_train.rs`.

use crate::common;

use std::process::Command;
use std::sync::atomic::AtomicBool;

use common::cli::status_and_output as whitebox;
use common::train::{resume_setup, shapes, tiny, tmp, ResumeSetup, RESUME_STEPS, RESUME_STOP};
use serde_json::Value;
use whitebox::data::ImageDataset;
use whitebox::model::init::init_params;
use whitebox::train::{checkpoint, Hooks, OptimConfig, TrainConfig, Trainer};

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
                .map(|v| v["val_accuracy"].as_f64().unwrap())
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
    let ResumeSetup {
        ds,
        cfg,
        params,
        tc,
    } = resume_setup(optim);
    let mut whole = Trainer::new(cfg.clone(), &params, tc.clone(), ds.len()).unwrap();
    run_steps(&mut whole, &ds, RESUME_STEPS);
    let mut first = Trainer::new(cfg, &params, tc, ds.len()).unwrap();
    run_steps(&mut first, &ds, RESUME_STOP);
    let dir = tmp(tag);
    checkpoint::save(&dir, &first, false).unwrap();
    drop(first);
    let mut second = checkpoint::load(&dir).unwrap();
    assert_eq!(second.state.step, RESUME_STOP as u64);
    run_steps(&mut second, &ds, RESUME_STEPS - RESUME_STOP);
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
        "--log-every",
        "1",
        "--out",
        o,
    ];
    let (ok, msg) = whitebox(&args);
    assert!(ok, "{msg}");
    // Not a terminal: no progress bar, plain progress lines, no carriage returns or escapes.
    assert!(!msg.contains('\r') && !msg.contains('\x1b'), "{msg:?}");
    for step in ["epoch 1 step 1/2 loss ", "epoch 1 step 2/2 loss "] {
        assert!(msg.contains(step), "no `{step}` line in {msg}");
    }
    for f in [
        "model.safetensors",
        "optim.safetensors",
        "state.json",
        "metrics.jsonl",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    // Without a validation split the test split is only reported: no epoch is chosen on it.
    assert!(!dir.join("best.safetensors").exists());
    assert!(msg.contains("no epoch chosen (give --val N"), "{msg}");
    let m = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let last: Value = serde_json::from_str(m.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "epoch");
    assert_eq!(last["step"], 2);
    assert_eq!(last["test_images"], 32);
    assert!(last["test_accuracy"].is_f64() && last.get("val_accuracy").is_none());
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    assert!(state["best_epoch"].is_null(), "{state}");
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
    assert!(
        ok && msg.contains("best validation accuracy") && msg.contains("best.safetensors"),
        "{msg}"
    );
    assert!(dir.join("best.safetensors").exists());
    let m = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let last: Value = serde_json::from_str(m.lines().last().unwrap()).unwrap();
    // 32 training images: 2 steps; 16 validation images; the test split left alone
    assert_eq!(last["step"], 2);
    assert_eq!(last["val_images"], 16);
    assert!(last["val_accuracy"].is_f64());
    for k in ["test_images", "test_accuracy", "test_loss"] {
        assert!(last.get(k).is_none(), "{k} in {last}");
    }
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

/// Runs `whitebox train` in the background, sends it SIGINT (what Ctrl-C sends) once its first
/// step is in metrics.jsonl, and returns its combined output after it exits.
fn train_until_interrupted(args: &[&str], dir: &std::path::Path) -> (bool, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_whitebox"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let metrics = dir.join("metrics.jsonl");
    let t0 = std::time::Instant::now();
    while !std::fs::read_to_string(&metrics).is_ok_and(|m| m.contains("\"kind\":\"step\"")) {
        assert!(t0.elapsed().as_secs() < 120, "no training step after 120 s");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr),
    )
}

/// Ctrl-C during `whitebox train` saves a checkpoint mid-epoch and exits cleanly; `--resume`
/// then finishes the run with exactly the weights of an uninterrupted run.
#[test]
fn ctrl_c_then_resume_equals_an_uninterrupted_cli_run() {
    let whole = tmp("sigint-whole");
    let cut = tmp("sigint-cut");
    let args = |out: &std::path::Path| -> Vec<String> {
        [
            "train",
            "--dataset",
            "shapes",
            "--preset",
            "crate-fmnist",
            "--epochs",
            "3",
            "--batch",
            "8",
            "--limit-train",
            "240",
            "--limit-test",
            "16",
            "--stats-images",
            "4",
            "--log-every",
            "1",
            "--augment",
            "--out",
            out.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    let total = 3 * 240 / 8;
    let a = args(&whole);
    let (ok, msg) = whitebox(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok && msg.contains(&format!("done: {total} steps")), "{msg}");

    let a = args(&cut);
    let (ok, msg) =
        train_until_interrupted(&a.iter().map(String::as_str).collect::<Vec<_>>(), &cut);
    assert!(ok, "{msg}");
    assert!(msg.contains("stopped: checkpoint in"), "{msg}");
    let stopped: Value =
        serde_json::from_str(&std::fs::read_to_string(cut.join("state.json")).unwrap()).unwrap();
    let at = stopped["step"].as_u64().unwrap();
    assert!(
        at >= 1 && at < total as u64,
        "stopped at step {at} of {total}: the signal came too late to test a resume"
    );
    let m = std::fs::read_to_string(cut.join("metrics.jsonl")).unwrap();
    let last: Value = serde_json::from_str(m.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "stop");
    assert_eq!(last["step"].as_u64(), Some(at));

    let (ok, msg) = whitebox(&[
        "train",
        "--dataset",
        "shapes",
        "--limit-train",
        "240",
        "--resume",
        cut.to_str().unwrap(),
    ]);
    assert!(ok && msg.contains(&format!("done: {total} steps")), "{msg}");
    let want = checkpoint::load(&whole).unwrap();
    let got = checkpoint::load(&cut).unwrap();
    assert_eq!(got.state.step, want.state.step);
    assert_eq!(got.shuffler, want.shuffler);
    for (k, a) in &want.params.tensors {
        let b = &got.params.tensors[k];
        assert!(
            a.data
                .iter()
                .zip(&b.data)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "`{k}` differs after Ctrl-C and --resume (stopped at step {at})"
        );
    }
    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&cut);
}
