//! Named parameters under the official PyTorch state-dict keys, and their validation against a
//! [`CrateConfig`].

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::model::config::CrateConfig;
use crate::tensor::{shape_str, Tensor};

/// The model's parameters: official key → tensor. A `BTreeMap` so that files are written in a
/// stable order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    pub tensors: BTreeMap<String, Tensor>,
}

/// Official key of a per-layer parameter: `transformer.layers.{l}.{rest}`.
pub fn layer_key(l: usize, rest: &str) -> String {
    format!("transformer.layers.{l}.{rest}")
}

/// Every parameter a model with this config has, with its shape, in a fixed order.
pub fn expected_shapes(cfg: &CrateConfig) -> Vec<(String, Vec<usize>)> {
    let d = cfg.dim;
    let pl = cfg.patch_len();
    let mut v: Vec<(String, Vec<usize>)> = vec![
        ("to_patch_embedding.1.weight".into(), vec![pl]),
        ("to_patch_embedding.1.bias".into(), vec![pl]),
        ("to_patch_embedding.2.weight".into(), vec![d, pl]),
        ("to_patch_embedding.2.bias".into(), vec![d]),
        ("to_patch_embedding.3.weight".into(), vec![d]),
        ("to_patch_embedding.3.bias".into(), vec![d]),
        ("cls_token".into(), vec![1, 1, d]),
        ("pos_embedding".into(), vec![1, cfg.tokens(), d]),
    ];
    for l in 0..cfg.depth {
        for (rest, shape) in [
            ("0.norm.weight", vec![d]),
            ("0.norm.bias", vec![d]),
            ("0.fn.qkv.weight", vec![d, d]),
            ("0.fn.to_out.0.weight", vec![d, d]),
            ("0.fn.to_out.0.bias", vec![d]),
            ("1.norm.weight", vec![d]),
            ("1.norm.bias", vec![d]),
            ("1.fn.weight", vec![d, d]),
        ] {
            v.push((layer_key(l, rest), shape));
        }
    }
    v.push(("mlp_head.0.weight".into(), vec![d]));
    v.push(("mlp_head.0.bias".into(), vec![d]));
    match cfg.pre_head_dim {
        None => {
            v.push(("mlp_head.1.weight".into(), vec![cfg.classes, d]));
            v.push(("mlp_head.1.bias".into(), vec![cfg.classes]));
        }
        Some(m) => {
            v.push(("mlp_head.1.weight".into(), vec![m, d]));
            v.push(("mlp_head.1.bias".into(), vec![m]));
            v.push(("head.weight".into(), vec![cfg.classes, m]));
            v.push(("head.bias".into(), vec![cfg.classes]));
        }
    }
    v
}

impl Params {
    pub fn get(&self, key: &str) -> Result<&Tensor> {
        self.tensors
            .get(key)
            .ok_or_else(|| Error::MissingKey(key.to_string()))
    }

    pub fn insert(&mut self, key: impl Into<String>, t: Tensor) {
        self.tensors.insert(key.into(), t);
    }

    /// Number of scalar parameters.
    pub fn count(&self) -> usize {
        self.tensors.values().map(Tensor::numel).sum()
    }

    /// Checks that the parameters are exactly those of `cfg`: every key present with its shape,
    /// nothing else, and every value finite. Errors name the key and both shapes.
    pub fn validate(&self, cfg: &CrateConfig) -> Result<()> {
        cfg.validate()?;
        let expected = expected_shapes(cfg);
        for (key, shape) in &expected {
            let t = self.get(key)?;
            if &t.shape != shape {
                return Err(Error::Shape {
                    key: key.clone(),
                    expected: shape_str(shape),
                    got: t.shape_str(),
                });
            }
            if let Some(i) = t.data.iter().position(|x| !x.is_finite()) {
                return Err(Error::Format(format!(
                    "parameter `{key}` holds a non-finite value ({}) at flat index {i}",
                    t.data[i]
                )));
            }
        }
        if self.tensors.len() != expected.len() {
            let known: std::collections::HashSet<&str> =
                expected.iter().map(|(k, _)| k.as_str()).collect();
            if let Some(k) = self.tensors.keys().find(|k| !known.contains(k.as_str())) {
                return Err(Error::UnexpectedKey(k.clone()));
            }
        }
        Ok(())
    }
}
