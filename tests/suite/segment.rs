//! `whitebox segment` (issue 13, part 2): the scoring module equals the NumPy reference
//! (tools/segment_ref.py writes tests/fixtures/segment/small.json), and the CLI runs end to end on
//! generated shapes and on a folder of image + mask pairs, with clear errors for bad pairs.

use crate::common;

use std::path::Path;

use common::cli::{fails, ok};
use common::{fixture, TempDir};
use serde_json::Value;
use whitebox::analysis::maps::{cls_rows_of, mass_mask, mean_map};
use whitebox::analysis::segment::{
    fit_mask, majority_patch_mask, map_ious, patch_truth_mask, SegmentScorer, TruthRule,
};
use whitebox::data::batch::images_to_tensor;
use whitebox::data::image::Resize;
use whitebox::data::synthetic::{ShapesConfig, ShapesDataset};
use whitebox::{Engine, ForwardOptions};

fn bools(v: &Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() != 0)
        .collect()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9, "{what}: rust {a} vs numpy {b}");
}

#[test]
fn scores_equal_the_numpy_reference() {
    let path = fixture("segment/small.json");
    let f: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let size = [0, 1].map(|i| f["size"][i].as_u64().unwrap() as usize);
    let patch = f["patch"].as_u64().unwrap() as usize;
    let (layers, heads) = (
        f["layers"].as_u64().unwrap() as usize,
        f["heads"].as_u64().unwrap() as usize,
    );
    let mass = f["mass"].as_f64().unwrap() as f32;
    assert_eq!(mass, 0.6f32);
    let grid: Vec<f64> = f["grid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(grid, whitebox::analysis::segment::threshold_grid());
    let mut scorer = SegmentScorer::new(layers, heads, mass);
    for img in f["images"].as_array().unwrap() {
        let name = img["name"].as_str().unwrap();
        let msize = [0, 1].map(|i| img["mask_size"][i].as_u64().unwrap() as usize);
        let resize: Resize = img["resize"].as_str().unwrap().parse().unwrap();
        let (fitted, [h, w]) = fit_mask(&bools(&img["mask"]), msize, size, resize).unwrap();
        let truth = majority_patch_mask(&fitted, h, w, patch);
        assert_eq!(truth, bools(&img["truth"]), "{name}: patch truth");
        for (rule, key) in [
            (TruthRule::Any, "truth_any"),
            (TruthRule::Outline, "truth_outline"),
        ] {
            assert_eq!(
                patch_truth_mask(&fitted, h, w, patch, rule),
                bools(&img[key]),
                "{name}: {key}"
            );
        }
        let cls: Vec<Vec<Vec<f32>>> = img["cls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_array().unwrap().iter().map(f32s).collect())
            .collect();
        for (l, rows) in cls.iter().enumerate() {
            let mean = mean_map(rows);
            for (k, map) in rows.iter().chain(std::iter::once(&mean)).enumerate() {
                let at = format!("{name}: layer {l} map {k}");
                assert_eq!(
                    mass_mask(map, mass),
                    bools(&img["mass_masks"][l][k]),
                    "{at}: mass mask"
                );
                let (m, g) = map_ious(map, &truth, mass, &grid);
                close(m, img["iou_mass"][l][k].as_f64().unwrap(), &at);
                for (t, v) in g.iter().enumerate() {
                    close(*v, img["iou_grid"][l][k][t].as_f64().unwrap(), &at);
                }
            }
        }
        scorer.add(&cls, &truth).unwrap();
    }
    let s = scorer.finish();
    let e = &f["expected"];
    for (l, ls) in s.layers.iter().enumerate() {
        for (k, m) in ls.heads.iter().chain(std::iter::once(&ls.mean)).enumerate() {
            let x = &e["layers"][l][k];
            let at = format!("layer {l} map {k}");
            close(m.miou_mass, x["miou_mass"].as_f64().unwrap(), &at);
            close(m.miou_best, x["miou_best"].as_f64().unwrap(), &at);
            close(m.object_share, x["object_share"].as_f64().unwrap(), &at);
            assert_eq!(
                m.best_threshold,
                x["best_threshold"].as_f64().unwrap(),
                "{at}"
            );
        }
    }
    close(s.mask_area, e["mask_area"].as_f64().unwrap(), "mask area");
    close(
        s.all_foreground_miou,
        e["all_foreground_miou"].as_f64().unwrap(),
        "all-foreground",
    );
    assert_eq!(
        s.best_layer_mass as u64,
        e["best_layer_mass"].as_u64().unwrap()
    );
    assert_eq!(
        s.best_layer_fixed as u64,
        e["best_layer_fixed"].as_u64().unwrap()
    );
}

fn bundled() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("web/models/crate-fmnist.safetensors")
        .display()
        .to_string()
}

/// `whitebox segment --weights W ARGS… --json`, parsed.
fn segment_json(weights: &str, args: &[&str]) -> Value {
    let mut all = vec!["segment", "--weights", weights];
    all.extend_from_slice(args);
    all.push("--json");
    serde_json::from_str(&ok(&all)).unwrap()
}

/// A bright square on a dark striped background, and its mask.
fn write_pair(dir: &Path, name: &str, w: u32, h: u32, mask_size: (u32, u32)) {
    let inside = |x: u32, y: u32| x >= w / 4 && x < w / 2 + 4 && y >= h / 3 && y < h * 3 / 4;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        if inside(x, y) {
            image::Rgb([230, 220, 210])
        } else if (x / 3) % 2 == 0 {
            image::Rgb([30, 40, 50])
        } else {
            image::Rgb([70, 60, 50])
        }
    });
    img.save(dir.join(format!("{name}.png"))).unwrap();
    let (mw, mh) = mask_size;
    let mask = image::GrayImage::from_fn(mw, mh, |x, y| image::Luma([255 * inside(x, y) as u8]));
    mask.save(dir.join(format!("{name}.mask.png"))).unwrap();
}

#[test]
fn segment_pairs_prints_tables_and_json_and_names_bad_files() {
    let dir = TempDir::new("seg-pairs");
    write_pair(&dir.0, "a", 40, 36, (40, 36));
    write_pair(&dir.0, "b", 56, 56, (56, 56));
    let w = bundled();
    let text = ok(&["segment", "--weights", &w, "--pairs", &dir.s()]);
    assert!(text.contains("mIoU of the mass-threshold mask"), "{text}");
    assert!(text.contains("oracle upper bound"), "{text}");
    assert!(text.contains("best layer (head mean)"), "{text}");
    assert!(text.contains("share of the CLS attention mass"), "{text}");
    let v = segment_json(&w, &["--pairs", &dir.s()]);
    let s = &v["scores"];
    assert_eq!(s["images"], 2);
    assert_eq!(v["files"].as_array().unwrap().len(), 2);
    let layers = s["layers"].as_array().unwrap();
    assert!(!layers.is_empty());
    // The three tables list every layer: a row starting with the layer index, three times.
    for l in 0..layers.len() {
        let rows = text
            .lines()
            .filter(|r| r.split_whitespace().next() == Some(&l.to_string()))
            .count();
        assert_eq!(rows, 3, "layer {l} rows in\n{text}");
    }
    for l in layers {
        for m in l["heads"].as_array().unwrap().iter().chain([&l["mean"]]) {
            for key in ["miou_mass", "miou_best", "object_share"] {
                let x = m[key].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&x), "{key} {x}");
            }
            // The chosen threshold is one of the grid's.
            let t = m["best_threshold"].as_f64().unwrap();
            assert!(
                whitebox::analysis::segment::threshold_grid().contains(&t),
                "{t}"
            );
        }
    }
    assert_eq!(v["grids"][0], serde_json::json!([7, 7]));
    let area = s["mask_area"].as_f64().unwrap();
    assert!(area > 0.05 && area < 0.6, "mask area {area}");

    // A missing mask is named.
    write_pair(&dir.0, "c", 30, 30, (30, 30));
    std::fs::remove_file(dir.0.join("c.mask.png")).unwrap();
    let err = fails(&["segment", "--weights", &w, "--pairs", &dir.s()]);
    assert!(err.contains("c.png") && err.contains("no mask"), "{err}");
    // A mask of another size is named.
    write_pair(&dir.0, "c", 30, 30, (31, 30));
    let err = fails(&["segment", "--weights", &w, "--pairs", &dir.s()]);
    assert!(err.contains("c.mask.png") && err.contains("31x30"), "{err}");
    // An undecodable image is named.
    std::fs::write(dir.0.join("c.png"), b"not a png").unwrap();
    let err = fails(&["segment", "--weights", &w, "--pairs", &dir.s()]);
    assert!(err.contains("c.png"), "{err}");
    // No pairs at all.
    let empty = TempDir::new("seg-empty");
    let err = fails(&["segment", "--weights", &w, "--pairs", &empty.s()]);
    assert!(err.contains("no NAME.png"), "{err}");
}

/// The CLI's shapes scores equal the library's on the same generated images through the CPU
/// engine's full attention (the trace path, not the `cls` rows the CLI asks for).
#[test]
fn segment_shapes_equals_the_library_on_the_trace_path() {
    let w = bundled();
    let v = segment_json(
        &w,
        &[
            "--dataset",
            "shapes",
            "--images",
            "6",
            "--seed",
            "4",
            "--batch",
            "4",
        ],
    );
    let bytes = std::fs::read(&w).unwrap();
    let model = whitebox::model::io::load_model(&bytes, "m", None)
        .unwrap()
        .model;
    let cfg = model.config.clone();
    let ds = ShapesDataset::new(ShapesConfig::for_model(&cfg, 6, 4)).unwrap();
    let samples: Vec<_> = (0..6).map(|i| ds.sample(i)).collect();
    let imgs: Vec<_> = samples.iter().map(|s| s.image.clone()).collect();
    let x = images_to_tensor(&imgs, &cfg).unwrap();
    let mut engine = whitebox::cpu::CpuEngine::new(model);
    let out = engine
        .forward(
            &x,
            ForwardOptions {
                trace: true,
                attention: true,
                ..Default::default()
            },
        )
        .unwrap();
    let trace = out.trace.unwrap();
    let [h, w] = cfg.image;
    let nt = (h / cfg.patch) * (w / cfg.patch) + 1;
    let mut scorer = SegmentScorer::new(cfg.depth, cfg.heads, 0.6);
    for (i, s) in samples.iter().enumerate() {
        let rows: Vec<Vec<Vec<f32>>> = trace
            .layers
            .iter()
            .map(|lt| {
                let a = lt.attn.as_ref().unwrap();
                let per = cfg.heads * nt * nt;
                whitebox::analysis::cls_rows(&a.data[i * per..(i + 1) * per], cfg.heads, nt)
            })
            .collect();
        let mask: Vec<bool> = s.mask.iter().map(|&m| m != 0).collect();
        scorer
            .add(&rows, &majority_patch_mask(&mask, h, w, cfg.patch))
            .unwrap();
    }
    let lib = serde_json::to_value(scorer.finish()).unwrap();
    let cli = &v["scores"];
    assert_eq!(cli["images"], 6);
    for (a, b) in [
        (&cli["mask_area"], &lib["mask_area"]),
        (&cli["all_foreground_miou"], &lib["all_foreground_miou"]),
    ] {
        assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-12);
    }
    for l in 0..cfg.depth {
        for k in 0..=cfg.heads {
            let pick = |s: &Value| {
                if k == cfg.heads {
                    s["layers"][l]["mean"].clone()
                } else {
                    s["layers"][l]["heads"][k].clone()
                }
            };
            let (a, b) = (pick(cli), pick(&lib));
            for key in ["miou_mass", "miou_best", "object_share"] {
                let (x, y) = (a[key].as_f64().unwrap(), b[key].as_f64().unwrap());
                assert!((x - y).abs() < 1e-9, "layer {l} map {k} {key}: {x} vs {y}");
            }
        }
    }
    // The cls rows the CLI reads are the same numbers as the trace's (checked through the scores
    // above); the rows helper agrees with the full-attention helper on a toy example too.
    let toy = [0.1f32, 0.5, 0.4, 0.2, 0.3, 0.5];
    assert_eq!(
        cls_rows_of(&toy, 2, 3),
        vec![vec![0.5, 0.4], vec![0.3, 0.5]]
    );
}

/// `segment --engine gpu` scores what `--engine cpu` does. The CLS rows differ by float rounding
/// only, which can flip a patch that sits exactly at a mask's edge: allow one image's IoU to move
/// fully (1 / images), far below what wrong rows would do. Needs a wgpu adapter (lavapipe in
/// CI); fails, never skips, when there is none.
#[test]
fn segment_on_gpu_matches_cpu() {
    let w = bundled();
    let run = |engine: &str| {
        segment_json(
            &w,
            &["--dataset", "shapes", "--images", "40", "--engine", engine],
        )
    };
    let (cpu, gpu) = (run("cpu"), run("gpu"));
    assert_eq!(gpu["engine"], "gpu");
    let (c, g) = (&cpu["scores"], &gpu["scores"]);
    let layers = c["layers"].as_array().unwrap().len();
    let mut worst = 0.0f64;
    for l in 0..layers {
        let (cl, gl) = (&c["layers"][l], &g["layers"][l]);
        let maps = |x: &Value| -> Vec<Value> {
            let mut v = x["heads"].as_array().unwrap().clone();
            v.push(x["mean"].clone());
            v
        };
        for (a, b) in maps(cl).iter().zip(maps(gl)) {
            for key in ["miou_mass", "miou_best"] {
                worst = worst.max((a[key].as_f64().unwrap() - b[key].as_f64().unwrap()).abs());
            }
            // The share needs no threshold: float rounding moves it by far less.
            let share = |x: &Value| x["object_share"].as_f64().unwrap();
            let d = (share(a) - share(&b)).abs();
            assert!(d < 1e-4, "cpu vs gpu object share differ by {d}");
        }
    }
    assert!(worst <= 1.0 / 40.0, "cpu vs gpu mIoU differ by {worst}");
    assert_eq!(c["mask_area"], g["mask_area"]);
}

/// `dataset shapes` writes the very images and masks `segment --dataset shapes` generates: scoring
/// the written pairs (stretched, the identity at the model's size) gives the same numbers, at a
/// non-default object scale; bad scales are refused.
#[test]
fn dataset_shapes_pairs_score_like_the_generated_shapes() {
    let w = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("web/models/crate-shapes.safetensors")
        .display()
        .to_string();
    let dir = TempDir::new("seg-shapes-pairs");
    let listed = ok(&[
        "dataset",
        "shapes",
        "--out",
        &dir.s(),
        "--size",
        "64",
        "--seed",
        "77",
        "--count",
        "4",
        "--object-scale",
        "0.4,0.7",
    ]);
    assert_eq!(listed.lines().count(), 4, "{listed}");
    // The same four images, from the pairs and generated, with `extra` flags.
    let d = dir.s();
    let from_pairs = |extra: &[&str]| {
        let mut args = vec!["--pairs", d.as_str(), "--resize", "stretch"];
        args.extend_from_slice(extra);
        segment_json(&w, &args)
    };
    let generated = |extra: &[&str]| {
        let mut args = vec![
            "--dataset",
            "shapes",
            "--images",
            "4",
            "--seed",
            "77",
            "--object-scale",
            "0.4, 0.7",
        ];
        args.extend_from_slice(extra);
        segment_json(&w, &args)
    };
    let (p, g) = (from_pairs(&[]), generated(&[]));
    assert_eq!(p["scores"], g["scores"]);
    assert_eq!(p["scores"]["images"], 4);
    assert_eq!(g["truth"], "majority");
    // The other truths (the object's extent, its outline) go through both paths alike; the
    // extent holds the majority patches and more, the outline is what the extent adds to the
    // patches that are wholly object.
    let area = |v: &Value| v["scores"]["mask_area"].as_f64().unwrap();
    let mut areas = vec![area(&g)];
    for rule in ["any", "outline"] {
        let (p, r) = (
            from_pairs(&["--truth", rule]),
            generated(&["--truth", rule]),
        );
        assert_eq!(p["scores"], r["scores"], "{rule}");
        assert_eq!(r["truth"], rule);
        areas.push(area(&r));
    }
    let [majority, any, outline] = areas[..] else {
        unreachable!()
    };
    assert!(
        any > majority && outline > 0.0 && outline < any,
        "{areas:?}"
    );
    // Another scale gives other images (the knob is wired through).
    let other = segment_json(
        &w,
        &["--dataset", "shapes", "--images", "4", "--seed", "77"],
    );
    assert_ne!(other["scores"]["mask_area"], g["scores"]["mask_area"]);
    for bad in ["0.9,0.5", "0,0.5", "0.5", "0.5,1.5", "a,b"] {
        let err = fails(&[
            "segment",
            "--weights",
            &w,
            "--dataset",
            "shapes",
            "--object-scale",
            bad,
        ]);
        assert!(err.contains("MIN,MAX"), "{bad}: {err}");
    }
    let err = fails(&["train", "--dataset", "fmnist", "--object-scale", "0.5,0.9"]);
    assert!(err.contains("--dataset shapes only"), "{err}");
    let err = fails(&["train", "--dataset", "fmnist", "--object-fill", "class"]);
    assert!(err.contains("--dataset shapes only"), "{err}");

    // Objects filled with their class's pattern (the same masks, so the same truth area), and
    // objects whose pattern alone is the class (named by it, on shapes drawn at random; also
    // tiled on the image grid): written and generated alike, other images than flat ones.
    for fill in ["class", "surface", "tiled"] {
        let patterned = TempDir::new(&format!("seg-shapes-{fill}"));
        let pd = patterned.s();
        let args = [
            "--seed",
            "77",
            "--object-scale",
            "0.4,0.7",
            "--object-fill",
            fill,
        ];
        let mut write = vec!["dataset", "shapes", "--out", pd.as_str(), "--size", "64"];
        write.extend_from_slice(&["--count", "4"]);
        write.extend_from_slice(&args);
        let listed = ok(&write);
        let names: Vec<&str> = listed.lines().collect();
        let classes = match fill {
            "class" => ["circle", "square", "triangle", "cross"],
            "surface" => ["dots", "grid", "speckle", "blobs"],
            _ => ["dots", "grid", "blobs", "crosses"],
        };
        for (i, (name, class)) in names.iter().zip(classes).enumerate() {
            assert!(name.ends_with(&format!("-{i:04}-{class}.png")), "{name}");
        }
        let p = segment_json(&w, &["--pairs", pd.as_str(), "--resize", "stretch"]);
        let mut gen = vec!["--dataset", "shapes", "--images", "4"];
        gen.extend_from_slice(&args);
        let c = segment_json(&w, &gen);
        assert_eq!(p["scores"], c["scores"], "{fill}");
        assert_ne!(
            c["scores"], g["scores"],
            "{fill}: the fill option changed nothing"
        );
        if fill == "class" {
            assert_eq!(c["scores"]["mask_area"], g["scores"]["mask_area"]);
        }
    }
}
