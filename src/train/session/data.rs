//! What a run trains on: the data choice of the Train view and the worker protocol, and the
//! sets `whitebox train` makes for it.

use serde::{Deserialize, Serialize};

use crate::data::synthetic::{ShapesConfig, ShapesDataset, SubspaceConfig, SubspaceImages};
use crate::data::ImageDataset;
use crate::error::{Error, Result};
use crate::model::CrateConfig;

/// Sizes of the synthetic sets, as `whitebox train` makes them.
pub const SUBSPACE_TRAIN: usize = 8_000;
pub const SUBSPACE_TEST: usize = 2_000;
pub const SHAPES_TRAIN: usize = 20_000;
pub const SHAPES_TEST: usize = 2_000;
/// `whitebox train --dataset shapes` seeds its test set with the run's seed xor this.
pub const SHAPES_TEST_SEED: u64 = 0x5eed_7e57;

/// A choice's (train, test) sets and the model config fitted to them.
pub type Built = (Box<dyn ImageDataset>, Box<dyn ImageDataset>, CrateConfig);

/// What the run trains on. Fashion-MNIST and one's own images join this enum when their loaders
/// do (they carry their bytes through the worker protocol instead of a seed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DataChoice {
    /// Tokens from K random p-dimensional subspaces of R^32 with Gaussian noise; T tokens per
    /// sample, labelled by subspace (`whitebox train --dataset subspaces`).
    Subspaces {
        subspaces: usize,
        sub_dim: usize,
        noise: f32,
        tokens: usize,
        seed: u64,
    },
    /// Synthetic shapes on textures at the model's image size (`--dataset shapes`).
    Shapes { seed: u64 },
}

impl Default for DataChoice {
    /// The CLI's subspaces (4 subspaces of dimension 4, noise 0.05, 16 tokens, seed 0).
    fn default() -> Self {
        let d = SubspaceConfig::default();
        DataChoice::Subspaces {
            subspaces: d.subspaces,
            sub_dim: d.sub_dim,
            noise: d.noise,
            tokens: 16,
            seed: 0,
        }
    }
}

impl DataChoice {
    /// The name in the URL, the report and the `#train-dataset` select.
    pub fn key(&self) -> &'static str {
        match self {
            DataChoice::Subspaces { .. } => "subspaces",
            DataChoice::Shapes { .. } => "shapes",
        }
    }

    /// The default choice of that name.
    pub fn from_key(key: &str, seed: u64) -> Option<Self> {
        match key {
            "subspaces" => Some(match Self::default() {
                DataChoice::Subspaces {
                    subspaces,
                    sub_dim,
                    noise,
                    tokens,
                    ..
                } => DataChoice::Subspaces {
                    subspaces,
                    sub_dim,
                    noise,
                    tokens,
                    seed,
                },
                other => other,
            }),
            "shapes" => Some(DataChoice::Shapes { seed }),
            _ => None,
        }
    }

    pub(super) fn check(&self) -> Result<()> {
        if let DataChoice::Subspaces {
            subspaces,
            sub_dim,
            noise,
            tokens,
            ..
        } = *self
        {
            let dim = SubspaceConfig::default().dim;
            if !(2..=16).contains(&subspaces) || !(1..=dim).contains(&sub_dim) {
                return Err(Error::Config(format!(
                    "subspaces: 2 to 16 subspaces of dimension 1 to {dim} (got {subspaces} of {sub_dim})"
                )));
            }
            if !(0.0..=2.0).contains(&noise) || !(1..=64).contains(&tokens) {
                return Err(Error::Config(format!(
                    "subspaces: noise 0 to 2 and 1 to 64 tokens per sample (got {noise} and {tokens})"
                )));
            }
        }
        Ok(())
    }

    /// (train, test, model config): the sets `whitebox train` makes for this choice, and `base`
    /// (width, depth, heads) fitted to their input and classes.
    pub fn build(&self, base: &CrateConfig) -> Result<Built> {
        self.check()?;
        let (train, test, cfg): Built = match *self {
            DataChoice::Subspaces {
                subspaces,
                sub_dim,
                noise,
                tokens,
                seed,
            } => {
                let sc = SubspaceConfig {
                    subspaces,
                    sub_dim,
                    noise,
                    tokens_per_sample: tokens,
                    seed,
                    ..SubspaceConfig::default()
                };
                let (tr, te) = SubspaceImages::generate(&sc, SUBSPACE_TRAIN, SUBSPACE_TEST)?;
                let cfg = tr.model_config(base);
                (Box::new(tr), Box::new(te), cfg)
            }
            DataChoice::Shapes { seed } => (
                Box::new(ShapesDataset::new(ShapesConfig::for_model(
                    base,
                    SHAPES_TRAIN,
                    seed,
                ))?),
                Box::new(ShapesDataset::new(ShapesConfig::for_model(
                    base,
                    SHAPES_TEST,
                    seed ^ SHAPES_TEST_SEED,
                ))?),
                base.clone(),
            ),
        };
        let names = train.class_names();
        let cfg = CrateConfig {
            classes: names.len(),
            class_names: Some(names),
            ..cfg
        };
        Ok((train, test, cfg))
    }
}
