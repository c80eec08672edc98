//! `analysis::subspaces` on the bundled Fashion-MNIST model (`web/models/`) and the gallery's ten
//! Fashion-MNIST images: the report's invariants on a trained model, checked against the
//! Layers view's own numbers (`analysis::layer_stats`). Run with --nocapture for the per-head
//! numbers the Layers view cannot show.

use serde_json::Value;
use whitebox::analysis::layer_stats;
use whitebox::analysis::subspaces::{batch_report, subspace_report, SubspaceOptions};
use whitebox::cpu::CpuEngine;
use whitebox::{Engine, ForwardOptions, Tensor};

/// The bundled Fashion-MNIST model on the gallery's ten Fashion-MNIST images: the report's
/// invariants on a trained model, and (with --nocapture) the numbers the Layers view cannot
/// show: each head's share of the MSSA compression, how far the heads' subspaces are from
/// random ones, how much of each token lies in each subspace, and whether ISTA undoes the
/// compression against the same subspaces.
#[test]
fn bundled_fmnist_model_invariants_and_per_head_numbers() {
    use whitebox::analysis::subspaces::random_overlap;
    use whitebox::data::image::{load_input, Resize};
    use whitebox::model::init::init_params;
    use whitebox::model::io::load_model;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("web/models/crate-fmnist.safetensors")).unwrap();
    let model = load_model(&bytes, "crate-fmnist.safetensors", None)
        .unwrap()
        .model;
    let cfg = &model.config;
    let samples: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(root.join("web/samples/samples.json")).unwrap(),
    )
    .unwrap();
    let class_names = cfg.class_names.clone().unwrap();
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for s in samples.iter().filter(|s| s["kind"] == "fashion-mnist") {
        let f = s["file"].as_str().unwrap();
        let bytes = std::fs::read(root.join("web/samples").join(f)).unwrap();
        images.push(load_input(&bytes, f, cfg, [28, 28], Resize::None).unwrap());
        labels.push(class_names.iter().position(|c| c == &s["label"]).unwrap());
    }
    assert_eq!(images.len(), 10);
    let x = Tensor::stack(&images);
    let trace = CpuEngine::new(model.clone())
        .forward(
            &x,
            ForwardOptions {
                trace: true,
                ..Default::default()
            },
        )
        .unwrap()
        .trace
        .unwrap();
    let stats = layer_stats(&trace, cfg.heads);
    let (heads, d, b) = (cfg.heads, cfg.dim, images.len());
    let dh = d / heads;
    eprintln!("layer | per-head share of the MSSA drop in R^c (mean over images) | R^c out -> next (same subspaces) | overlap rms (random {:.3}) | captured per head (random {:.3})", random_overlap(dh, d), dh as f64 / d as f64);
    for l in 0..cfg.depth {
        let mut drop_share = vec![0.0; heads];
        let (mut out, mut next, mut captured) = (0.0, 0.0, vec![0.0; heads]);
        let mut ov = 0.0;
        for (i, per_layer) in stats.iter().enumerate() {
            let st = per_layer[l];
            let opts = SubspaceOptions {
                image: i,
                ..Default::default()
            };
            let r = subspace_report(&model.params, cfg, &trace, l, 0, &opts).unwrap();
            let c = &r.compression[l];
            let (tin, tout): (f64, f64) = (c.rc_in.iter().sum(), c.rc_out.iter().sum());
            assert!((tin - st.rc_in).abs() <= 1e-12 * tin);
            assert!((tout - st.rc_out).abs() <= 1e-12 * tout);
            for k in 0..heads {
                drop_share[k] += (c.rc_in[k] - c.rc_out[k]) / (tin - tout) / b as f64;
                captured[k] +=
                    r.energy.captured[k][1..].iter().sum::<f64>() / ((r.tokens - 1) * b) as f64;
            }
            out += tout / b as f64;
            next += r.rc_next.iter().sum::<f64>() / b as f64;
            for t in 0..r.tokens {
                let s: f64 = (0..heads).map(|k| r.energy.share[k][t]).sum();
                assert!((s - 1.0).abs() < 1e-12);
            }
            let codes = &r.codes;
            let hist: usize =
                codes.histogram.counts.iter().sum::<usize>() + codes.histogram.overflow;
            assert_eq!(hist + codes.zeros, codes.total);
            let nonzero = 1.0 - codes.zeros as f64 / codes.total as f64;
            assert!((nonzero - st.sparsity).abs() < 1e-12);
            assert_eq!(codes.nnz.iter().sum::<usize>(), codes.total - codes.zeros);
            assert_eq!(codes.usage.iter().sum::<usize>(), codes.total - codes.zeros);
            let o = &r.overlap;
            for k in 0..heads {
                assert!((o.matrix[k][k] - 1.0).abs() < 1e-9);
            }
            assert!(
                (o.union_sv.iter().map(|s| s * s).sum::<f64>() - (heads * dh) as f64).abs() < 1e-8
            );
            ov = o.offdiag_rms;
            assert!(serde_json::to_string(&r).unwrap().len() > 1000);
        }
        let f = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        eprintln!(
            "{l} | {} | {out:.1} -> {next:.1} | {ov:.3} | {}",
            f(&drop_share),
            f(&captured)
        );
    }
    let init = init_params(cfg, 0).unwrap();
    let u0 = &init
        .get("transformer.layers.0.0.fn.qkv.weight")
        .unwrap()
        .data;
    let o0 = whitebox::analysis::subspaces::overlap(u0, d, heads);
    eprintln!(
        "untrained init (seed 0) layer 0: overlap rms {:.3}",
        o0.offdiag_rms
    );
    let batch = batch_report(
        &model.params,
        cfg,
        &trace,
        cfg.depth - 1,
        0,
        &labels,
        &SubspaceOptions::default(),
    )
    .unwrap();
    assert_eq!(batch.classes.len(), 10);
    let r90: Vec<usize> = batch
        .classes
        .iter()
        .map(|c| c.spectra[cfg.depth].rank90)
        .collect();
    eprintln!(
        "per-class rank90 of the final tokens (of {}): {r90:?}",
        batch.tokens
    );
}

/// `whitebox subspaces` (the browser tests' reference for `#wb-subspace-report`) prints exactly
/// the library's report for the image it is given, per requested layer and head, and refuses a
/// layer or head the model does not have.
#[test]
fn subspaces_cli_prints_the_library_report() {
    use crate::common::cli::{fails, json_lines, ok};
    use whitebox::data::image::{load_input, Resize};
    use whitebox::model::io::load_model;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let weights = root.join("web/models/crate-fmnist.safetensors");
    let image = root.join("web/samples/fmnist-0019-t-shirt-top.png");
    let (w, i) = (weights.display().to_string(), image.display().to_string());
    let out = ok(&[
        "subspaces",
        "--weights",
        &w,
        "--image",
        &i,
        "--resize",
        "stretch",
        "--layer",
        "0,5",
        "--head",
        "1,3",
    ]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4);
    let model = load_model(&std::fs::read(&weights).unwrap(), "m", None)
        .unwrap()
        .model;
    let cfg = model.config.clone();
    let bytes = std::fs::read(&image).unwrap();
    let x = load_input(&bytes, "t", &cfg, cfg.image, Resize::Stretch).unwrap();
    let trace = CpuEngine::new(model.clone())
        .forward(
            &Tensor::stack(&[x]),
            ForwardOptions {
                trace: true,
                ..Default::default()
            },
        )
        .unwrap()
        .trace
        .unwrap();
    let opts = SubspaceOptions::default();
    for (n, (l, k)) in [(0, 1), (0, 3), (5, 1), (5, 3)].into_iter().enumerate() {
        let want = serde_json::to_value(
            subspace_report(&model.params, &cfg, &trace, l, k, &opts).unwrap(),
        )
        .unwrap();
        let mut got = lines[n].clone();
        assert_eq!(got["image_name"], Value::from(i.clone()));
        let obj = got.as_object_mut().unwrap();
        obj.remove("image_name");
        obj.remove("engine");
        same(&got, &want, &format!("layer {l} head {k}"));
    }
    let e = fails(&["subspaces", "--weights", &w, "--image", &i, "--layer", "6"]);
    assert!(e.contains("layer 6 out of range"), "{e}");
    let e = fails(&["subspaces", "--weights", &w, "--image", &i, "--head", "4"]);
    assert!(e.contains("head 4 out of range"), "{e}");
}

/// Equal JSON, numbers within 1e-12 relative (serde_json's float parsing may differ from the
/// printed value in the last bit).
fn same(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: keys differ");
            for (k, v) in y {
                same(&x[k], v, &format!("{at}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: lengths differ");
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                same(p, q, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(p), Value::Number(q)) => {
            let (p, q) = (p.as_f64().unwrap(), q.as_f64().unwrap());
            assert!(
                (p - q).abs() <= 1e-12 * q.abs().max(1e-300),
                "{at}: {p} != {q}"
            );
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}
