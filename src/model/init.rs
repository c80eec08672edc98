//! Seeded initialisation for training from scratch.
//!
//! Follows PyTorch's defaults for the official module types, so that a model initialised here
//! trains like one initialised by the official code:
//! - `nn.Linear` weights and biases (patch embedding, MSSA `qkv` and `to_out`, head):
//!   U(-1/sqrt(fan_in), 1/sqrt(fan_in));
//! - the ISTA dictionary D: `kaiming_uniform_`, U(-sqrt(6/d), sqrt(6/d)) as in the official code;
//! - LayerNorm: weight 1, bias 0;
//! - `cls_token` and `pos_embedding`: the official code uses `torch.randn` (std 1); we use a
//!   uniform of std 0.02 (the ViT convention), which trains more stably at small scale.
//!
//! Values come from [`crate::rng`] streams named by the parameter key, so a given seed gives the
//! same model on every platform.

use crate::error::Result;
use crate::model::config::CrateConfig;
use crate::model::params::{expected_shapes, Params};
use crate::rng;
use crate::tensor::Tensor;

pub fn init_params(cfg: &CrateConfig, seed: u64) -> Result<Params> {
    cfg.validate()?;
    let mut p = Params::default();
    for (key, shape) in expected_shapes(cfg) {
        let n: usize = shape.iter().product();
        let data = if key.ends_with("norm.weight")
            || key == "to_patch_embedding.1.weight"
            || key == "to_patch_embedding.3.weight"
            || key == "mlp_head.0.weight"
        {
            vec![1.0; n]
        } else if key.ends_with("norm.bias")
            || key == "to_patch_embedding.1.bias"
            || key == "to_patch_embedding.3.bias"
            || key == "mlp_head.0.bias"
        {
            vec![0.0; n]
        } else if key == "cls_token" || key == "pos_embedding" {
            rng::uniform(seed, &key, n, 0.02 * 3f32.sqrt())
        } else if key.ends_with(".1.fn.weight") {
            rng::uniform(seed, &key, n, (6.0 / cfg.dim as f32).sqrt())
        } else {
            // Linear weight (out, in) or its bias: fan_in is the weight's second dimension.
            let fan_in = linear_fan_in(cfg, &key);
            rng::uniform(seed, &key, n, 1.0 / (fan_in as f32).sqrt())
        };
        p.insert(key, Tensor { shape, data });
    }
    Ok(p)
}

fn linear_fan_in(cfg: &CrateConfig, key: &str) -> usize {
    if key.starts_with("to_patch_embedding.2") {
        cfg.patch_len()
    } else if key.starts_with("head.") {
        cfg.pre_head_dim.unwrap_or(cfg.dim)
    } else {
        cfg.dim
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_valid_and_deterministic() {
        let cfg = CrateConfig::preset("crate-fmnist").unwrap();
        let a = init_params(&cfg, 7).unwrap();
        a.validate(&cfg).unwrap();
        assert_eq!(a, init_params(&cfg, 7).unwrap());
        assert_ne!(a, init_params(&cfg, 8).unwrap());
        let d = a.get("transformer.layers.0.1.fn.weight").unwrap();
        let bound = (6.0f32 / 128.0).sqrt();
        assert!(d.data.iter().all(|x| x.abs() <= bound));
    }
}
