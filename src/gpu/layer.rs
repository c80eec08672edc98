//! The CRATE forward on the GPU, written once: [`record_embed`], [`record_layer`] (and the head,
//! [`super::head::head`]) record the kernel sequence into a [`Recorder`]. [`super::GpuEngine`] calls them
//! with one set of reused buffers (and read-back copies), the training step
//! ([`super::train`]) with per-layer buffers it keeps for the backward. The CPU twin is
//! `cpu::Forward::step`; the op-by-op reference is `grad::forward`.

use super::layernorm::{layer_norm, LnParams};
use super::matmul::{linear, Matmul, MatmulParams};
use super::{embed, mssa, Recorder};
use crate::error::Result;
use crate::model::{Dims, EmbedWeights, LayerWeights};

type Buf = wgpu::Buffer;

/// The buffers of the embedding: images in, `z` (B*N, d) out; the rest are its intermediates
/// (the training step keeps them for the backward).
pub struct EmbedBuffers<'a> {
    /// (B, C, H, W).
    pub img: &'a Buf,
    /// Patch vectors and their LayerNorm (B*n, P).
    pub patches: &'a Buf,
    pub lnp: &'a Buf,
    /// The patch embeddings before and after their LayerNorm (B*n, d).
    pub e: &'a Buf,
    pub e2: &'a Buf,
    /// `Z^1` (B*N, d).
    pub z: &'a Buf,
}

/// Records the patch embedding of images `[C, H, W, patch]`: patchify, `LN_P`, linear, `LN_d`,
/// then `[cls ; e] + pos`. `pos` (N, d) is the position embedding at this input's grid.
pub fn record_embed(
    rec: &mut Recorder,
    w: &EmbedWeights<Buf>,
    pos: &Buf,
    x: &EmbedBuffers,
    [c, h, wd, p]: [usize; 4],
    dims: Dims,
) {
    let (b, n, d) = (dims.b, dims.patches(), dims.d);
    let pl = p * p * c;
    embed::patchify(rec, x.img, x.patches, [b, c, h, wd], p);
    layer_norm(
        rec,
        x.patches,
        &w.ln1_w,
        &w.ln1_b,
        x.lnp,
        LnParams::rows(b * n, pl),
    );
    linear(rec, x.lnp, &w.w, Some(&w.b), x.e, [b * n, d, pl]);
    layer_norm(rec, x.e, &w.ln2_w, &w.ln2_b, x.e2, LnParams::rows(b * n, d));
    embed::assemble(rec, x.e2, &w.cls, pos, x.z, dims);
}

/// The buffers of one layer (each (B*N, d) unless said otherwise). Inference reuses one set for
/// every layer; training passes each layer's own, which the backward reads.
pub struct LayerBuffers<'a> {
    /// `Z^l`, the layer's input.
    pub z: &'a Buf,
    /// `a = LN(Z^l)`.
    pub a: &'a Buf,
    /// `w = a U^T`: every head's projection.
    pub proj: &'a Buf,
    /// The heads' attention outputs, concatenated.
    pub o: &'a Buf,
    /// `Z^{l+1/2}`.
    pub zhalf: &'a Buf,
    /// `y = LN(Z^{l+1/2})` and `r = y - y D^T` (unused with `ista_op`).
    pub y: &'a Buf,
    pub r: &'a Buf,
    /// The layer's ISTA operator `D - D^T D` (d, d) when the dictionary is fixed (inference,
    /// see [`record_ista_operator`]): the ISTA step is then one matmul instead of two.
    pub ista_op: Option<&'a Buf>,
    /// `Z^{l+1}`, the layer's output.
    pub zout: &'a Buf,
    /// The attention probabilities (B, K, N, N), when they are kept.
    pub probs: Option<&'a Buf>,
    /// Each head's CLS attention row (B, K, N) written at this float offset, when asked for.
    pub cls: Option<(&'a Buf, usize)>,
}

/// Records one CRATE layer: MSSA (`a = LN(z)`, `w = a U^T`, attention, `z + o W_o^T + b_o`),
/// then ISTA (`y = LN(z_half)`, `r = y - y D^T`, `ReLU(y + eta r D - eta lambda)`).
pub fn record_layer(
    rec: &mut Recorder,
    w: &LayerWeights<Buf>,
    x: &LayerBuffers,
    dims: Dims,
    [eta, lambda]: [f32; 2],
) -> Result<()> {
    let (rows, d) = (dims.rows(), dims.d);
    let ln = LnParams::rows(rows, d);
    let m = &w.mssa;
    layer_norm(rec, x.z, &m.norm_w, &m.norm_b, x.a, ln);
    linear(rec, x.a, &m.qkv, None, x.proj, [rows, d, d]);
    mssa::attention_with_cls(rec, x.proj, x.o, x.probs, x.cls, dims)?;
    Matmul {
        a: x.o,
        b: &m.out_w,
        c: x.zhalf,
        bias: Some(&m.out_b),
        extra: Some(x.z),
        trans_b: true,
        relu: false,
        batch: 1,
        params: MatmulParams::dense(rows, d, d, true),
    }
    .record(rec);
    let i = &w.ista;
    layer_norm(rec, x.zhalf, &i.norm_w, &i.norm_b, x.y, ln);
    match x.ista_op {
        Some(op) => record_ista_fused(rec, op, [x.y, x.zout], [rows, d], [eta, lambda]),
        None => record_ista_step(rec, &i.dict, [x.y, x.r, x.zout], [rows, d], [eta, lambda]),
    }
    Ok(())
}

/// `op = D - D^T D` for the dictionary `D` (d, d) and its transpose `dt` (uploaded by the
/// caller): the matrix [`record_ista_fused`] multiplies by. The CPU twin is
/// `cpu::ista::operator`.
pub fn record_ista_operator(rec: &mut Recorder, [dict, dt, op]: [&Buf; 3], d: usize) {
    // op = D - Dt Dt^T, with Dt Dt^T = D^T D.
    Matmul {
        a: dt,
        b: dt,
        c: op,
        bias: None,
        extra: Some(dict),
        trans_b: true,
        relu: false,
        batch: 1,
        params: MatmulParams {
            alpha: -1.0,
            ..MatmulParams::dense(d, d, d, true)
        },
    }
    .record(rec);
}

/// ISTA's proximal step with the dictionary folded into `op = D - D^T D`:
/// `zout = ReLU(y + eta y op - eta lambda)`, one matmul. The CPU twin is `cpu::ista::ista`.
pub fn record_ista_fused(
    rec: &mut Recorder,
    op: &Buf,
    [y, zout]: [&Buf; 2],
    [rows, d]: [usize; 2],
    [eta, lambda]: [f32; 2],
) {
    Matmul {
        a: y,
        b: op,
        c: zout,
        bias: None,
        extra: Some(y),
        trans_b: false,
        relu: true,
        batch: 1,
        params: MatmulParams {
            alpha: eta,
            shift: eta * lambda,
            ..MatmulParams::dense(rows, d, d, false)
        },
    }
    .record(rec);
}

/// ISTA's proximal step after its LayerNorm, in two matmuls (not three): `r = y - y D^T`, then
/// `zout = ReLU(y + eta r D - eta lambda)` for `y` (rows, d) and the dictionary `D` (d, d).
/// Training uses this form (its backward reads `r`); inference uses [`record_ista_fused`].
pub fn record_ista_step(
    rec: &mut Recorder,
    dict: &Buf,
    [y, r, zout]: [&Buf; 3],
    [rows, d]: [usize; 2],
    [eta, lambda]: [f32; 2],
) {
    Matmul {
        a: y,
        b: dict,
        c: r,
        bias: None,
        extra: Some(y),
        trans_b: true,
        relu: false,
        batch: 1,
        params: MatmulParams {
            alpha: -1.0,
            ..MatmulParams::dense(rows, d, d, true)
        },
    }
    .record(rec);
    Matmul {
        a: r,
        b: dict,
        c: zout,
        bias: None,
        extra: Some(y),
        trans_b: false,
        relu: true,
        batch: 1,
        params: MatmulParams {
            alpha: eta,
            shift: eta * lambda,
            ..MatmulParams::dense(rows, d, d, false)
        },
    }
    .record(rec);
}

/// The projection of `Z^{l+1/2}` through the same layer's norm and subspaces (for R^c after the
/// MSSA step): `LN_l(zhalf)` into the scratch `a`, then `a U^T` into `out`.
pub fn record_proj_half(
    rec: &mut Recorder,
    w: &LayerWeights<Buf>,
    zhalf: &Buf,
    [a, out]: [&Buf; 2],
    dims: Dims,
) {
    let (rows, d) = (dims.rows(), dims.d);
    let m = &w.mssa;
    layer_norm(rec, zhalf, &m.norm_w, &m.norm_b, a, LnParams::rows(rows, d));
    linear(rec, a, &m.qkv, None, out, [rows, d, d]);
}
