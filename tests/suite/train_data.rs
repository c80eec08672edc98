//! `whitebox train`'s data knobs and the browser model sizes: the subspace flags reach the
//! generator and the model, are validated, and default to the old fixed set; the small presets
//! train and bench single-threaded.

use whitebox::data::synthetic::{SubspaceConfig, SubspaceImages};
use whitebox::data::ImageDataset;
use whitebox::model::config::{BROWSER_PRESETS, PRESETS};
use whitebox::CrateConfig;

use crate::common::cli::{fails, ok};

#[test]
fn subspace_config_is_shared_and_defaults_are_unchanged() {
    // The knobs' defaults are the set `--dataset subspaces` always trained on.
    let c = SubspaceConfig::training(9);
    assert_eq!(
        c,
        SubspaceConfig {
            tokens_per_sample: 16,
            seed: 9,
            ..SubspaceConfig::default()
        }
    );
    assert_eq!((c.dim, c.subspaces, c.sub_dim, c.noise), (32, 4, 4, 0.05));
    // The page sends it as JSON.
    let json = serde_json::to_string(&c).unwrap();
    let back: SubspaceConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
    assert!(json.contains("\"tokens_per_sample\":16"), "{json}");
    let (tr, te) = SubspaceImages::training(&c).unwrap();
    assert_eq!((tr.len(), te.len()), (8000, 2000));
    // The page checks its knobs with the same ranges as the CLI's flags.
    c.check_knobs().unwrap();
    for (bad, want) in [
        (
            SubspaceConfig {
                subspaces: 1,
                ..c.clone()
            },
            "between 2 and 32",
        ),
        (
            SubspaceConfig {
                sub_dim: 33,
                ..c.clone()
            },
            "R^32",
        ),
        (
            SubspaceConfig {
                noise: f32::NAN,
                ..c.clone()
            },
            "between 0 and 10",
        ),
        (
            SubspaceConfig {
                tokens_per_sample: 257,
                ..c.clone()
            },
            "between 1 and 256",
        ),
    ] {
        let e = bad.check_knobs().unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
        assert!(SubspaceImages::training(&bad).is_err());
    }
}

#[test]
fn subspace_flags_shape_the_data_and_the_model() {
    let out = std::env::temp_dir().join(format!("wb-sub-knobs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = out.to_str().unwrap();
    ok(&[
        "train",
        "--dataset",
        "subspaces",
        "--subspaces",
        "3",
        "--subspace-dim",
        "2",
        "--noise",
        "0.1",
        "--tokens",
        "8",
        "--seed",
        "5",
        "--preset",
        "crate-tiny",
        "--epochs",
        "1",
        "--limit-train",
        "64",
        "--limit-test",
        "32",
        "--batch",
        "32",
        "--stats-images",
        "8",
        "--out",
        o,
    ]);
    let bytes = std::fs::read(out.join("model.safetensors")).unwrap();
    let m = whitebox::model::io::load_model(&bytes, "m", None)
        .unwrap()
        .model;
    let c = &m.config;
    assert_eq!(
        (c.classes, c.image, c.channels, c.patch),
        (3, [1, 8], 32, 1)
    );
    assert_eq!((c.dim, c.depth, c.heads), (64, 4, 4));
    // The same knobs in the library give the data the run trained on.
    let sc = SubspaceConfig {
        subspaces: 3,
        sub_dim: 2,
        noise: 0.1,
        ..SubspaceConfig::training(5)
    };
    let sc = SubspaceConfig {
        tokens_per_sample: 8,
        ..sc
    };
    let (tr, _) = SubspaceImages::training(&sc).unwrap();
    assert_eq!(tr.class_names().len(), 3);
    assert_eq!(tr.image(0).width, 8);
    std::fs::remove_dir_all(&out).unwrap();

    for (flag, value, want) in [
        ("--subspaces", "1", "between 2 and 32"),
        ("--subspace-dim", "40", "R^32"),
        ("--noise", "NaN", "between 0 and 10"),
        ("--tokens", "0", "between 1 and 256"),
    ] {
        let e = fails(&["train", "--dataset", "subspaces", flag, value, "--out", o]);
        assert!(e.contains(want), "{flag} {value}: {e}");
    }
    let e = fails(&["train", "--dataset", "fmnist", "--tokens", "8", "--out", o]);
    assert!(e.contains("--dataset subspaces only"), "{e}");
}

#[test]
fn browser_presets_are_listed_described_and_bench_single_threaded() {
    for p in BROWSER_PRESETS {
        assert!(PRESETS.contains(&p));
        let c = CrateConfig::preset(p).unwrap();
        let d = CrateConfig::preset_description(p).unwrap();
        assert!(d.contains(&format!("{} layers", c.depth)), "{p}: {d}");
    }
    let text = ok(&[
        "bench",
        "--train",
        "--threads",
        "1",
        "--preset",
        "crate-tiny,crate-mini",
        "--batch",
        "4",
        "--iters",
        "1",
    ]);
    assert!(text.contains("cpu (1 threads) on crate-tiny"), "{text}");
    assert!(text.contains("crate-mini: d=128, 3 layers"), "{text}");
    let rows = text
        .lines()
        .filter(|l| l.split_whitespace().next() == Some("4"))
        .count();
    assert_eq!(rows, 2, "{text}");
    let e = fails(&["bench", "--threads", "0"]);
    assert!(e.contains("0"), "{e}");
}
