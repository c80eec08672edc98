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

/// The bundled Fashion-MNIST subset as the page sends it to the worker.
fn fmnist_bytes() -> whitebox::train::session::DataBytes {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/datasets/fashion-mnist");
    let files = [
        "index.json",
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    .iter()
    .map(|n| (n.to_string(), std::fs::read(dir.join(n)).unwrap()))
    .collect();
    whitebox::train::session::DataBytes { files }
}

#[test]
fn fashion_mnist_session_trains_as_whitebox_train_on_the_bundled_subset() {
    use whitebox::train::session::{DataBytes, DataChoice};
    let settings = SessionSettings {
        data: DataChoice::Fmnist,
        epochs: 1,
        batch: 32,
        ..SessionSettings::default()
    };
    let bytes = fmnist_bytes();
    // Without its files the run says what is missing; the wrong model shape is named.
    let err = TrainSession::new_with(settings.clone(), &DataBytes::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("index.json has not been fetched"), "{err}");
    let err = TrainSession::new_with(
        SessionSettings {
            preset: "crate-c32".into(),
            ..settings.clone()
        },
        &bytes,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("28×28 grey"), "{err}");
    let mut damaged = bytes.clone();
    damaged.files[1].1.truncate(1000);
    let err = TrainSession::new_with(settings.clone(), &damaged)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("truncated"), "{err}");

    let mut s = TrainSession::new_with(settings.clone(), &bytes).unwrap();
    assert_eq!(s.class_names().len(), 10);
    assert_eq!(s.class_names()[9], "Ankle boot");
    for _ in 0..2 {
        let r = s.step().unwrap();
        assert!(r.loss.is_finite(), "loss {}", r.loss);
    }
    let report = s.report();
    assert_eq!(report["dataset"], "fmnist");
    assert_eq!(report["class_names"].as_array().unwrap().len(), 10);

    // A checkpoint resumes only with the files, and then continues exactly.
    let saved = s.save().unwrap();
    assert!(TrainSession::load(&saved).is_err());
    let mut back = TrainSession::load_with(&saved, &bytes).unwrap();
    s.step().unwrap();
    back.step().unwrap();
    assert_eq!(
        relative_difference(&back.trainer.model().params, &s.trainer.model().params),
        0.0
    );

    // `whitebox train --dataset fmnist` on the same folder: the same weights after two steps.
    let dir = tmp("session-fmnist");
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/datasets/fashion-mnist");
    ok(&[
        "train",
        "--dataset",
        "fmnist",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--batch",
        "32",
        "--steps",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let cli = load_model_file(dir.join("model.safetensors"), None)
        .unwrap()
        .model;
    let mut two = TrainSession::new_with(settings, &bytes).unwrap();
    let fresh = two.trainer.model();
    two.step().unwrap();
    two.step().unwrap();
    let moved = relative_difference(&fresh.params, &cli.params);
    let d = relative_difference(&two.trainer.model().params, &cli.params);
    assert!(
        d <= 1e-5 && d <= moved * 1e-2,
        "page vs CLI {d:e}, moved {moved:e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `per_class` images of each of three classes (red, green, blue, in that order) as
/// `mine/CLASS/i.png`, image i of side `side0 + i`.
fn own_files(classes: [&str; 3], per_class: u32, side0: u32) -> Vec<(String, Vec<u8>)> {
    let colours = [[200, 30, 30], [30, 200, 30], [30, 30, 200]];
    let mut files = Vec::new();
    for (class, colour) in classes.into_iter().zip(colours) {
        for i in 0..per_class {
            files.push((
                format!("mine/{class}/{i}.png"),
                own_png(side0 + i, colour, i),
            ));
        }
    }
    files
}

/// A `side`×`side` PNG of one colour with a lighter square whose place depends on `i`.
fn own_png(side: u32, rgb: [u8; 3], i: u32) -> Vec<u8> {
    let mut img = image::RgbImage::from_pixel(side, side, image::Rgb(rgb));
    for y in 0..side / 3 {
        for x in 0..side / 3 {
            img.put_pixel(
                (x + i) % side,
                (y + 2 * i) % side,
                image::Rgb([255, 255, 255]),
            );
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn own_images_session_lists_skipped_files_and_trains_as_whitebox_train() {
    use whitebox::train::session::{DataBytes, DataChoice};
    let mut files = own_files(["circle", "square", "star"], 8, 24);
    files.push((
        "mine/star/broken.png".to_string(),
        b"\x89PNG\r\n\x1a\nnot really".to_vec(),
    ));
    let settings = SessionSettings {
        data: DataChoice::Own { seed: 0 },
        epochs: 1,
        batch: 8,
        ..SessionSettings::default()
    };
    let err = TrainSession::new_with(settings.clone(), &DataBytes::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no files have been chosen"), "{err}");
    let bytes = DataBytes {
        files: files.clone(),
    };
    let mut s = TrainSession::new_with(settings.clone(), &bytes).unwrap();
    assert_eq!(s.class_names(), ["circle", "square", "star"]);
    assert_eq!(s.skipped_files.len(), 1);
    assert_eq!(s.skipped_files[0].path, "mine/star/broken.png");
    let r = s.step().unwrap();
    assert!(r.loss.is_finite());
    s.step().unwrap();
    s.evaluate().unwrap();
    let report = s.report();
    assert_eq!(report["dataset"], "own");
    assert_eq!(report["skipped_files"][0]["path"], "mine/star/broken.png");
    assert!(!report["skipped_files"][0]["reason"]
        .as_str()
        .unwrap()
        .is_empty());
    let back = TrainSession::load_with(&s.save().unwrap(), &bytes).unwrap();
    assert_eq!(back.skipped_files, s.skipped_files);

    // The same folder as a .zip gives the same run.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (p, b) in &files {
        zip.start_file(p.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, b).unwrap();
    }
    let zipped = DataBytes {
        files: vec![("mine.zip".into(), zip.finish().unwrap().into_inner())],
    };
    let mut z = TrainSession::new_with(settings.clone(), &zipped).unwrap();
    z.step().unwrap();
    z.step().unwrap();
    assert_eq!(
        relative_difference(&z.trainer.model().params, &s.trainer.model().params),
        0.0
    );

    // `whitebox train --dataset folder` on the same files: the same weights after two steps.
    let dir = tmp("session-own");
    for (p, b) in &files {
        let path = dir.join("data").join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b).unwrap();
    }
    let out = dir.join("run");
    ok(&[
        "train",
        "--dataset",
        "folder",
        "--data",
        dir.join("data").to_str().unwrap(),
        "--epochs",
        "1",
        "--batch",
        "8",
        "--steps",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let cli = load_model_file(out.join("model.safetensors"), None)
        .unwrap()
        .model;
    let d = relative_difference(&s.trainer.model().params, &cli.params);
    assert!(d <= 1e-5, "page vs CLI {d:e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bundled Fashion-MNIST model, as the page holds it.
fn bundled_model() -> whitebox::model::Model {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("web/models/crate-fmnist.safetensors");
    load_model_file(path, None).unwrap().model
}

#[test]
fn continuing_the_bundled_model_starts_from_its_loss_and_trains_as_whitebox_train_init() {
    use whitebox::train::session::DataChoice;
    let model = bundled_model();
    let bytes = fmnist_bytes();
    let settings = SessionSettings {
        data: DataChoice::Fmnist,
        epochs: 1,
        batch: 32,
        eval_images: 256,
        init: Some("crate-fmnist (bundled)".into()),
        ..SessionSettings::default()
    };
    // Without the model the settings are refused (a fresh preset would silently stand in).
    assert!(TrainSession::new_with(settings.clone(), &bytes).is_err());
    let mut s = TrainSession::continue_from(settings.clone(), &bytes, &model).unwrap();
    assert_eq!(s.trainer.model().params, model.params, "every weight kept");
    let report = s.report();
    assert!(
        report["model"]["origin"]
            .as_str()
            .unwrap()
            .contains("every weight kept"),
        "{}",
        report["model"]
    );
    let held = s.evaluate().unwrap().loss;
    let first = s.step().unwrap().loss;
    // A fresh model starts at ln 10 ≈ 2.30; the trained one far below.
    let mut fresh = TrainSession::new_with(
        SessionSettings {
            init: None,
            ..settings.clone()
        },
        &bytes,
    )
    .unwrap();
    let fresh_first = fresh.step().unwrap().loss;
    assert!(
        held < 1.0 && first < 1.2,
        "held-out {held}, first batch {first}"
    );
    assert!(fresh_first > 2.0, "fresh first batch {fresh_first}");
    s.step().unwrap();

    // Saved and loaded, it continues exactly (its shape comes from the checkpoint).
    let mut back = TrainSession::load_with(&s.save().unwrap(), &bytes).unwrap();
    assert_eq!(back.history.origin, s.history.origin);
    assert_eq!(back.settings.init, settings.init);
    s.step().unwrap();
    back.step().unwrap();
    assert_eq!(s.trainer.params, back.trainer.params);

    // `whitebox train --init` on the same data and settings: the same weights after two steps.
    let dir = tmp("session-continue");
    let out = dir.to_str().unwrap();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/datasets/fashion-mnist");
    let init = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("web/models/crate-fmnist.safetensors");
    ok(&[
        "train",
        "--dataset",
        "fmnist",
        "--data",
        data.to_str().unwrap(),
        "--init",
        init.to_str().unwrap(),
        "--preset",
        "crate-fmnist",
        "--epochs",
        "1",
        "--batch",
        "32",
        "--steps",
        "2",
        "--out",
        out,
    ]);
    let cli = load_model_file(dir.join("model.safetensors"), None)
        .unwrap()
        .model;
    let mut two = TrainSession::continue_from(settings, &bytes, &model).unwrap();
    two.step().unwrap();
    two.step().unwrap();
    let d = relative_difference(&two.trainer.model().params, &cli.params);
    assert!(
        d < 1e-5,
        "continued session vs whitebox train --init: {d:e}"
    );
}

#[test]
fn continuing_on_other_classes_keeps_the_trunk_and_gives_a_new_head() {
    use whitebox::train::session::{is_head, DataBytes, DataChoice};
    let model = bundled_model();
    let files = own_files(["red", "green", "blue"], 6, 20);
    let settings = SessionSettings {
        data: DataChoice::Own { seed: 0 },
        epochs: 1,
        batch: 8,
        init: Some("crate-fmnist (bundled)".into()),
        ..SessionSettings::default()
    };
    let bytes = DataBytes { files };
    let mut s = TrainSession::continue_from(settings.clone(), &bytes, &model).unwrap();
    assert_eq!(s.trainer.config.classes, 3);
    assert_eq!(s.class_names(), ["blue", "green", "red"]);
    let mut heads = 0;
    for (k, t) in &s.trainer.params.tensors {
        if is_head(k) {
            heads += 1;
            if k == "mlp_head.1.weight" {
                assert_eq!(t.shape, [3, model.config.dim], "{k}");
            }
        } else {
            assert_eq!(
                t.data, model.params.tensors[k].data,
                "{k}: the trunk is kept"
            );
        }
    }
    assert!(heads >= 2, "the head's tensors");
    let origin = s.history.origin.clone().unwrap();
    assert!(
        origin.contains("new head for 3 classes (the model had 10)"),
        "{origin}"
    );
    assert!(s.step().unwrap().loss.is_finite());
    let back = TrainSession::load_with(&s.save().unwrap(), &bytes).unwrap();
    assert_eq!(back.trainer.params, s.trainer.params);

    // Subspaces are not 28×28 images: the bundled model cannot continue on them.
    let err = TrainSession::continue_from(
        SessionSettings {
            data: DataChoice::default(),
            ..settings
        },
        &DataBytes::default(),
        &model,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("cannot continue on it"), "{err}");
}
