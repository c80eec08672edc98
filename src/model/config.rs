//! `CrateConfig`: everything that fixes the shape of a CRATE model and how its inputs are
//! prepared, with the presets of the released models and small ones for quick training.

use serde::{Deserialize, Serialize};

use crate::budget::{fmt_bytes, limits};
use crate::data::synthetic::Shape;
use crate::error::{Error, Result};

/// Largest image side a config may declare (the page and the CLI resize to at most 8192).
pub const MAX_IMAGE_SIDE: usize = 1 << 16;
/// Normalisation and ISTA constants outside these ranges make float32 overflow.
pub const MIN_STD: f32 = 1e-6;
pub const MAX_STD: f32 = 1e6;
pub const MAX_MEAN: f32 = 1e6;
pub const MAX_ISTA: f32 = 1e3;

pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// Pixel statistics of the Fashion-MNIST training set (after scaling to [0, 1]).
pub const FMNIST_MEAN: [f32; 1] = [0.2860];
pub const FMNIST_STD: [f32; 1] = [0.3530];
/// Pixel statistics of the CIFAR-10 training set, the usual choice for 32×32 RGB.
pub const CIFAR_MEAN: [f32; 3] = [0.4914, 0.4822, 0.4465];
pub const CIFAR_STD: [f32; 3] = [0.2470, 0.2435, 0.2616];

pub const FMNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

fn default_eta() -> f32 {
    0.1
}
fn default_lambda() -> f32 {
    0.1
}

/// The shape of a CRATE model and its input convention. Serialised as the `config` entry of a
/// safetensors file's `__metadata__`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrateConfig {
    /// Token dimension d.
    pub dim: usize,
    /// Number of layers L.
    pub depth: usize,
    /// Number of heads (subspaces) K; d must be a multiple of K.
    pub heads: usize,
    /// Patch side p.
    pub patch: usize,
    /// Training input size [h, w]; the position embedding has (h/p)*(w/p) + 1 entries.
    pub image: [usize; 2],
    /// Input channels C (3 for RGB, 1 for grayscale).
    pub channels: usize,
    /// Number of output classes.
    pub classes: usize,
    /// ISTA step size.
    #[serde(default = "default_eta")]
    pub eta: f32,
    /// ISTA sparsity penalty.
    #[serde(default = "default_lambda")]
    pub lambda: f32,
    /// Per-channel normalisation applied to pixels scaled to [0, 1].
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    /// The segmentation demo's released variant: `mlp_head.1` maps d to this width and an extra
    /// `head` Linear maps it to the classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_head_dim: Option<usize>,
}

/// Names of the presets, in the order `--help` lists them.
pub const PRESETS: [&str; 11] = [
    "crate-t",
    "crate-s",
    "crate-b",
    "crate-l",
    "crate-b8-demo",
    "crate-s8-21k",
    "crate-fmnist",
    "crate-c32",
    "crate-tiny",
    "crate-mini",
    "crate-shapes",
];

/// The fresh models the page offers for training in a browser, cheapest first (see
/// [`CrateConfig::preset_description`]; `whitebox bench --train --threads 1` measures them).
pub const BROWSER_PRESETS: [&str; 3] = ["crate-tiny", "crate-mini", "crate-fmnist"];

impl CrateConfig {
    fn imagenet(dim: usize, depth: usize, heads: usize, patch: usize, classes: usize) -> Self {
        Self {
            dim,
            depth,
            heads,
            patch,
            image: [224, 224],
            channels: 3,
            classes,
            eta: 0.1,
            lambda: 0.1,
            mean: IMAGENET_MEAN.to_vec(),
            std: IMAGENET_STD.to_vec(),
            class_names: None,
            pre_head_dim: None,
        }
    }

    /// A named preset (see [`PRESETS`]).
    pub fn preset(name: &str) -> Result<Self> {
        Ok(match name {
            "crate-t" => Self::imagenet(384, 12, 6, 16, 1000),
            "crate-s" => Self::imagenet(576, 12, 12, 16, 1000),
            "crate-b" => Self::imagenet(768, 12, 12, 16, 1000),
            "crate-l" => Self::imagenet(1024, 24, 16, 16, 1000),
            "crate-b8-demo" => Self {
                pre_head_dim: Some(768),
                ..Self::imagenet(768, 12, 6, 8, 21842)
            },
            "crate-s8-21k" => Self::imagenet(384, 12, 6, 8, 21842),
            // 28×28 grayscale, 7×7 patches of 4×4: small enough to train in a browser.
            "crate-fmnist" => Self {
                dim: 128,
                depth: 6,
                heads: 4,
                patch: 4,
                image: [28, 28],
                channels: 1,
                classes: 10,
                eta: 0.1,
                lambda: 0.1,
                mean: FMNIST_MEAN.to_vec(),
                std: FMNIST_STD.to_vec(),
                class_names: Some(FMNIST_CLASSES.iter().map(|s| s.to_string()).collect()),
                pre_head_dim: None,
            },
            // 32×32 RGB (CIFAR-sized), 8×8 patches of 4×4.
            "crate-c32" => Self {
                dim: 192,
                depth: 8,
                heads: 6,
                patch: 4,
                image: [32, 32],
                channels: 3,
                classes: 10,
                eta: 0.1,
                lambda: 0.1,
                mean: CIFAR_MEAN.to_vec(),
                std: CIFAR_STD.to_vec(),
                class_names: None,
                pre_head_dim: None,
            },
            // Small enough to train in a browser in seconds to minutes (BROWSER_PRESETS).
            "crate-tiny" => Self {
                dim: 64,
                depth: 4,
                heads: 4,
                ..Self::preset("crate-c32")?
            },
            "crate-mini" => Self {
                depth: 3,
                ..Self::preset("crate-fmnist")?
            },
            // 64×64 RGB in 8×8 patches (an 8×8 grid): the bundled shapes model's shape
            // (`whitebox train --dataset shapes`, web/models/crate-shapes.json).
            "crate-shapes" => Self {
                dim: 64,
                depth: 16,
                heads: 4,
                patch: 8,
                image: [64, 64],
                channels: 3,
                classes: 5,
                eta: 0.1,
                lambda: 0.1,
                // The shapes' colours are symmetric around mid-grey in every channel.
                mean: vec![0.5; 3],
                std: vec![0.25; 3],
                class_names: Some(Shape::ALL.iter().map(|s| s.name().to_string()).collect()),
                pre_head_dim: None,
            },
            other => {
                return Err(Error::Config(format!(
                    "unknown preset `{other}`; known presets: {}",
                    PRESETS.join(", ")
                )))
            }
        })
    }

    /// One line on what a preset is and what it is for.
    pub fn preset_description(name: &str) -> Option<&'static str> {
        Some(match name {
            "crate-t" => "CRATE-T: d=384, 12 layers, 6 heads, 224×224 RGB in 16×16 patches (ImageNet-1k)",
            "crate-s" => "CRATE-S: d=576, 12 layers, 12 heads, 224×224 RGB in 16×16 patches (ImageNet-1k)",
            "crate-b" => "CRATE-B: d=768, 12 layers, 12 heads, 224×224 RGB in 16×16 patches (ImageNet-1k)",
            "crate-l" => "CRATE-L: d=1024, 24 layers, 16 heads, 224×224 RGB in 16×16 patches (ImageNet-1k)",
            "crate-b8-demo" => "the segmentation demo's CRATE-B/8: d=768, 12 layers, 6 heads, 8×8 patches, 21,842 classes",
            "crate-s8-21k" => "CRATE-S/8: d=384, 12 layers, 6 heads, 8×8 patches, ImageNet-21k's 21,842 classes",
            "crate-fmnist" => "d=128, 6 layers, 4 heads, 28×28 grey in 4×4 patches: the bundled Fashion-MNIST model's shape",
            "crate-c32" => "d=192, 8 layers, 6 heads, 32×32 RGB in 4×4 patches (CIFAR-sized)",
            "crate-tiny" => "d=64, 4 layers, 4 heads, 32×32 RGB in 4×4 patches: the quickest to train; for subspaces (any input) and shapes",
            "crate-mini" => "d=128, 3 layers, 4 heads, 28×28 grey in 4×4 patches: crate-fmnist at half the depth and cost; for Fashion-MNIST and own images",
            "crate-shapes" => "d=64, 16 layers, 4 heads, 64×64 RGB in 8×8 patches: the bundled shapes model's shape",
            _ => return None,
        })
    }

    /// The preset's head count for a model of this width, used when a checkpoint does not say.
    /// Returns the preset name too, so that callers can say what they assumed.
    pub fn heads_for(dim: usize, patch: usize) -> Option<(usize, &'static str)> {
        match (dim, patch) {
            (384, 16) => Some((6, "crate-t")),
            (576, _) => Some((12, "crate-s")),
            (768, 16) => Some((12, "crate-b")),
            (1024, _) => Some((16, "crate-l")),
            (768, 8) => Some((6, "crate-b8-demo")),
            (384, 8) => Some((6, "crate-s8-21k")),
            (128, _) => Some((4, "crate-fmnist")),
            (192, _) => Some((6, "crate-c32")),
            (64, _) => Some((4, "crate-tiny")),
            _ => None,
        }
    }

    pub fn head_dim(&self) -> usize {
        self.dim / self.heads
    }

    /// Patch vector length P = p·p·C.
    pub fn patch_len(&self) -> usize {
        self.patch * self.patch * self.channels
    }

    /// Patch grid (rows, cols) for the training size.
    pub fn grid(&self) -> (usize, usize) {
        (self.image[0] / self.patch, self.image[1] / self.patch)
    }

    /// Tokens N = n + 1 at the training size.
    pub fn tokens(&self) -> usize {
        self.tokens_at(self.image)
    }

    /// Tokens N = n + 1 for an input of `[h, w]` pixels (the grid's whole patches and CLS).
    pub fn tokens_at(&self, [h, w]: [usize; 2]) -> usize {
        (h / self.patch) * (w / self.patch) + 1
    }

    /// The parameter count, with every product checked (`None` when it overflows).
    pub fn param_count(&self) -> Option<u64> {
        let d = self.dim as u64;
        let (gh, gw) = (
            (self.image[0] / self.patch.max(1)) as u64,
            (self.image[1] / self.patch.max(1)) as u64,
        );
        let tokens = gh.checked_mul(gw)?.checked_add(1)?;
        let pl = (self.patch as u64)
            .checked_mul(self.patch as u64)?
            .checked_mul(self.channels as u64)?;
        let embed = pl
            .checked_mul(d.checked_add(2)?)?
            .checked_add(d.checked_mul(3)?)?;
        let pos = tokens.checked_add(1)?.checked_mul(d)?;
        let layer = d
            .checked_mul(d)?
            .checked_mul(3)?
            .checked_add(d.checked_mul(5)?)?;
        let layers = layer.checked_mul(self.depth as u64)?;
        let classes = self.classes as u64;
        let head = match self.pre_head_dim {
            None => classes.checked_mul(d.checked_add(1)?)?,
            Some(m) => {
                let m = m as u64;
                m.checked_mul(d.checked_add(1)?)?
                    .checked_add(classes.checked_mul(m.checked_add(1)?)?)?
            }
        };
        [pos, layers, head, d.checked_mul(2)?]
            .into_iter()
            .try_fold(embed, |a, x| a.checked_add(x))
    }

    /// Checks the internal consistency of the config, and that every size derived from it
    /// (grid, tokens, parameter count) is computable and within [`limits::PARAMS`]: a config
    /// comes from a file's metadata, so its numbers may be anything.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.dim == 0 || self.depth == 0 || self.heads == 0 || self.patch == 0 {
            return bad("dim, depth, heads and patch must all be positive".into());
        }
        if self.channels == 0 || self.classes == 0 {
            return bad("channels and classes must be positive".into());
        }
        if !self.dim.is_multiple_of(self.heads) {
            return bad(format!(
                "dim {} is not a multiple of heads {}",
                self.dim, self.heads
            ));
        }
        if !self.image[0].is_multiple_of(self.patch)
            || !self.image[1].is_multiple_of(self.patch)
            || self.image[0] == 0
            || self.image[1] == 0
        {
            return bad(format!(
                "image size {}x{} is not a positive multiple of the patch size {}",
                self.image[0], self.image[1], self.patch
            ));
        }
        if self.image[0] > MAX_IMAGE_SIDE || self.image[1] > MAX_IMAGE_SIDE {
            return bad(format!(
                "image size {}x{} is over the {MAX_IMAGE_SIDE} pixel limit per side",
                self.image[0], self.image[1]
            ));
        }
        match self.param_count() {
            Some(n) if n <= limits::PARAMS => {}
            n => {
                return bad(format!(
                    "dim {}, depth {}, patch {}, image {}x{}, {} channels and {} classes make {} \
                     parameters, over the limit of {} ({} of float32)",
                    self.dim,
                    self.depth,
                    self.patch,
                    self.image[0],
                    self.image[1],
                    self.channels,
                    self.classes,
                    n.map_or("more than 2^64".to_string(), |n| n.to_string()),
                    limits::PARAMS,
                    fmt_bytes(limits::PARAMS * 4)
                ))
            }
        }
        if self.mean.len() != self.channels || self.std.len() != self.channels {
            return bad(format!(
                "mean and std need one value per channel ({} channels; got {} and {})",
                self.channels,
                self.mean.len(),
                self.std.len()
            ));
        }
        // Outside these ranges the normalised pixels or the ISTA step overflow float32 and the
        // model's outputs are NaN or infinite.
        if self
            .std
            .iter()
            .any(|s| !s.is_finite() || !(MIN_STD..=MAX_STD).contains(s))
        {
            return bad(format!(
                "std values must be between {MIN_STD:e} and {MAX_STD:e}, got {:?}",
                self.std
            ));
        }
        if self
            .mean
            .iter()
            .any(|m| !m.is_finite() || m.abs() > MAX_MEAN)
        {
            return bad(format!(
                "mean values must be finite, at most {MAX_MEAN:e} in magnitude, got {:?}",
                self.mean
            ));
        }
        for (name, v) in [("eta", self.eta), ("lambda", self.lambda)] {
            if !v.is_finite() || v.abs() > MAX_ISTA {
                return bad(format!(
                    "{name} must be finite, at most {MAX_ISTA} in magnitude, got {v:e}"
                ));
            }
        }
        if let Some(names) = &self.class_names {
            if names.len() != self.classes {
                return bad(format!(
                    "{} class names for {} classes",
                    names.len(),
                    self.classes
                ));
            }
        }
        if self.pre_head_dim == Some(0) {
            return bad("pre_head_dim must be positive".into());
        }
        Ok(())
    }

    /// The display name of class `i`.
    pub fn class_name(&self, i: usize) -> String {
        self.class_names
            .as_ref()
            .and_then(|n| n.get(i).cloned())
            .unwrap_or_else(|| format!("class {i}"))
    }
}

impl CrateConfig {
    /// Multiply-adds ×2 of one forward pass on an `h`×`w` input: the linear maps, the attention
    /// products and the head (LayerNorms, softmax and element-wise work are not counted).
    pub fn forward_flops(&self, h: usize, w: usize) -> f64 {
        let (d, p) = (self.dim as f64, self.patch);
        let n = ((h / p) * (w / p)) as f64;
        let nt = n + 1.0;
        let embed = 2.0 * n * self.patch_len() as f64 * d;
        // What the engines compute: qkv, to_out and ISTA's one product with its folded operator
        // (`cpu::ista`; the official code does three): 3 (N, d)·(d, d); scores and A·w: 2 N²·d.
        // The operators themselves (d³ per layer, once per model) are not counted.
        let layer = 6.0 * nt * d * d + 4.0 * nt * nt * d;
        let head = match self.pre_head_dim {
            None => 2.0 * d * self.classes as f64,
            Some(m) => 2.0 * d * m as f64 + 2.0 * m as f64 * self.classes as f64,
        };
        embed + self.depth as f64 * layer + head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        for p in PRESETS {
            let c = CrateConfig::preset(p).unwrap();
            c.validate().unwrap();
            let (h, name) = CrateConfig::heads_for(c.dim, c.patch).unwrap();
            assert_eq!(h, c.heads, "{p} vs {name}");
            let d = CrateConfig::preset_description(p).unwrap();
            assert!(d.contains(&format!("d={}", c.dim)), "{p}: {d}");
        }
        for p in BROWSER_PRESETS {
            assert!(PRESETS.contains(&p));
        }
        assert_eq!(CrateConfig::preset_description("crate-xl"), None);
    }

    #[test]
    fn unknown_preset_lists_known_ones() {
        let e = CrateConfig::preset("crate-xl").unwrap_err().to_string();
        assert!(e.contains("crate-xl") && e.contains("crate-t"), "{e}");
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn wrapped_grid_and_huge_sizes_are_refused() {
        let mut c = CrateConfig::preset("crate-fmnist").unwrap();
        // A grid of 2^40 × 2^20 patches: its product overflows usize arithmetic downstream.
        c.image = [4 << 40, 4 << 20];
        assert!(c.validate().is_err());
        c.image = [4 << 14, 4 << 14];
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("parameters"), "{e}");
        let mut c = CrateConfig::preset("crate-fmnist").unwrap();
        c.classes = 100_000_000_000;
        c.class_names = None;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("over the limit"), "{e}");
        for p in PRESETS {
            let c = CrateConfig::preset(p).unwrap();
            assert!(c.param_count().unwrap() <= limits::PARAMS);
        }
    }

    #[test]
    fn values_that_overflow_float32_are_refused() {
        let base = CrateConfig::preset("crate-fmnist").unwrap();
        let mut c = base.clone();
        c.std = vec![1e-45];
        assert!(c.validate().unwrap_err().to_string().contains("std"));
        let mut c = base.clone();
        c.mean = vec![1e30];
        assert!(c.validate().unwrap_err().to_string().contains("mean"));
        let mut c = base;
        c.eta = 3e38;
        assert!(c.validate().unwrap_err().to_string().contains("eta"));
    }
}
