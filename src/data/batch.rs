//! Dataset items → model inputs: the [`ImageDataset`] trait every image dataset implements
//! (items are [`ImageU8`]s), and [`make_batch`], which turns a list of indices into a
//! normalised (B, C, H, W) tensor for a [`CrateConfig`] (pixels scaled by 1/255, then
//! `(x - mean[c]) / std[c]`), optionally augmented.

use crate::data::augment::{sample_rng, Augment};
use crate::data::image_u8::ImageU8;
use crate::error::{Error, Result};
use crate::model::config::CrateConfig;
use crate::tensor::Tensor;

/// A labelled image dataset whose items can be fetched by index (in any order).
pub trait ImageDataset {
    /// Number of items.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Item `i` (`i < len()`).
    fn image(&self, i: usize) -> ImageU8;
    /// The class of item `i`, below `class_names().len()`.
    fn label(&self, i: usize) -> usize;
    fn class_names(&self) -> Vec<String>;
    /// The object mask of item `i` (height × width, row-major, true on the object) when the
    /// dataset knows it, as the synthetic shapes do; used to score attention maps.
    fn mask(&self, _i: usize) -> Option<Vec<bool>> {
        None
    }
}

/// Checks that `img` can feed `cfg`: its size is `cfg.image` and its channels are
/// `cfg.channels` (a gray image may feed an RGB model: the value goes to every channel).
pub fn check_image(img: &ImageU8, cfg: &CrateConfig) -> Result<()> {
    if cfg.mean.len() != cfg.channels || cfg.std.len() != cfg.channels {
        return Err(Error::Config(format!(
            "mean and std need one value per channel ({} channels; got {} and {})",
            cfg.channels,
            cfg.mean.len(),
            cfg.std.len()
        )));
    }
    if [img.height, img.width] != cfg.image {
        return Err(Error::Input(format!(
            "a {}x{} image for a model trained at {}x{}",
            img.width, img.height, cfg.image[1], cfg.image[0]
        )));
    }
    if !(img.channels == cfg.channels || img.channels == 1) {
        return Err(Error::Input(format!(
            "a {}-channel image for a {}-channel model",
            img.channels, cfg.channels
        )));
    }
    if img.pixels.len() != img.height * img.width * img.channels {
        return Err(Error::Input(format!(
            "{} bytes for a {}x{}x{} image",
            img.pixels.len(),
            img.width,
            img.height,
            img.channels
        )));
    }
    Ok(())
}

/// Writes `img`, normalised for `cfg`, into `out` (C·H·W values, channel-major).
fn normalise_into(img: &ImageU8, cfg: &CrateConfig, out: &mut [f32]) {
    let n = img.height * img.width;
    let c = img.channels;
    for (ch, plane) in out.chunks_exact_mut(n).enumerate() {
        let (mean, std) = (cfg.mean[ch], cfg.std[ch]);
        let src = if c == 1 { 0 } else { ch };
        // The same arithmetic as `image::preprocess`, so that a dataset image gives bit-identical
        // inputs whichever path it takes.
        for (i, v) in plane.iter_mut().enumerate() {
            *v = (img.pixels[i * c + src] as f32 / 255.0 - mean) / std;
        }
    }
}

/// Images → (B, C, H, W) tensor normalised for `cfg` (see [`check_image`]).
pub fn images_to_tensor(images: &[ImageU8], cfg: &CrateConfig) -> Result<Tensor> {
    let [h, w] = cfg.image;
    let per = cfg.channels * h * w;
    let mut data = vec![0.0f32; images.len() * per];
    for (img, out) in images.iter().zip(data.chunks_exact_mut(per.max(1))) {
        check_image(img, cfg)?;
        normalise_into(img, cfg, out);
    }
    Ok(Tensor {
        shape: vec![images.len(), cfg.channels, h, w],
        data,
    })
}

/// A batch: normalised (B, C, H, W) images and their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub images: Tensor,
    pub labels: Vec<usize>,
    /// The dataset indices the batch was made of.
    pub indices: Vec<usize>,
}

/// How [`make_batch`] augments: the transform and where its randomness comes from. Each item's
/// randomness is [`sample_rng`]`(seed, epoch, index)`, so it depends on neither the batch size
/// nor the order, and a resumed run sees exactly the same augmented images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AugmentPlan<'a> {
    pub augment: &'a Augment,
    pub seed: u64,
    pub epoch: u64,
}

/// The items `indices` of `ds` as a [`Batch`] for `cfg`, augmented if `plan` says so.
pub fn make_batch<D: ImageDataset + ?Sized>(
    ds: &D,
    indices: &[usize],
    cfg: &CrateConfig,
    plan: Option<AugmentPlan<'_>>,
) -> Result<Batch> {
    let mut images = Vec::with_capacity(indices.len());
    let mut labels = Vec::with_capacity(indices.len());
    for &i in indices {
        if i >= ds.len() {
            return Err(Error::Dataset(format!(
                "index {i} is out of range for a dataset of {} items",
                ds.len()
            )));
        }
        let img = ds.image(i);
        images.push(match plan {
            Some(p) => p
                .augment
                .apply(&img, &mut sample_rng(p.seed, p.epoch, i as u64)),
            None => img,
        });
        labels.push(ds.label(i));
    }
    Ok(Batch {
        images: images_to_tensor(&images, cfg)?,
        labels,
        indices: indices.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_per_channel_and_broadcasts_gray() {
        let cfg = CrateConfig {
            image: [2, 2],
            ..CrateConfig::preset("crate-c32").unwrap()
        };
        let gray = ImageU8 {
            height: 2,
            width: 2,
            channels: 1,
            pixels: vec![0, 255, 51, 102],
        };
        let t = images_to_tensor(std::slice::from_ref(&gray), &cfg).unwrap();
        assert_eq!(t.shape, vec![1, 3, 2, 2]);
        for ch in 0..3 {
            let want = (0.2 - cfg.mean[ch]) / cfg.std[ch];
            assert!((t.data[ch * 4 + 2] - want).abs() < 1e-5);
        }
        let rgb = ImageU8::zeros(2, 2, 3);
        let t = images_to_tensor(&[rgb], &cfg).unwrap();
        assert!((t.data[4] + cfg.mean[1] / cfg.std[1]).abs() < 1e-6);
        let e = images_to_tensor(&[ImageU8::zeros(3, 2, 1)], &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2x3"), "{e}");
        let e = images_to_tensor(&[ImageU8::zeros(2, 2, 2)], &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2-channel"), "{e}");
    }
}
