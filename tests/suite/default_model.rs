//! The models bundled with the page (`web/models/`): every entry of `index.json` has weights that
//! load and a model card, and the default Fashion-MNIST model is what its card says — input as the
//! page feeds it, size, and test accuracy on the 10,000 test images (≥ 0.90, within 0.005 of the
//! card). `tools/check_default_model.py` measures the same accuracy independently with PyTorch.

use std::path::PathBuf;

use serde_json::Value;
use whitebox::data::{FashionMnist, Split};
use whitebox::model::io::load_model;
use whitebox::train::{TrainConfig, Trainer};

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/models")
}

fn card(name: &str) -> Value {
    let path = models().join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn index_lists_models_with_weights_and_cards() {
    let index: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(models().join("index.json")).unwrap())
            .unwrap();
    assert!(!index.is_empty());
    assert_eq!(
        index[0]["name"], "crate-fmnist",
        "the page opens with the first entry"
    );
    for entry in &index {
        let name = entry["name"].as_str().unwrap();
        assert!(entry["title"].as_str().is_some_and(|t| !t.is_empty()));
        let file = format!("{name}.safetensors");
        let bytes = std::fs::read(models().join(&file)).unwrap();
        assert!(bytes.len() <= 8 << 20, "{file}: {} bytes", bytes.len());
        let loaded = load_model(&bytes, &file, None).unwrap();
        assert!(
            loaded.notes.is_empty(),
            "{file}: the metadata should say everything, but loading assumed {:?}",
            loaded.notes
        );
        let c = card(name);
        for key in [
            "dataset",
            "command",
            "epochs",
            "wall_time_s",
            "machine",
            "test_accuracy",
        ] {
            assert!(!c[key].is_null(), "{name}.json has no `{key}`");
        }
        assert_eq!(
            c["layers"].as_array().map(Vec::len),
            Some(loaded.model.config.depth),
            "{name}.json: per-layer measures for every layer"
        );
    }
}

#[test]
fn default_model_matches_its_card_on_the_test_set() {
    let bytes = std::fs::read(models().join("crate-fmnist.safetensors")).unwrap();
    let model = load_model(&bytes, "crate-fmnist.safetensors", None)
        .unwrap()
        .model;
    let cfg = model.config.clone();
    // The 28×28 images as they are: one channel, a patch that divides 28.
    assert_eq!((cfg.image, cfg.channels), ([28, 28], 1));
    assert_eq!(28 % cfg.patch, 0);
    assert_eq!(cfg.class_names.as_ref().map(Vec::len), Some(10));
    assert_eq!(cfg.class_names.as_ref().unwrap()[9], "Ankle boot");

    let c = card("crate-fmnist");
    assert_eq!(c["dataset"], "fashion-mnist");
    let claimed = c["test_accuracy"].as_f64().unwrap();
    let test = FashionMnist::load(None, Split::Test).unwrap();
    assert_eq!(test.len(), 10_000);
    let t = Trainer::new(cfg, &model.params, TrainConfig::new(1, 1, 0), 1).unwrap();
    let ev = t.evaluate(&test, None).unwrap();
    eprintln!("test accuracy {} (card {claimed})", ev.accuracy);
    assert_eq!(ev.images, 10_000);
    assert!(ev.accuracy >= 0.90, "test accuracy {}", ev.accuracy);
    assert!(
        (ev.accuracy - claimed).abs() <= 0.005,
        "test accuracy {} but the card says {claimed}",
        ev.accuracy
    );
}
