//! `whitebox forward --json --resize none` against an independent run of the official PyTorch
//! CRATE architecture (`tools/official_check.py`) on official-format weights and real photos:
//! logits and both R^c within 1e-3 relative, sparsity within 2e-3, on the CPU engine and on the
//! WGSL engine.

use crate::common;

use std::process::Command;

use common::*;
use serde_json::Value;
use whitebox::CrateConfig;

fn forward_json(weights: &std::path::Path, image: &std::path::Path, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_whitebox"))
        .args(["forward", "--json", "--resize", "none", "--weights"])
        .arg(weights)
        .arg("--image")
        .arg(image)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "forward failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON line per image");
    serde_json::from_str(text.trim()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn rel(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-12);
    got.iter()
        .zip(want)
        .fold(0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

fn compare(got: &Value, want: &Value) {
    let e = rel(&floats(&got["logits"]), &floats(&want["logits"]));
    eprintln!("logits: relative error {e:.2e}");
    assert!(e <= 1e-3, "logits: relative error {e:.2e}");
    let layers = got["layers"].as_array().unwrap();
    let col = |k: &str| {
        layers
            .iter()
            .map(|l| l[k].as_f64().unwrap())
            .collect::<Vec<_>>()
    };
    for key in ["rc_in", "rc_out"] {
        let w = floats(&want[key]);
        let worst = col(key)
            .iter()
            .zip(&w)
            .fold(0f64, |m, (g, w)| m.max((g - w).abs() / w.abs()));
        eprintln!("{key}: worst relative error {worst:.2e}");
        for (l, (g, w)) in col(key).iter().zip(&w).enumerate() {
            assert!(
                (g - w).abs() <= 1e-3 * w.abs(),
                "{key} layer {l}: {g} vs {w}"
            );
        }
    }
    for (l, (g, w)) in col("sparsity")
        .iter()
        .zip(&floats(&want["sparsity"]))
        .enumerate()
    {
        assert!((g - w).abs() <= 2e-3, "sparsity layer {l}: {g} vs {w}");
    }
    let e = rel(
        &floats(&got["attention_mean"]),
        &floats(&want["attention_mean"]),
    );
    assert!(e <= 1e-3, "attention_mean: relative error {e:.2e}");
    assert_eq!(got["top5"].as_array().unwrap().len(), 5);
}

fn small32(engine: &str) {
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("official/small32.expected.json")).unwrap(),
    )
    .unwrap();
    let got = forward_json(
        &fixture("official/small32.pth"),
        &fixture("official/astronaut-32.png"),
        &["--heads", "4", "--engine", engine],
    );
    assert_eq!(got["engine"], engine);
    compare(&got, &want);
}

#[test]
fn nested_pth_with_module_prefix_matches_official_pytorch() {
    small32("cpu");
}

/// The WGSL engine (lavapipe here; fails, not skips, without an adapter).
#[test]
fn gpu_nested_pth_matches_official_pytorch() {
    small32("gpu");
}

#[test]
fn crate_t_safetensors_matches_official_pytorch_at_224() {
    crate_t("cpu");
}

#[test]
fn gpu_crate_t_safetensors_matches_official_pytorch_at_224() {
    crate_t("gpu");
}

fn crate_t(engine: &str) {
    let cfg = CrateConfig::preset("crate-t").unwrap();
    let model = whitebox::Model::new(cfg.clone(), golden_params(&cfg, 2024)).unwrap();
    let dir = std::env::temp_dir().join(format!("wb-official-{}-{engine}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("crate-t-2024.safetensors");
    std::fs::write(
        &path,
        whitebox::model::io::model_to_safetensors(&model).unwrap(),
    )
    .unwrap();
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("official/crate-t-224.expected.json")).unwrap(),
    )
    .unwrap();
    let got = forward_json(
        &path,
        &fixture("official/astronaut-224.png"),
        &["--engine", engine],
    );
    assert_eq!(got["engine"], engine);
    std::fs::remove_dir_all(&dir).ok();
    compare(&got, &want);
}
