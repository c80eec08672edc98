//! The tiny model, the shapes data and the resume set-up that the CPU training tests
//! (`tests/suite/train.rs`) and the GPU training tests (`tests/suite/gpu_train.rs`) share.

use std::path::PathBuf;

use whitebox::data::synthetic::{ShapesConfig, ShapesDataset};
use whitebox::model::init::init_params;
use whitebox::train::{OptimConfig, TrainConfig};
use whitebox::{CrateConfig, Params};

/// A tiny CRATE on 28×28 grayscale (16 tokens of 7×7 patches), 5 shape classes.
pub fn tiny() -> CrateConfig {
    CrateConfig {
        dim: 32,
        depth: 2,
        heads: 2,
        patch: 7,
        classes: 5,
        class_names: None,
        ..CrateConfig::preset("crate-fmnist").unwrap()
    }
}

/// `len` synthetic shapes for [`tiny`].
pub fn shapes(len: usize, seed: u64) -> ShapesDataset {
    ShapesDataset::new(ShapesConfig::for_model(&tiny(), len, seed)).unwrap()
}

/// An empty scratch directory for this test process.
pub fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("whitebox-train-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The resume cases' run: 40 shapes, batch 8 (5 steps per epoch) over 3 epochs with
/// augmentation, so that [`RESUME_STEPS`] cross two epoch boundaries and the stop after
/// [`RESUME_STOP`] falls mid-epoch.
pub struct ResumeSetup {
    pub ds: ShapesDataset,
    pub cfg: CrateConfig,
    pub params: Params,
    pub tc: TrainConfig,
}

pub const RESUME_STEPS: usize = 13;
pub const RESUME_STOP: usize = 7;

pub fn resume_setup(optim: OptimConfig) -> ResumeSetup {
    let cfg = tiny();
    let params = init_params(&cfg, 2).unwrap();
    ResumeSetup {
        ds: shapes(40, 3),
        cfg,
        params,
        tc: TrainConfig {
            optim,
            lr: 2e-3,
            label_smoothing: 0.1,
            augment: Some(whitebox::data::Augment::new(2, true)),
            ..TrainConfig::new(3, 8, 9)
        },
    }
}
