//! Choosing the kept checkpoint by segmentation (`--select segment`) and hide-and-seek
//! augmentation (`--hide`): the per-epoch attention scores the trainer logs, the rule it keeps
//! the best epoch by, and the CLI wiring.

use crate::common;

use std::sync::atomic::AtomicBool;

use common::cli::{json_lines, status_and_output as whitebox};
use common::train::{shapes, tiny, tmp};
use serde_json::Value;
use whitebox::data::{Augment, Hide, ImageDataset};
use whitebox::model::init::init_params;
use whitebox::train::selection::{per_layer_head_mean, segment_score};
use whitebox::train::{OptimConfig, Selection, TrainConfig, Trainer};

#[test]
fn segment_selection_keeps_the_epoch_the_rule_ranks_first() {
    let ds = shapes(48, 3);
    let cfg = tiny();
    let params = init_params(&cfg, 2).unwrap();
    let floor = 0.3;
    let tc = TrainConfig {
        lr: 3e-3,
        optim: OptimConfig::adamw(0.0),
        stats_images: 8,
        segment_images: 24,
        select: Selection::Segment {
            min_accuracy: floor,
        },
        augment: Some(Augment::new(0, false).with_hide(Some(Hide {
            cell: 7,
            prob: 0.25,
            fill: 128,
        }))),
        ..TrainConfig::new(6, 16, 4)
    };
    let mut t = Trainer::new(cfg.clone(), &params, tc, ds.len()).unwrap();
    let mut lines: Vec<Value> = Vec::new();
    let mut bests: Vec<bool> = Vec::new();
    let mut last_weights = None;
    let stop = AtomicBool::new(false);
    let now = || 0.0;
    t.train(
        &ds,
        &ds,
        whitebox::train::Hooks {
            now: &now,
            metrics: &mut |v| lines.push(v.clone()),
            progress: &mut |_, _| {},
            checkpoint: &mut |tr, best| {
                bests.push(best);
                last_weights = Some(tr.model());
                Ok(())
            },
            stop: &stop,
        },
    )
    .unwrap();
    let epochs: Vec<&Value> = lines.iter().filter(|v| v["kind"] == "epoch").collect();
    assert_eq!(epochs.len(), 6);
    // Every epoch logs each layer's head-averaged mIoU and the head-mean map's, in [0, 1].
    let mut keys = Vec::new();
    for e in &epochs {
        assert_eq!(e["val_miou_images"], 24);
        let heads: Vec<f64> = e["val_miou_heads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(heads.len(), cfg.depth);
        assert_eq!(e["val_miou_mean_map"].as_array().unwrap().len(), cfg.depth);
        assert!(heads.iter().all(|v| (0.0..=1.0).contains(v)), "{heads:?}");
        let acc = e["val_accuracy"].as_f64().unwrap();
        let seg = heads.iter().cloned().fold(0.0, f64::max);
        keys.push(
            Selection::Segment {
                min_accuracy: floor,
            }
            .key(acc, Some(seg)),
        );
    }
    // The kept epoch is the first with the highest key, and `best` was signalled exactly when
    // an epoch beat every earlier one.
    let top = keys.iter().cloned().fold(f64::MIN, f64::max);
    let want = keys.iter().position(|&k| k == top).unwrap() + 1;
    assert_eq!(t.state.best_epoch, Some(want as u64), "keys {keys:?}");
    let mut run_max = f64::MIN;
    for (k, b) in keys.iter().zip(&bests) {
        assert_eq!(*b, *k > run_max, "keys {keys:?}, bests {bests:?}");
        run_max = run_max.max(*k);
    }
    // The last epoch's logged scores are the trainer's scores of the final weights.
    let s = t.segment_scores(&ds, 24).unwrap().unwrap();
    let last = epochs.last().unwrap();
    let logged: Vec<f64> = last["val_miou_heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(logged, per_layer_head_mean(&s));
    assert_eq!(
        segment_score(&s),
        logged.iter().cloned().fold(0.0, f64::max)
    );
    assert_eq!(s.images, 24);
}

#[test]
fn segment_scores_need_masks() {
    struct NoMasks(whitebox::data::synthetic::ShapesDataset);
    impl ImageDataset for NoMasks {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn image(&self, i: usize) -> whitebox::data::ImageU8 {
            self.0.image(i)
        }
        fn label(&self, i: usize) -> usize {
            self.0.label(i)
        }
        fn class_names(&self) -> Vec<String> {
            self.0.class_names()
        }
    }
    let cfg = tiny();
    let t = Trainer::new(
        cfg.clone(),
        &init_params(&cfg, 1).unwrap(),
        TrainConfig::new(1, 8, 1),
        8,
    )
    .unwrap();
    assert!(t
        .segment_scores(&NoMasks(shapes(8, 1)), 8)
        .unwrap()
        .is_none());
    let with = t.segment_scores(&shapes(8, 1), 8).unwrap().unwrap();
    assert_eq!(with.images, 8);
    assert_eq!(with.layers.len(), cfg.depth);
}

#[test]
fn train_cli_selects_by_segmentation_with_hiding() {
    let dir = tmp("select");
    let o = dir.to_str().unwrap();
    let (ok, msg) = whitebox(&[
        "train",
        "--dataset",
        "shapes",
        "--preset",
        "crate-fmnist",
        "--epochs",
        "2",
        "--batch",
        "16",
        "--limit-train",
        "48",
        "--val",
        "16",
        "--limit-test",
        "16",
        "--stats-images",
        "8",
        "--hide",
        "0.3",
        "--select",
        "segment",
        "--select-min-accuracy",
        "0",
        "--segment-images",
        "12",
        "--out",
        o,
    ]);
    assert!(
        ok && msg.contains("chosen by attention mIoU among epochs with accuracy ≥ 0"),
        "{msg}"
    );
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    let train = &state["train"];
    assert_eq!(train["select"]["Segment"]["min_accuracy"], 0.0);
    assert_eq!(train["segment_images"], 12);
    // The hidden cells are the preset's 4-pixel patches, filled with its normalisation mean
    // (0.2860, Fashion-MNIST's) as a pixel: round(0.286 * 255) = 73.
    assert_eq!(train["augment"]["hide"]["cell"], 4);
    assert_eq!(train["augment"]["hide"]["fill"], 73);
    assert_eq!(train["augment"]["pad"], 0);
    let m = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let epochs: Vec<Value> = json_lines(&m)
        .into_iter()
        .filter(|v| v["kind"] == "epoch")
        .collect();
    assert_eq!(epochs.len(), 2);
    for e in &epochs {
        assert_eq!(e["val_miou_images"], 12);
        assert_eq!(e["val_miou_heads"].as_array().unwrap().len(), 6);
    }
    let _ = std::fs::remove_dir_all(&dir);
    // Masks exist for the shapes only; hiding needs images.
    let (ok, msg) = whitebox(&["train", "--dataset", "subspaces", "--select", "segment"]);
    assert!(!ok && msg.contains("--dataset shapes only"), "{msg}");
    // Choosing an epoch needs a validation split: never the test split.
    let (ok, msg) = whitebox(&["train", "--dataset", "shapes", "--select", "segment"]);
    assert!(!ok && msg.contains("give --val N"), "{msg}");
    let (ok, msg) = whitebox(&["train", "--dataset", "subspaces", "--hide", "0.2"]);
    assert!(
        !ok && msg.contains("does not apply to --dataset subspaces"),
        "{msg}"
    );
    let (ok, msg) = whitebox(&["train", "--dataset", "shapes", "--hide", "0.99"]);
    assert!(!ok && msg.contains("0.95"), "{msg}");
}

#[test]
fn train_cli_reshapes_the_preset() {
    let dir = tmp("reshape");
    let o = dir.to_str().unwrap();
    let (ok, msg) = whitebox(&[
        "train",
        "--dataset",
        "shapes",
        "--preset",
        "crate-fmnist",
        "--dim",
        "24",
        "--depth",
        "3",
        "--heads",
        "2",
        "--epochs",
        "1",
        "--batch",
        "16",
        "--limit-train",
        "16",
        "--limit-test",
        "8",
        "--stats-images",
        "4",
        "--out",
        o,
    ]);
    assert!(ok && msg.contains("d=24, 3 layers, 2 heads"), "{msg}");
    let (ok, info) = whitebox(&["info", dir.join("model.safetensors").to_str().unwrap()]);
    assert!(
        ok && info.contains("dim 24  depth 3  heads 2 (head dim 12)"),
        "{info}"
    );
    // A resumed run keeps its saved shape.
    let (ok, msg) = whitebox(&[
        "train",
        "--dataset",
        "shapes",
        "--resume",
        o,
        "--depth",
        "4",
    ]);
    assert!(!ok && msg.contains("keeps its saved shape"), "{msg}");
    let _ = std::fs::remove_dir_all(&dir);
    // The width must split into the heads.
    let (ok, msg) = whitebox(&[
        "train",
        "--dataset",
        "shapes",
        "--dim",
        "30",
        "--heads",
        "4",
    ]);
    assert!(!ok && msg.contains("not a multiple of heads"), "{msg}");
}
