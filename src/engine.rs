//! The `Engine` trait every backend implements, and the per-layer [`Trace`] it returns.
//!
//! Shapes: B images, N tokens (CLS first), d channels, K heads.

use serde::Serialize;

use crate::error::Result;
use crate::tensor::Tensor;

/// What a forward pass should record beyond the logits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForwardOptions {
    /// Record the per-layer token states and MSSA projections.
    pub trace: bool,
    /// Record attention probabilities (B, K, N, N) for every layer (needs `trace`).
    pub attention: bool,
    /// Compute the per-layer measures (R^c before and after MSSA, ISTA sparsity) of every
    /// image, without returning the trace tensors they come from.
    pub stats: bool,
    /// Record, per layer, the CLS query row of every head's attention (B, K, N), without the
    /// full (B, K, N, N) probabilities.
    pub cls: bool,
}

/// One layer's recorded state for a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerTrace {
    /// Z^l, the layer input (B, N, d).
    pub z: Tensor,
    /// Z^{l+1/2}, after the MSSA step (B, N, d).
    pub zhalf: Tensor,
    /// Z^{l+1}, the ISTA output (B, N, d).
    pub zout: Tensor,
    /// The MSSA projection w = LN(Z^l) U^T (B, N, d); head k is columns k*dh..(k+1)*dh.
    pub proj_in: Tensor,
    /// The same layer's norm and U applied to Z^{l+1/2} (B, N, d), for R^c after the MSSA step.
    pub proj_half: Tensor,
    /// Attention probabilities A_k (B, K, N, N), when asked for.
    pub attn: Option<Tensor>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    pub layers: Vec<LayerTrace>,
}

/// One layer's measures for one image (CRATE-SPEC.md "Measures"; computed by
/// [`crate::analysis::layer_stats`] from a trace, or by an engine's measures path).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LayerStats {
    /// R^c of the MSSA input (LN(Z^l) projected on the layer's subspaces).
    pub rc_in: f64,
    /// R^c after the MSSA step (LN_l(Z^{l+1/2}) through the same norm and subspaces).
    pub rc_out: f64,
    /// Fraction of non-zero entries of the ISTA output Z^{l+1}.
    pub sparsity: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ForwardOutput {
    /// (B, classes)
    pub logits: Tensor,
    pub trace: Option<Trace>,
    /// Per-layer measures `[image][layer]`, when `ForwardOptions::stats` was asked for.
    pub stats: Option<Vec<Vec<LayerStats>>>,
    /// Per layer, the CLS attention rows (B, K, N), when `ForwardOptions::cls` was asked for.
    pub cls: Option<Vec<Tensor>>,
}

/// A way of running CRATE. `images` is (B, C, H, W), already normalised; H and W are multiples
/// of the patch size (position embeddings are interpolated for sizes other than the config's).
pub trait Engine {
    /// A short name for reports ("cpu", "gpu").
    fn name(&self) -> &str;
    fn forward(&mut self, images: &Tensor, opts: ForwardOptions) -> Result<ForwardOutput>;
}
