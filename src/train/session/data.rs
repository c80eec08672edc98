//! What a run trains on: the data choice of the Train view and the worker protocol, and the
//! sets `whitebox train` makes for it.

use serde::{Deserialize, Serialize};

use crate::data::fmnist_web::{WebIndex, INDEX_FILE};
use crate::data::own::{InputFit, OwnImages, Skipped, DEFAULT_HOLDOUT};
use crate::data::synthetic::{ShapesConfig, ShapesDataset, SubspaceConfig, SubspaceImages};
use crate::data::{ImageDataset, Split};
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

/// The files a data choice is built from when it is not generated: the page fetches or reads
/// them and the worker holds them, so that a new run or a resumed one can build its sets again.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataBytes {
    /// (name, bytes): for Fashion-MNIST `index.json` and the files it lists; for one's own
    /// images the files with their paths relative to the chosen folder, or one `.zip`.
    pub files: Vec<(String, Vec<u8>)>,
}

impl DataBytes {
    /// The bytes of the file called `name`.
    pub fn get(&self, name: &str) -> Result<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
            .ok_or_else(|| Error::Dataset(format!("{name} has not been fetched")))
    }
}

/// What the run trains on. Fashion-MNIST and one's own images carry their files through the
/// worker protocol ([`DataBytes`]) instead of being generated from a seed.
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
    /// The bundled Fashion-MNIST subset (`web/datasets/fashion-mnist/`: 10,000 training and
    /// 2,000 test images, checked against its `index.json`).
    Fmnist,
    /// One's own images: a folder or a .zip with one sub-folder per class, fitted to the
    /// model's input; 15 % of each class held out, chosen with `seed`; bad files skipped.
    Own { seed: u64 },
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
            DataChoice::Fmnist => "fmnist",
            DataChoice::Own { .. } => "own",
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
            "fmnist" => Some(DataChoice::Fmnist),
            "own" => Some(DataChoice::Own { seed }),
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

    /// Whether the choice is built from files the page supplies ([`DataBytes`]).
    pub fn needs_bytes(&self) -> bool {
        matches!(self, DataChoice::Fmnist | DataChoice::Own { .. })
    }

    /// [`DataChoice::build_with`] for the generated sets (no files).
    pub fn build(&self, base: &CrateConfig) -> Result<Built> {
        self.build_with(base, &DataBytes::default())
    }

    /// (train, test, model config): the sets `whitebox train` makes for this choice (from
    /// `bytes` where it needs files), and `base` (width, depth, heads) fitted to their input and
    /// classes.
    pub fn build_with(&self, base: &CrateConfig, bytes: &DataBytes) -> Result<Built> {
        Ok(self.build_listing(base, bytes)?.0)
    }

    /// [`DataChoice::build_with`] and the files that were skipped (own images only).
    pub fn build_listing(
        &self,
        base: &CrateConfig,
        bytes: &DataBytes,
    ) -> Result<(Built, Vec<Skipped>)> {
        self.check()?;
        let mut skipped = Vec::new();
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
            DataChoice::Fmnist => {
                if base.image != [28, 28] || base.channels != 1 {
                    return Err(Error::Config(format!(
                        "Fashion-MNIST is 28×28 grey: a model for {:?} × {} channels cannot \
                         train on it (choose crate-fmnist)",
                        base.image, base.channels
                    )));
                }
                let index = WebIndex::from_json(bytes.get(INDEX_FILE)?)?;
                let split = |s: Split| -> Result<Box<dyn ImageDataset>> {
                    let f = index.split(s)?;
                    Ok(Box::new(index.load_split(
                        s,
                        bytes.get(&f.images_file.name)?,
                        bytes.get(&f.labels_file.name)?,
                    )?))
                };
                (split(Split::Train)?, split(Split::Test)?, base.clone())
            }
            DataChoice::Own { seed } => {
                let fit = InputFit::for_model(base)?;
                let zip = match bytes.files.as_slice() {
                    [(name, b)] if name.to_ascii_lowercase().ends_with(".zip") => Some(b),
                    _ => None,
                };
                let s = match zip {
                    Some(b) => OwnImages::from_zip(b, &fit, DEFAULT_HOLDOUT, seed)?,
                    None if bytes.files.is_empty() => {
                        return Err(Error::Dataset(
                            "own images: no files have been chosen".into(),
                        ))
                    }
                    None => {
                        OwnImages::from_files(bytes.files.clone(), &fit, DEFAULT_HOLDOUT, seed)?
                    }
                };
                skipped = s.skipped;
                (Box::new(s.train), Box::new(s.test), base.clone())
            }
        };
        let names = train.class_names();
        let cfg = CrateConfig {
            classes: names.len(),
            class_names: Some(names),
            ..cfg
        };
        Ok(((train, test, cfg), skipped))
    }
}
