//! The classification head on the GPU: LayerNorm of the CLS rows (read in place from the
//! (B, N, d) state with row stride N*d, so nothing is gathered first), then the linear(s) on
//! the matmul kernel. The twin of `cpu::head`.

use super::layernorm::{layer_norm, LnParams};
use super::matmul::linear;
use super::Recorder;

/// The head's weights: LN (gamma, beta), `mlp_head.1` (weight, bias) and, for the
/// segmentation demo, the extra `head` Linear.
pub struct HeadWeights {
    pub ln: (wgpu::Buffer, wgpu::Buffer),
    pub fc: (wgpu::Buffer, wgpu::Buffer),
    pub extra: Option<(wgpu::Buffer, wgpu::Buffer)>,
}

/// Scratch and output buffers: `cls` (B, d), `h1` (B, out1), `logits` (B, classes) (the same
/// buffer as `h1` without the extra Linear).
pub struct HeadBuffers<'a> {
    pub cls: &'a wgpu::Buffer,
    pub h1: &'a wgpu::Buffer,
    pub logits: &'a wgpu::Buffer,
}

/// Records the head on `z` (B*N, d): `out1` is `mlp_head.1`'s width, `classes` the final one.
#[allow(clippy::too_many_arguments)]
pub fn head(
    rec: &mut Recorder,
    w: &HeadWeights,
    z: &wgpu::Buffer,
    out: HeadBuffers,
    b: usize,
    nt: usize,
    d: usize,
    out1: usize,
    classes: usize,
) {
    layer_norm(
        rec,
        z,
        &w.ln.0,
        &w.ln.1,
        out.cls,
        LnParams {
            in_stride: (nt * d) as u32,
            ..LnParams::rows(b, d)
        },
    );
    linear(rec, out.cls, &w.fc.0, Some(&w.fc.1), out.h1, b, out1, d);
    if let Some((hw, hb)) = &w.extra {
        linear(rec, out.h1, hw, Some(hb), out.logits, b, classes, out1);
    }
}
