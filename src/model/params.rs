//! Named parameters under the official PyTorch state-dict keys, and their validation against a
//! [`CrateConfig`].

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::model::config::CrateConfig;
use crate::model::weights::Weights;
use crate::tensor::{shape_str, Tensor};

/// The model's parameters: official key → tensor. A `BTreeMap` so that files are written in a
/// stable order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    pub tensors: BTreeMap<String, Tensor>,
}

/// Every parameter a model with this config has, with its shape, in the official order (the
/// order of [`Weights::spec`], which holds the keys).
pub fn expected_shapes(cfg: &CrateConfig) -> Vec<(String, Vec<usize>)> {
    Weights::spec(cfg)
        .into_vec()
        .into_iter()
        .map(|s| (s.key, s.shape))
        .collect()
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
