//! Shared test helpers: reading fixtures, the golden weight scheme, closeness checks; the GPU
//! ([`gpu`]) and the tiny training set-up ([`train`]).
#![allow(dead_code)]

pub mod cli;
pub mod gpu;
pub mod hostile_images;
pub mod train;

use std::collections::HashMap;
use std::path::PathBuf;

use whitebox::model::params::expected_shapes;
use whitebox::{CrateConfig, Model, Params, Tensor};

/// A fresh directory under the system's temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("wb-{tag}-{}", std::process::id()));
        std::fs::remove_dir_all(&p).ok();
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    /// A file in it, as a string for command lines.
    pub fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
    /// The directory itself, as a string for command lines.
    pub fn s(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Every tensor of a safetensors fixture (as f32) and its metadata, read with the `safetensors`
/// crate directly so that the fixtures are checked independently of the project's own reader.
pub fn read_fixture(rel: &str) -> (HashMap<String, Tensor>, HashMap<String, String>) {
    let path = fixture(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        out.insert(
            name,
            Tensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    (out, meta.metadata().clone().unwrap_or_default())
}

pub fn fixture_config(meta: &HashMap<String, String>) -> CrateConfig {
    serde_json::from_str(&meta["config"]).expect("fixture config")
}

/// The golden weight scheme of `tools/golden.py` (see tests/fixtures/README.md).
pub fn golden_params(cfg: &CrateConfig, seed: u64) -> Params {
    let mut p = Params::default();
    let shapes = expected_shapes(cfg);
    for (key, shape) in &shapes {
        let n: usize = shape.iter().product();
        let is_ln = |k: &str| {
            k.ends_with("norm.weight")
                || k.ends_with("norm.bias")
                || k.starts_with("to_patch_embedding.1.")
                || k.starts_with("to_patch_embedding.3.")
                || k.starts_with("mlp_head.0.")
        };
        let data = if is_ln(key) && key.ends_with(".weight") {
            whitebox::rng::uniform(seed, key, n, 0.2)
                .into_iter()
                .map(|v| 1.0 + v)
                .collect()
        } else if is_ln(key) {
            whitebox::rng::uniform(seed, key, n, 0.1)
        } else if key == "cls_token" || key == "pos_embedding" {
            whitebox::rng::uniform(seed, key, n, 0.5)
        } else {
            let wkey = key
                .strip_suffix(".bias")
                .map(|s| format!("{s}.weight"))
                .unwrap_or(key.clone());
            let fan_in = *shapes
                .iter()
                .find(|(k, _)| *k == wkey)
                .unwrap()
                .1
                .last()
                .unwrap();
            whitebox::rng::uniform(seed, key, n, (1.0 / (fan_in as f64).sqrt()) as f32)
        };
        p.insert(
            key.clone(),
            Tensor {
                shape: shape.clone(),
                data,
            },
        );
    }
    p
}

pub fn golden_input(seed: u64, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor {
        shape: shape.to_vec(),
        data: whitebox::rng::uniform(seed, "input", n, 1.7320508),
    }
}

/// A model from a fixture: `param.*` tensors when committed, else the seeded scheme.
pub fn fixture_model(
    tensors: &HashMap<String, Tensor>,
    meta: &HashMap<String, String>,
    seed: u64,
) -> Model {
    let cfg = fixture_config(meta);
    let mut params = Params::default();
    for (k, t) in tensors {
        if let Some(key) = k.strip_prefix("param.") {
            params.insert(key, t.clone());
        }
    }
    if params.tensors.is_empty() {
        params = golden_params(&cfg, seed);
    }
    Model::new(cfg, params).expect("fixture model")
}

/// Max absolute error relative to the reference's largest magnitude.
pub fn rel_err(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len(), "length");
    let scale = want
        .iter()
        .fold(0.0f64, |m, &v| m.max((v as f64).abs()))
        .max(1e-12);
    let err = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
    if got.iter().any(|v| v.is_nan()) {
        return f64::INFINITY;
    }
    err / scale
}

#[track_caller]
pub fn assert_close(name: &str, got: &[f32], want: &[f32], tol: f64) {
    let e = rel_err(got, want);
    // Shown with --nocapture: the margins behind each tolerance.
    eprintln!("{name}: relative error {e:.2e} (tolerance {tol:.0e})");
    assert!(e <= tol, "{name}: relative error {e:.3e} > {tol:.1e}");
}

pub fn f64s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}
