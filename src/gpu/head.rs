//! The classification head on the GPU: LayerNorm of the CLS rows (read in place from the
//! (B, N, d) state with row stride N*d, so nothing is gathered first), then the linear(s) on
//! the matmul kernel. The twin of `cpu::head`.

use super::layernorm::{layer_norm, LnParams};
use super::matmul::linear;
use super::Recorder;
use crate::model::{Dims, HeadWeights};

/// Scratch and output buffers: `cls` (B, d), `h1` (B, out1), `logits` (B, classes) (the same
/// buffer as `h1` without the extra Linear); `out1` is the first Linear's width, `classes` the
/// final one.
pub struct HeadBuffers<'a> {
    pub cls: &'a wgpu::Buffer,
    pub h1: &'a wgpu::Buffer,
    pub logits: &'a wgpu::Buffer,
    pub out1: usize,
    pub classes: usize,
}

/// Records the head on `z` (B*N, d).
pub fn head(
    rec: &mut Recorder,
    w: &HeadWeights<wgpu::Buffer>,
    z: &wgpu::Buffer,
    out: HeadBuffers,
    dims: Dims,
) {
    let (b, d) = (dims.b, dims.d);
    layer_norm(
        rec,
        z,
        &w.ln_w,
        &w.ln_b,
        out.cls,
        LnParams {
            in_stride: (dims.nt * d) as u32,
            ..LnParams::rows(b, d)
        },
    );
    linear(rec, out.cls, &w.w1, Some(&w.b1), out.h1, [b, out.out1, d]);
    if let Some((hw, hb)) = &w.w2 {
        linear(
            rec,
            out.h1,
            hw,
            Some(hb),
            out.logits,
            [b, out.classes, out.out1],
        );
    }
}
