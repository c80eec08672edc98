//! The Subspaces view's numbers (issue 11): how one image's tokens sit in each head's subspace,
//! which head claims which patch, per-head compression, how the heads' subspaces overlap, which
//! dictionary atoms the ISTA step uses, and the singular-value spectra layer by layer.
//!
//! Engine-agnostic: everything is computed from a [`Trace`] (`z`, `zhalf`, `zout`, `proj_in`,
//! `proj_half` of every layer) and the weights, in f64 on the CPU. `tools/subspaces_ref.py` is the
//! independent NumPy reference and documents the same definitions.
//!
//! Notation (CRATE-SPEC.md, row vectors; layer l, head k, image b, N tokens with CLS first):
//! `a_in = LN_{l,0}(Z^l)`, `a_half = LN_{l,0}(Z^{l+1/2})`, `a_next = LN_{l,0}(Z^{l+1})`, all three
//! through layer l's `.0.norm`; `W = a U^T` with `U` the MSSA block's `qkv` weight; head k's coordinates
//! `X_k = W[:, k*dh..(k+1)*dh]` (the trace's `proj_in`/`proj_half` for before/after; `next` is
//! computed here). Per-token arrays have N entries, CLS first, then the patches row-major.

mod batch;
mod cache;
pub mod codes;
pub mod compression;
pub mod energy;
pub mod geometry;
pub mod scatter;
pub mod spectra;

pub use batch::{batch_report, BatchReport, ClassSummary};
pub use cache::{SubspaceBuilder, SubspaceCache};
pub use codes::{sparse_codes, Histogram, HistogramBins, SparseCodes};
pub use compression::{head_rates, HeadRates};
pub use energy::{head_energy, HeadEnergy};
pub use geometry::{overlap, random_overlap, Overlap};
pub use scatter::{fit_axes, scatter, Axes, Scatter};
pub use spectra::{singular_values, spectrum, token_spectra, Spectra, Spectrum};

use serde::{Deserialize, Serialize};

use crate::engine::{LayerTrace, Trace};
use crate::error::{Error, Result};
use crate::model::{CrateConfig, Params};
use crate::model::{MssaWeights, Weights};

/// What to compute beyond the (layer, head) choice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubspaceOptions {
    /// Which image of the traced batch.
    pub image: usize,
    /// Principal axes of the scatter: 2 or 3 (at most dh).
    pub axes: usize,
    /// The dictionary atom whose activation map is returned; `None`: the most used one.
    pub atom: Option<usize>,
    pub histogram: HistogramBins,
}

impl Default for SubspaceOptions {
    fn default() -> Self {
        Self {
            image: 0,
            axes: 3,
            atom: None,
            histogram: HistogramBins::default(),
        }
    }
}

/// Everything the view plots for one image, one layer and one head (`#wb-subspace-report`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SubspaceReport {
    pub image: usize,
    pub layer: usize,
    pub head: usize,
    pub heads: usize,
    pub head_dim: usize,
    /// N, CLS included.
    pub tokens: usize,
    /// Head `head`'s coordinates before/after the MSSA step and of the next layer's input, on
    /// the principal axes of the "before" set.
    pub scatter: Scatter,
    /// Per token, how its `a_in` splits over the heads.
    pub energy: HeadEnergy,
    /// Per layer (all of them), per-head R^c before and after the MSSA step.
    pub compression: Vec<HeadRates>,
    /// Per-head R^c of `a_next` through the chosen layer's subspaces.
    pub rc_next: Vec<f64>,
    /// The chosen layer's subspace geometry (weights only).
    pub overlap: Overlap,
    /// The chosen layer's ISTA output Z^{l+1}.
    pub codes: SparseCodes,
    /// Singular-value spectra of the tokens and of each head's projection, every layer.
    pub spectra: Spectra,
}

/// The shape of a trace: B images, N tokens, d channels, K heads of dh, L layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    pub images: usize,
    pub tokens: usize,
    pub dim: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub depth: usize,
}

impl Dims {
    /// Checks a trace against the config (every layer recorded, shapes agreeing) and the
    /// requested layer and head.
    pub fn of(cfg: &CrateConfig, trace: &Trace, layer: usize, head: usize) -> Result<Self> {
        let first = trace.layers.first().ok_or_else(|| {
            Error::Input("the subspace analysis needs a traced forward (no layers recorded)".into())
        })?;
        if trace.layers.len() != cfg.depth {
            return Err(Error::Input(format!(
                "the trace has {} layers, the model {}",
                trace.layers.len(),
                cfg.depth
            )));
        }
        let [b, n, d] = first.z.shape[..] else {
            return Err(Error::Input(format!(
                "trace tensors should be (B, N, d), got {}",
                first.z.shape_str()
            )));
        };
        if d != cfg.dim || n < 2 || b == 0 {
            return Err(Error::Input(format!(
                "trace tensors {} do not fit a model of dim {} (need at least one patch)",
                first.z.shape_str(),
                cfg.dim
            )));
        }
        for (l, lt) in trace.layers.iter().enumerate() {
            for (name, t) in [
                ("z", &lt.z),
                ("zhalf", &lt.zhalf),
                ("zout", &lt.zout),
                ("proj_in", &lt.proj_in),
                ("proj_half", &lt.proj_half),
            ] {
                if t.shape != first.z.shape || t.data.len() != b * n * d {
                    return Err(Error::Input(format!(
                        "trace layer {l} `{name}` has shape {}, expected {}",
                        t.shape_str(),
                        first.z.shape_str()
                    )));
                }
            }
        }
        if layer >= cfg.depth {
            return Err(Error::Input(format!(
                "layer {layer} out of range (the model has {})",
                cfg.depth
            )));
        }
        if head >= cfg.heads {
            return Err(Error::Input(format!(
                "head {head} out of range (the model has {})",
                cfg.heads
            )));
        }
        Ok(Self {
            images: b,
            tokens: n,
            dim: d,
            heads: cfg.heads,
            head_dim: d / cfg.heads,
            depth: cfg.depth,
        })
    }

    /// The (N, d) rows of image `b` of a (B, N, d) buffer.
    pub fn image<'a>(&self, data: &'a [f32], b: usize) -> &'a [f32] {
        &data[b * self.tokens * self.dim..][..self.tokens * self.dim]
    }
}

/// The weights of one layer that fix its subspaces: the MSSA block's `.0.norm` and `U`
/// (rows k*dh..(k+1)*dh of `qkv` span head k's subspace).
pub type LayerWeights<'a> = MssaWeights<&'a [f32]>;

/// Layer `layer`'s [`LayerWeights`] (checked against `cfg`).
pub fn layer_weights<'a>(
    params: &'a Params,
    cfg: &CrateConfig,
    layer: usize,
) -> Result<LayerWeights<'a>> {
    let w = Weights::view(cfg, params)?;
    w.layers.get(layer).map(|l| l.mssa).ok_or_else(|| {
        Error::Input(format!(
            "layer {layer} does not exist (the model has {} layers)",
            cfg.depth
        ))
    })
}

/// The next layer's input `Z^{l+1}` of image `b` through layer l's norm and U (N, d), in f64.
pub fn next_projection(lt: &LayerTrace, w: &LayerWeights, dims: &Dims, b: usize) -> Vec<f64> {
    let a = geometry::layer_norm(dims.image(&lt.zout.data, b), dims.dim, w.norm_w, w.norm_b);
    geometry::project(&a, dims.tokens, dims.dim, w.qkv)
}

/// The Subspaces view's report for image `opts.image`, layer `layer`, head `head` of a traced
/// forward of `params` (every layer recorded; attention probabilities not needed).
pub fn subspace_report(
    params: &Params,
    cfg: &CrateConfig,
    trace: &Trace,
    layer: usize,
    head: usize,
    opts: &SubspaceOptions,
) -> Result<SubspaceReport> {
    let dims = Dims::of(cfg, trace, layer, head)?;
    let b = opts.image;
    if b >= dims.images {
        return Err(Error::Input(format!(
            "image {b} out of range (the trace holds {})",
            dims.images
        )));
    }
    let (n, d, heads, dh) = (dims.tokens, dims.dim, dims.heads, dims.head_dim);
    let lt = &trace.layers[layer];
    let w = layer_weights(params, cfg, layer)?;

    let w_in = dims.image(&lt.proj_in.data, b);
    let w_half = dims.image(&lt.proj_half.data, b);
    let w_next = next_projection(lt, &w, &dims, b);
    let before = geometry::head_columns(w_in, n, d, dh, head);
    let after = geometry::head_columns(w_half, n, d, dh, head);
    let next = geometry::head_columns(&w_next, n, d, dh, head);
    let scatter = scatter::scatter(&before, &after, &next, n, dh, opts.axes)?;

    let a_in = geometry::layer_norm(dims.image(&lt.z.data, b), d, w.norm_w, w.norm_b);
    let q = geometry::orthonormal_bases(w.qkv, d, heads);
    let energy = energy::head_energy(w_in, &a_in, &q, n, d, heads);

    let compression = trace
        .layers
        .iter()
        .map(|l| HeadRates {
            rc_in: head_rates(dims.image(&l.proj_in.data, b), n, d, heads),
            rc_out: head_rates(dims.image(&l.proj_half.data, b), n, d, heads),
        })
        .collect();
    // R^c is defined on what an engine hands over, f32 projections.
    let w_next32: Vec<f32> = w_next.iter().map(|&v| v as f32).collect();
    let rc_next = head_rates(&w_next32, n, d, heads);

    Ok(SubspaceReport {
        image: b,
        layer,
        head,
        heads,
        head_dim: dh,
        tokens: n,
        scatter,
        energy,
        compression,
        rc_next,
        overlap: geometry::overlap(w.qkv, d, heads),
        codes: codes::sparse_codes(
            dims.image(&lt.zout.data, b),
            n,
            d,
            &opts.histogram,
            opts.atom,
        )?,
        spectra: spectra::token_spectra(trace, &dims, b),
    })
}
