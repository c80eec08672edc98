//! `CrateConfig`: everything that fixes the shape of a CRATE model and how its inputs are
//! prepared, with the presets of the released models and small ones for quick training.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
pub const PRESETS: [&str; 8] = [
    "crate-t",
    "crate-s",
    "crate-b",
    "crate-l",
    "crate-b8-demo",
    "crate-s8-21k",
    "crate-fmnist",
    "crate-c32",
];

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
            other => {
                return Err(Error::Config(format!(
                    "unknown preset `{other}`; known presets: {}",
                    PRESETS.join(", ")
                )))
            }
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
        let (gh, gw) = self.grid();
        gh * gw + 1
    }

    /// Checks the internal consistency of the config.
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
        if self.mean.len() != self.channels || self.std.len() != self.channels {
            return bad(format!(
                "mean and std need one value per channel ({} channels; got {} and {})",
                self.channels,
                self.mean.len(),
                self.std.len()
            ));
        }
        if self.std.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return bad("std values must be positive and finite".into());
        }
        if !self.eta.is_finite() || !self.lambda.is_finite() {
            return bad("eta and lambda must be finite".into());
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
        // qkv, to_out and the two ISTA products: 4 (N, d)·(d, d); scores and A·w: 2 N²·d.
        let layer = 8.0 * nt * d * d + 4.0 * nt * nt * d;
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
        }
    }

    #[test]
    fn unknown_preset_lists_known_ones() {
        let e = CrateConfig::preset("crate-xl").unwrap_err().to_string();
        assert!(e.contains("crate-xl") && e.contains("crate-t"), "{e}");
    }
}
