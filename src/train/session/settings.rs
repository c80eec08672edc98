//! The settings of a run, with `whitebox train`'s defaults, and the [`TrainConfig`] they give.

use serde::{Deserialize, Serialize};

use super::data::DataChoice;
use crate::data::Augment;
use crate::error::{Error, Result};
use crate::train::optim::{OptimConfig, OptimizerKind};
use crate::train::trainer::TrainConfig;

/// Everything the user chooses for a run. The defaults are `whitebox train`'s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionSettings {
    pub data: DataChoice,
    /// Model shape (width, depth, heads) from [`crate::model::config::PRESETS`].
    pub preset: String,
    /// Some: the run continues the model in use (this is its name), whose shape and weights
    /// replace the preset's ([`super::TrainSession::continue_from`]).
    pub init: Option<String>,
    pub optimizer: OptimizerKind,
    /// Peak learning rate (editable while running).
    pub lr: f32,
    pub batch: usize,
    pub epochs: u64,
    /// Seeds the initialisation, the data order and the augmentation.
    pub seed: u64,
    /// Random crop and flip (images only; not for subspaces).
    pub augment: bool,
    /// Per-layer measures on the probe batch every this many steps.
    pub probe_every: u64,
    /// Held-out images in the probe batch (the first ones of the test split).
    pub probe_images: usize,
    /// Held-out evaluation every this many steps.
    pub eval_every: u64,
    /// Held-out images evaluated (the first ones of the test split).
    pub eval_images: usize,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            data: DataChoice::default(),
            preset: "crate-fmnist".into(),
            init: None,
            optimizer: OptimizerKind::AdamW,
            lr: 1e-3,
            batch: 128,
            epochs: 10,
            seed: 0,
            augment: false,
            probe_every: 10,
            probe_images: 64,
            eval_every: 20,
            eval_images: 512,
        }
    }
}

/// `whitebox train`'s fixed choices (its flags' defaults).
const MIN_LR: f32 = 1e-5;
const WEIGHT_DECAY: f32 = 0.05;
const LABEL_SMOOTHING: f32 = 0.1;
const CLIP: f32 = 1.0;
const WARMUP_EPOCHS: f32 = 1.0;

impl SessionSettings {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if !(self.lr > 0.0 && self.lr <= 10.0) {
            return bad(format!("learning rate {} is outside (0, 10]", self.lr));
        }
        if !(1..=1024).contains(&self.batch) {
            return bad(format!("batch size {} is outside 1..=1024", self.batch));
        }
        if !(1..=100_000).contains(&self.epochs) {
            return bad(format!("epochs {} is outside 1..=100000", self.epochs));
        }
        if self.probe_every == 0 || self.eval_every == 0 {
            return bad("probe and evaluation intervals must be at least one step".into());
        }
        if !(1..=512).contains(&self.probe_images) || !(1..=10_000).contains(&self.eval_images) {
            return bad(format!(
                "probe images 1..=512 and evaluation images 1..=10000 (got {} and {})",
                self.probe_images, self.eval_images
            ));
        }
        if self.augment && matches!(self.data, DataChoice::Subspaces { .. }) {
            return bad(
                "augmentation crops and flips images; it does not apply to subspaces".into(),
            );
        }
        self.data.check()
    }

    /// The run's [`TrainConfig`], as `whitebox train` makes it from the same flags.
    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            lr: self.lr,
            min_lr: MIN_LR.min(self.lr),
            warmup_epochs: WARMUP_EPOCHS,
            optim: OptimConfig::new(self.optimizer, WEIGHT_DECAY),
            label_smoothing: LABEL_SMOOTHING,
            clip_norm: Some(CLIP),
            augment: self.augment.then(|| Augment::new(2, true)),
            ..TrainConfig::new(self.epochs, self.batch, self.seed)
        }
    }
}
