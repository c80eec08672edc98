//! The page's training session (`whitebox::train::session`) against `whitebox train`: the same
//! dataset, seed and settings give the same weights, and `--steps N` stops after N steps.

use crate::common;

use common::cli::{fails, ok};
use common::train::tmp;
use whitebox::model::io::load_model_file;
use whitebox::train::session::{SessionSettings, TrainSession};

/// Largest |a - b| over the largest |b|, over every tensor.
fn relative_difference(a: &whitebox::model::Params, b: &whitebox::model::Params) -> f64 {
    assert_eq!(
        a.tensors.keys().collect::<Vec<_>>(),
        b.tensors.keys().collect::<Vec<_>>()
    );
    let (mut diff, mut scale) = (0f64, 0f64);
    for (k, ta) in &a.tensors {
        let tb = &b.tensors[k];
        assert_eq!(ta.shape, tb.shape, "{k}");
        for (x, y) in ta.data.iter().zip(&tb.data) {
            diff = diff.max((x - y).abs() as f64);
            scale = scale.max(y.abs() as f64);
        }
    }
    diff / scale.max(1e-30)
}

#[test]
fn session_steps_equal_whitebox_train_steps() {
    let dir = tmp("session-parity");
    let out = dir.to_str().unwrap();
    ok(&[
        "train",
        "--dataset",
        "subspaces",
        "--epochs",
        "1",
        "--steps",
        "3",
        "--out",
        out,
    ]);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["step"], 3, "--steps 3 stops after three steps");
    let cli = load_model_file(dir.join("model.safetensors"), None)
        .unwrap()
        .model;

    let mut s = TrainSession::new(SessionSettings {
        epochs: 1,
        ..SessionSettings::default()
    })
    .unwrap();
    let fresh = s.trainer.model();
    for _ in 0..3 {
        s.step().unwrap();
    }
    let page = s.trainer.model();
    assert_eq!(page.config, cli.config);
    // Three warm-up steps move the weights little; the agreement must be far closer than that
    // move, or it would only be agreement on the initialisation.
    let moved = relative_difference(&fresh.params, &cli.params);
    let d = relative_difference(&page.params, &cli.params);
    assert!(d <= 1e-5, "page vs CLI weights differ by {d:e} (relative)");
    assert!(
        d <= moved * 1e-2,
        "page vs CLI {d:e}, training moved them by {moved:e}"
    );
    // The exported file is the CLI's model file format.
    let exported = whitebox::model::io::load_model(&s.export_model().unwrap(), "export", None)
        .unwrap()
        .model;
    assert_eq!(exported.config, cli.config);
    assert_eq!(relative_difference(&exported.params, &page.params), 0.0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn steps_must_be_positive() {
    let err = fails(&[
        "train",
        "--dataset",
        "subspaces",
        "--steps",
        "0",
        "--out",
        "/tmp/x",
    ]);
    assert!(err.contains("--steps"), "{err}");
}
