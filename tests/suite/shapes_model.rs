//! The bundled shapes models (`web/models/crate-shapes.*`: flat objects, the class in the
//! outline; `web/models/crate-tiles.*`: the class in a surface pattern tiled on the image grid;
//! issue 13 item 1) are what their cards say: from the committed weights, classification accuracy
//! and the segmentation scores (mIoU of the 60 % mass-threshold mask of the CLS attention against
//! the true masks, per layer and head) on the card's fixed, seeded held-out images reproduce
//! within a small tolerance; accuracy meets the target (≥ 0.95); the tiles model's best
//! layer meets the mIoU target (≥ 0.5, mean over heads), the shapes model's only beats the
//! all-foreground baseline (its card says so). The gallery's shapes and tiles are the held-out
//! images the cards name, with their true masks.

use std::path::PathBuf;

use serde_json::Value;
use whitebox::analysis::maps::cls_rows_of;
use whitebox::analysis::segment::{majority_patch_mask, SegmentScorer, SegmentScores};
use whitebox::data::batch::images_to_tensor;
use whitebox::data::image::{decode_image, DecodeLimits};
use whitebox::data::synthetic::{Fill, ShapesConfig, ShapesDataset};
use whitebox::model::io::load_model;
use whitebox::train::{TrainConfig, Trainer};
use whitebox::{Engine, ForwardOptions, Model};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model_and_card(name: &str) -> (Model, Value) {
    let dir = root().join("web/models");
    let file = format!("{name}.safetensors");
    let bytes = std::fs::read(dir.join(&file)).unwrap();
    let model = load_model(&bytes, &file, None).unwrap().model;
    let card: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
            .unwrap();
    assert_eq!(card["name"], name);
    (model, card)
}

/// The card's held-out images: `count` samples of the seeded split at the card's object scale
/// and fill.
fn held_out(model: &Model, card: &Value, count: usize) -> ShapesDataset {
    let r = &card["reproduce"];
    let scale = r["object_scale"].as_array().unwrap();
    let scale = [0, 1].map(|i| scale[i].as_f64().unwrap() as f32);
    let seed = r["seed"].as_u64().unwrap();
    let fill = r["object_fill"].as_str().unwrap();
    let fill = Fill::from_name(fill).unwrap_or_else(|| panic!("unknown fill {fill}"));
    ShapesDataset::new(
        ShapesConfig::for_model(&model.config, count, seed)
            .with_scale(Some(scale))
            .with_fill(fill),
    )
    .unwrap()
}

fn scores(model: &Model, ds: &ShapesDataset) -> SegmentScores {
    let cfg = &model.config;
    let [h, w] = cfg.image;
    let nt = (h / cfg.patch) * (w / cfg.patch) + 1;
    let mut engine = whitebox::cpu::CpuEngine::new(model.clone());
    let mut scorer = SegmentScorer::new(cfg.depth, cfg.heads, 0.6);
    let n = ds.config.len;
    for start in (0..n).step_by(50) {
        let samples: Vec<_> = (start..(start + 50).min(n)).map(|i| ds.sample(i)).collect();
        let imgs: Vec<_> = samples.iter().map(|s| s.image.clone()).collect();
        let x = images_to_tensor(&imgs, cfg).unwrap();
        let out = engine
            .forward(
                &x,
                ForwardOptions {
                    cls: true,
                    ..Default::default()
                },
            )
            .unwrap();
        let cls = out.cls.unwrap();
        let per = cfg.heads * nt;
        for (i, s) in samples.iter().enumerate() {
            let rows: Vec<Vec<Vec<f32>>> = cls
                .iter()
                .map(|t| cls_rows_of(&t.data[i * per..(i + 1) * per], cfg.heads, nt))
                .collect();
            let mask: Vec<bool> = s.mask.iter().map(|&m| m != 0).collect();
            scorer
                .add(&rows, &majority_patch_mask(&mask, h, w, cfg.patch))
                .unwrap();
        }
    }
    scorer.finish()
}

/// Checks `name`'s card against its committed weights (classes named `classes`) and returns the
/// recomputed scores and the card's reproduce section.
fn reproduces_its_card(name: &str, classes: [&str; 5]) -> (SegmentScores, Value) {
    let (model, card) = model_and_card(name);
    let cfg = model.config.clone();
    assert_eq!((cfg.image, cfg.channels, cfg.classes), ([64, 64], 3, 5));
    assert_eq!(cfg.class_names.as_deref().unwrap(), classes);
    let r = &card["reproduce"];

    // Accuracy on the card's fixed held-out images.
    let n = r["accuracy_images"].as_u64().unwrap() as usize;
    let ds = held_out(&model, &card, n);
    let t = Trainer::new(cfg.clone(), &model.params, TrainConfig::new(1, 1, 0), 1).unwrap();
    let ev = t.evaluate(&ds, None).unwrap();
    let claimed = r["accuracy"].as_f64().unwrap();
    eprintln!("accuracy {} on {n} (card {claimed})", ev.accuracy);
    assert!(ev.accuracy >= 0.95, "accuracy {}", ev.accuracy);
    assert!(
        (ev.accuracy - claimed).abs() <= 0.005,
        "accuracy {} but the card says {claimed}",
        ev.accuracy
    );

    // Segmentation scores, every layer and head, on the card's first images.
    let n = r["segment_images"].as_u64().unwrap() as usize;
    let s = scores(&model, &held_out(&model, &card, n));
    let table = r["layers"].as_array().unwrap();
    assert_eq!(table.len(), cfg.depth);
    for (l, (got, want)) in s.layers.iter().zip(table).enumerate() {
        let heads = want["heads"].as_array().unwrap();
        for (k, (g, w)) in got.heads.iter().zip(heads).enumerate() {
            let w = w.as_f64().unwrap();
            assert!(
                (g.miou_mass - w).abs() <= 0.01,
                "layer {l} head {k}: mIoU {} but the card says {w}",
                g.miou_mass
            );
        }
        let w = want["head_mean_map"].as_f64().unwrap();
        assert!(
            (got.mean.miou_mass - w).abs() <= 0.01,
            "layer {l} head-mean map: mIoU {} but the card says {w}",
            got.mean.miou_mass
        );
    }
    (s, r.clone())
}

#[test]
fn shapes_model_reproduces_its_card() {
    let (s, r) = reproduces_its_card(
        "crate-shapes",
        ["circle", "square", "triangle", "cross", "ring"],
    );
    let best = r["best_layer"].as_u64().unwrap() as usize;
    // The target (≥ 0.5 at the best layer) is not met by flat objects (see the card):
    // what holds is that the best layer's map beats marking every patch as object.
    let best_miou = s.layers[best].mean.miou_mass;
    eprintln!(
        "best layer {best}: head-mean map mIoU {best_miou}, all-foreground {}",
        s.all_foreground_miou
    );
    assert!(
        best_miou > s.all_foreground_miou + 0.05,
        "mIoU {best_miou} hardly beats marking every patch ({})",
        s.all_foreground_miou
    );
}

#[test]
fn tiles_model_reproduces_its_card_and_meets_the_target() {
    let (s, r) = reproduces_its_card(
        "crate-tiles",
        ["dots", "grid", "blobs", "crosses", "frames"],
    );
    // The target: at the best layer by the mean over heads (chosen on other images, see
    // the card), the heads' mIoU averages at least 0.5.
    let best = r["best_layer_mean_over_heads"].as_u64().unwrap() as usize;
    let heads = &s.layers[best].heads;
    let mean = heads.iter().map(|h| h.miou_mass).sum::<f64>() / heads.len() as f64;
    eprintln!(
        "best layer {best}: mean over heads {mean}, all-foreground {}",
        s.all_foreground_miou
    );
    assert!(mean >= 0.5, "mean over heads {mean} at layer {best}");
}

#[test]
fn gallery_shapes_are_the_held_out_images_with_their_masks() {
    gallery_images_are_held_out("crate-shapes", "shapes");
    gallery_images_are_held_out("crate-tiles", "tiles");
}

/// The gallery's images of `kind` are the first held-out images of `name`'s card, one per class.
fn gallery_images_are_held_out(name: &str, kind: &str) {
    let (model, card) = model_and_card(name);
    let samples: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(root().join("web/samples/samples.json")).unwrap(),
    )
    .unwrap();
    let shapes: Vec<&Value> = samples.iter().filter(|s| s["kind"] == kind).collect();
    assert_eq!(shapes.len(), 5, "one gallery {kind} image per class");
    let ds = held_out(&model, &card, shapes.len());
    let names = ds.class_names();
    let limits = DecodeLimits::default();
    for (i, s) in shapes.iter().enumerate() {
        let file = s["file"].as_str().unwrap();
        let mask = s["mask"].as_str().unwrap();
        let want = ds.sample(i);
        assert_eq!(s["label"], names[want.label].as_str(), "{file}");
        let read = |f: &str| {
            let b = std::fs::read(root().join("web/samples").join(f)).unwrap();
            decode_image(&b, f, &limits).unwrap()
        };
        let img = read(file);
        assert_eq!(
            img.rgb, want.image.pixels,
            "{file} is not held-out image {i}"
        );
        let m = read(mask);
        let on: Vec<u8> = m
            .rgb
            .chunks_exact(3)
            .map(|p| (p != [0, 0, 0]) as u8)
            .collect();
        assert_eq!(on, want.mask, "{mask} is not image {i}'s true mask");
    }
}
