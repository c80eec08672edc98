//! The classification head: `LN(Z^{L+1}[CLS]) W_h^T + b_h` (and the segmentation demo's extra
//! `head` Linear when the model has one).

use super::gemm::linear;
use super::layernorm::layer_norm;
use crate::model::HeadWeights;
use crate::tensor::Tensor;

/// Logits (B, classes) from the last layer's tokens `z` (B*N, d).
pub fn head(wt: &HeadWeights<&[f32]>, z: &[f32], b: usize, nt: usize, d: usize) -> Tensor {
    let cls: Vec<f32> = (0..b)
        .flat_map(|bi| z[bi * nt * d..][..d].iter().copied())
        .collect();
    let mut y = vec![0.0f32; b * d];
    layer_norm(&cls, d, wt.ln_w, wt.ln_b, &mut y);
    let out1 = wt.b1.len();
    let mut h1 = vec![0.0f32; b * out1];
    linear(&y, b, wt.w1, out1, d, Some(wt.b1), &mut h1);
    let Some((w2, b2)) = wt.w2 else {
        return Tensor {
            shape: vec![b, out1],
            data: h1,
        };
    };
    let classes = b2.len();
    let mut logits = vec![0.0f32; b * classes];
    linear(&h1, b, w2, classes, out1, Some(b2), &mut logits);
    Tensor {
        shape: vec![b, classes],
        data: logits,
    }
}
