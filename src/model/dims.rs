//! The sizes of one forward or training step, passed to every op instead of positional
//! `(b, nt, d, heads)` arguments.

use crate::model::config::CrateConfig;

/// Batch, tokens per image (CLS included), width and heads of one pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    pub b: usize,
    /// Tokens per image, CLS included (`N = n + 1`).
    pub nt: usize,
    pub d: usize,
    pub heads: usize,
}

impl Dims {
    /// A batch of `b` images of `nt` tokens through a model with `cfg`'s width and heads.
    pub fn new(cfg: &CrateConfig, b: usize, nt: usize) -> Self {
        Self {
            b,
            nt,
            d: cfg.dim,
            heads: cfg.heads,
        }
    }

    /// Token rows of the whole batch, `B * N`.
    pub fn rows(&self) -> usize {
        self.b * self.nt
    }

    /// Patches per image, `n = N - 1`.
    pub fn patches(&self) -> usize {
        self.nt - 1
    }

    /// Head width `dh = d / K`.
    pub fn dh(&self) -> usize {
        self.d / self.heads
    }

    /// Floats of one (B*N, d) activation.
    pub fn acts(&self) -> usize {
        self.rows() * self.d
    }

    /// Floats of the attention probabilities (B, K, N, N).
    pub fn probs(&self) -> usize {
        self.b * self.heads * self.nt * self.nt
    }
}
