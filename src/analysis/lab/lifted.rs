//! The mixture's tokens lifted so that the patch embedding's LayerNorm loses nothing.
//!
//! `LN_P` centres every token over its channels, so a model fed the d coordinates never sees a
//! token's component along 𝟏: each learned head's data-space subspace lies in 𝟏^⊥, and a true
//! subspace with a component along 𝟏 cannot be recovered (on the default preset this alone costs
//! a mean principal angle of 7.4°). Lifting each token to `J z = [z ; −(𝟏ᵀz/m)·𝟏_m]` (m extra
//! channels) makes every token's channels sum to zero, so the centring is the identity on it and
//! the model sees all of z; the extra channels carry nothing but the token's own sum. The heads
//! are pulled back through J ([`super::recover::PullbackWeights`]).

use crate::data::synthetic::subspace_images::RANGE;
use crate::data::synthetic::SubspaceImages;
use crate::data::{ImageDataset, ImageU8};
use crate::model::CrateConfig;

/// [`SubspaceImages`] with `lift` extra channels per token (module notes).
pub struct LiftedImages {
    pub inner: SubspaceImages,
    pub lift: usize,
}

impl LiftedImages {
    /// The inner model configuration with `lift` more channels (same normalisation).
    pub fn model_config(&self, base: &CrateConfig) -> CrateConfig {
        let mut c = self.inner.model_config(base);
        c.channels += self.lift;
        c.mean = vec![c.mean[0]; c.channels];
        c.std = vec![c.std[0]; c.channels];
        c
    }
}

impl ImageDataset for LiftedImages {
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn image(&self, i: usize) -> ImageU8 {
        let img = self.inner.image(i);
        if self.lift == 0 {
            return img;
        }
        let d = img.channels;
        let value = |q: u8| (q as f32 / 255.0 - 0.5) * RANGE;
        let mut pixels = Vec::with_capacity(img.width * (d + self.lift));
        for token in img.pixels.chunks_exact(d) {
            // The sum of the quantised coordinates, so the lifted token sums to zero up to the
            // lift channels' own rounding.
            let sum: f32 = token.iter().map(|&q| value(q)).sum();
            let x = -sum / self.lift as f32;
            let q = ((x / RANGE + 0.5).clamp(0.0, 1.0) * 255.0).round() as u8;
            pixels.extend_from_slice(token);
            pixels.extend(std::iter::repeat_n(q, self.lift));
        }
        ImageU8 {
            channels: d + self.lift,
            pixels,
            ..img
        }
    }

    fn label(&self, i: usize) -> usize {
        self.inner.label(i)
    }

    fn class_names(&self) -> Vec<String> {
        self.inner.class_names()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::make_batch;
    use crate::data::synthetic::SubspaceConfig;

    #[test]
    fn lifted_tokens_sum_to_zero_and_keep_the_coordinates() {
        let cfg = SubspaceConfig {
            tokens_per_sample: 5,
            samples: 0,
            ..SubspaceConfig::default()
        };
        let (tr, _) = SubspaceImages::generate(&cfg, 4, 1).unwrap();
        let plain = tr.image(2);
        let l = LiftedImages { inner: tr, lift: 4 };
        let mc = l.model_config(&CrateConfig::preset("crate-fmnist").unwrap());
        mc.validate().unwrap();
        let d = cfg.dim;
        assert_eq!(mc.channels, d + 4);
        let img = l.image(2);
        let b = make_batch(&l, &[2], &mc, None).unwrap();
        for t in 0..5 {
            assert_eq!(
                &img.pixels[t * (d + 4)..t * (d + 4) + d],
                &plain.pixels[t * d..(t + 1) * d]
            );
            // (1, C, 1, T): channel c of token t at c·T + t.
            let sum: f32 = (0..d + 4).map(|c| b.images.data[c * 5 + t]).sum();
            assert!(sum.abs() < 4.0 * RANGE / 255.0, "token {t} sums to {sum}");
        }
    }
}
