//! Attention rollout and the heads' colour overlay (issue 13 item 4) against the NumPy reference
//! (tools/rollout_ref.py writes tests/fixtures/rollout/small.json), and the rollout in
//! `whitebox forward --json` against the library on the CPU engine's trace.

use crate::common;

use common::fixture;
use serde_json::Value;
use whitebox::analysis::{cls_rollout, head_masks, winning_heads};

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn rollout_masks_and_winners_equal_the_numpy_reference() {
    let fx: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("rollout/small.json")).unwrap())
            .unwrap();
    let (layers, heads, nt) = (
        fx["layers"].as_u64().unwrap() as usize,
        fx["heads"].as_u64().unwrap() as usize,
        fx["tokens"].as_u64().unwrap() as usize,
    );
    let attn = f32s(&fx["attention"]);
    let per = heads * nt * nt;
    let slices: Vec<&[f32]> = (0..layers).map(|l| &attn[l * per..(l + 1) * per]).collect();
    let got = cls_rollout(&slices, heads, nt);
    let mut worst = 0.0f64;
    for (l, want) in fx["rollout"].as_array().unwrap().iter().enumerate() {
        let want = f32s(want);
        assert_eq!(got[l].len(), nt - 1);
        for (g, w) in got[l].iter().zip(&want) {
            worst = worst.max(((g - w).abs() / w.abs().max(1e-6)) as f64);
        }
    }
    eprintln!("rollout: max relative difference {worst:.2e}");
    assert!(worst < 1e-5, "rollout differs from NumPy by {worst}");
    let t = fx["mass"].as_f64().unwrap() as f32;
    for (l, want) in fx["per_layer"].as_array().unwrap().iter().enumerate() {
        let rows = whitebox::analysis::cls_rows(slices[l], heads, nt);
        let masks = head_masks(&rows, t);
        let want_masks: Vec<Vec<bool>> = want["masks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                m.as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b.as_bool().unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(masks, want_masks, "layer {l}: head masks");
        let winners: Vec<i64> = winning_heads(&rows, &masks)
            .into_iter()
            .map(|w| w.map_or(-1, |k| k as i64))
            .collect();
        let want_w: Vec<i64> = want["winners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        assert_eq!(winners, want_w, "layer {l}: winning heads");
    }
}

#[test]
fn forward_json_prints_the_last_layers_rollout() {
    use whitebox::cpu::CpuEngine;
    use whitebox::data::image::{decode_image, preprocess, DecodeLimits, Resize};
    use whitebox::{Engine, ForwardOptions};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let weights = root.join("web/models/crate-fmnist.safetensors");
    let model = whitebox::model::io::load_model(
        &std::fs::read(&weights).unwrap(),
        "crate-fmnist.safetensors",
        None,
    )
    .unwrap()
    .model;
    let image = root.join("web/samples/fmnist-0000-ankle-boot.png");
    let out = common::cli::ok(&[
        "forward",
        "--json",
        "--resize",
        "stretch",
        "--weights",
        weights.to_str().unwrap(),
        "--image",
        image.to_str().unwrap(),
    ]);
    let line: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let printed = f32s(&line["rollout"]);
    // The same image through the library: decode, fit, forward with attention, rollout.
    let cfg = model.config.clone();
    let decoded = decode_image(
        &std::fs::read(&image).unwrap(),
        "ankle-boot.png",
        &DecodeLimits::default(),
    )
    .unwrap();
    let input = preprocess(&decoded, &cfg, cfg.image, Resize::Stretch).unwrap();
    let mut cpu = CpuEngine::new(model);
    let fw = cpu
        .forward(
            &whitebox::Tensor::stack(std::slice::from_ref(&input)),
            ForwardOptions {
                trace: true,
                attention: true,
                ..ForwardOptions::default()
            },
        )
        .unwrap();
    let trace = fw.trace.unwrap();
    let nt = trace.layers[0].z.shape[1];
    let slices: Vec<&[f32]> = trace
        .layers
        .iter()
        .map(|lt| lt.attn.as_ref().unwrap().data.as_slice())
        .collect();
    let want = cls_rollout(&slices, cfg.heads, nt).pop().unwrap();
    assert_eq!(printed.len(), want.len());
    for (p, w) in printed.iter().zip(&want) {
        assert!((p - w).abs() <= 1e-6 * w.abs().max(1e-3), "{p} vs {w}");
    }
    let mass: f32 = printed.iter().sum();
    assert!(
        mass > 0.0 && mass < 1.0,
        "the patches' share of the rollout: {mass}"
    );
}
