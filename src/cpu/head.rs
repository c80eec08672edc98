//! The classification head: `LN(Z^{L+1}[CLS]) W_h^T + b_h` (and the segmentation demo's extra
//! `head` Linear when the model has one).

use super::gemm::linear;
use super::layernorm::layer_norm;
use crate::model::Model;
use crate::tensor::Tensor;

pub fn head(model: &Model, z: &[f32], b: usize, nt: usize) -> crate::Result<Tensor> {
    let cfg = &model.config;
    let p = &model.params;
    let d = cfg.dim;
    let cls: Vec<f32> = (0..b)
        .flat_map(|bi| z[bi * nt * d..][..d].iter().copied())
        .collect();
    let mut y = vec![0.0f32; b * d];
    layer_norm(
        &cls,
        d,
        &p.get("mlp_head.0.weight")?.data,
        &p.get("mlp_head.0.bias")?.data,
        &mut y,
    );
    let w1 = p.get("mlp_head.1.weight")?;
    let out1 = w1.shape[0];
    let mut h1 = vec![0.0f32; b * out1];
    linear(
        &y,
        b,
        &w1.data,
        out1,
        d,
        Some(&p.get("mlp_head.1.bias")?.data),
        &mut h1,
    );
    if cfg.pre_head_dim.is_none() {
        return Ok(Tensor {
            shape: vec![b, out1],
            data: h1,
        });
    }
    let mut logits = vec![0.0f32; b * cfg.classes];
    linear(
        &h1,
        b,
        &p.get("head.weight")?.data,
        cfg.classes,
        out1,
        Some(&p.get("head.bias")?.data),
        &mut logits,
    );
    Ok(Tensor {
        shape: vec![b, cfg.classes],
        data: logits,
    })
}
