//! The subspace mixture ([`super::subspaces`]) as a training set for the image trainer: sample i
//! becomes a 1 × T "image" with d channels whose pixel t is token t. With patch size 1 each patch
//! vector is then exactly one token, so the tokens enter CRATE through the usual patch embedding
//! (LN_P, linear, LN_d) and the model, trainer, engines and checkpoints need no special case;
//! the label is the sample's subspace.
//!
//! Images are u8 (the trainer's input type): each coordinate is clamped to
//! [-`RANGE`/2, `RANGE`/2] and quantised to 256 levels (step `RANGE`/255 ≈ 0.016, below the
//! default noise σ = 0.05 and far below the ~0.35 spread of a coordinate of `U_k z` at d = 32,
//! p = 4). The model's `mean` 0.5 and `std` 1/`RANGE` per channel undo the scaling, so the
//! normalised input is the token up to that quantisation.

use super::subspaces::{generate_subspaces, SubspaceConfig, SubspaceData};
use crate::data::{ImageDataset, ImageU8};
use crate::error::Result;
use crate::model::CrateConfig;

/// The coordinate range mapped onto 0..=255.
pub const RANGE: f32 = 4.0;

/// A slice of one generated mixture (train and test share the bases, so both come from one
/// [`SubspaceData`]).
pub struct SubspaceImages {
    data: std::sync::Arc<SubspaceData>,
    start: usize,
    len: usize,
}

/// Training samples of [`SubspaceImages::training`].
pub const TRAIN_SAMPLES: usize = 8_000;
/// Held-out samples of [`SubspaceImages::training`].
pub const TEST_SAMPLES: usize = 2_000;

impl SubspaceImages {
    /// The training and held-out sets the trainer uses ([`TRAIN_SAMPLES`] and
    /// [`TEST_SAMPLES`] samples of one mixture), the same natively and in the page.
    /// The knobs are checked first ([`SubspaceConfig::check_knobs`]).
    pub fn training(cfg: &SubspaceConfig) -> Result<(Self, Self)> {
        cfg.check_knobs()?;
        Self::generate(cfg, TRAIN_SAMPLES, TEST_SAMPLES)
    }

    /// Generates `train + test` samples and returns (train, test) views over them.
    pub fn generate(cfg: &SubspaceConfig, train: usize, test: usize) -> Result<(Self, Self)> {
        let data = std::sync::Arc::new(generate_subspaces(&SubspaceConfig {
            samples: train + test,
            ..cfg.clone()
        })?);
        Ok((
            Self {
                data: data.clone(),
                start: 0,
                len: train,
            },
            Self {
                data,
                start: train,
                len: test,
            },
        ))
    }

    pub fn data(&self) -> &SubspaceData {
        &self.data
    }

    /// `base` (depth, width, heads) with this dataset's input: image 1 × T, d channels,
    /// patch 1, K classes, and the normalisation that undoes the u8 quantisation.
    pub fn model_config(&self, base: &CrateConfig) -> CrateConfig {
        let c = &self.data.config;
        CrateConfig {
            image: [1, c.tokens_per_sample],
            patch: 1,
            channels: c.dim,
            classes: c.subspaces,
            mean: vec![0.5; c.dim],
            std: vec![1.0 / RANGE; c.dim],
            class_names: Some(self.class_names()),
            pre_head_dim: None,
            ..base.clone()
        }
    }
}

impl ImageDataset for SubspaceImages {
    fn len(&self) -> usize {
        self.len
    }

    fn image(&self, i: usize) -> ImageU8 {
        let c = &self.data.config;
        let mut pixels = Vec::with_capacity(c.tokens_per_sample * c.dim);
        for t in 0..c.tokens_per_sample {
            for &x in self.data.token(self.start + i, t) {
                let u = (x / RANGE + 0.5).clamp(0.0, 1.0);
                pixels.push((u * 255.0).round() as u8);
            }
        }
        ImageU8 {
            height: 1,
            width: c.tokens_per_sample,
            channels: c.dim,
            pixels,
        }
    }

    fn label(&self, i: usize) -> usize {
        self.data.labels[self.start + i]
    }

    fn class_names(&self) -> Vec<String> {
        (0..self.data.config.subspaces)
            .map(|k| format!("subspace {k}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::make_batch;

    #[test]
    fn tokens_come_back_through_the_normalisation() {
        let cfg = SubspaceConfig {
            tokens_per_sample: 5,
            samples: 0,
            ..SubspaceConfig::default()
        };
        let (tr, te) = SubspaceImages::generate(&cfg, 6, 3).unwrap();
        assert_eq!((tr.len(), te.len()), (6, 3));
        let mc = tr.model_config(&CrateConfig::preset("crate-fmnist").unwrap());
        mc.validate().unwrap();
        assert_eq!(mc.tokens(), 6);
        let b = make_batch(&te, &[1], &mc, None).unwrap();
        // (1, C = d, 1, T): channel c of pixel t is coordinate c of token t
        let d = cfg.dim;
        for t in 0..5 {
            for c in 0..d {
                let want = te.data().token(7, t)[c];
                let got = b.images.data[c * 5 + t];
                assert!((got - want).abs() <= RANGE / 255.0, "{got} vs {want}");
            }
        }
        assert_eq!(b.labels[0], te.data().labels[7]);
    }
}
