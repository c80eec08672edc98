//! Optimisers on a [`ParamSet`]: AdamW (decoupled weight decay, as `torch.optim.AdamW`) and Lion
//! (the official recipe of Chen et al. 2023), with the no-decay set of ViT training: LayerNorm
//! weights and biases, every bias, `cls_token` and `pos_embedding` are never decayed.
//!
//! Both are plain f32 loops over the tensors in key order, so a step is deterministic and an
//! optimiser restored from its moments ([`Optimizer::moments`]) continues bit-exactly.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::grad::ParamSet;
/// The no-decay policy lives with the weights' keys.
pub use crate::model::weights::decays;

/// Which optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    AdamW,
    Lion,
}

impl OptimizerKind {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "adamw" => Ok(Self::AdamW),
            "lion" => Ok(Self::Lion),
            _ => Err(Error::Config(format!(
                "unknown optimizer `{s}` (expected adamw or lion)"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AdamW => "adamw",
            Self::Lion => "lion",
        }
    }
}

/// Hyper-parameters (the learning rate comes per step from the schedule).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimConfig {
    pub kind: OptimizerKind,
    pub beta1: f32,
    pub beta2: f32,
    /// AdamW only.
    pub eps: f32,
    pub weight_decay: f32,
}

impl OptimConfig {
    /// PyTorch's AdamW defaults (0.9, 0.999, 1e-8).
    pub fn adamw(weight_decay: f32) -> Self {
        Self {
            kind: OptimizerKind::AdamW,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        }
    }

    /// The Lion paper's defaults (0.9, 0.99).
    pub fn lion(weight_decay: f32) -> Self {
        Self {
            kind: OptimizerKind::Lion,
            beta1: 0.9,
            beta2: 0.99,
            eps: 0.0,
            weight_decay,
        }
    }

    pub fn new(kind: OptimizerKind, weight_decay: f32) -> Self {
        match kind {
            OptimizerKind::AdamW => Self::adamw(weight_decay),
            OptimizerKind::Lion => Self::lion(weight_decay),
        }
    }
}

/// An optimiser's state: first moments `m` (both), second moments `v` (AdamW) and the step count.
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer {
    pub config: OptimConfig,
    pub m: ParamSet<f32>,
    /// Empty for Lion.
    pub v: ParamSet<f32>,
    /// Steps taken (AdamW's bias correction uses t = steps + 1 on the next step).
    pub steps: u64,
}

impl Optimizer {
    /// Zero moments shaped like `params`.
    pub fn new(config: OptimConfig, params: &ParamSet<f32>) -> Self {
        let zeros = zeros_like(params);
        let v = match config.kind {
            OptimizerKind::AdamW => zeros.clone(),
            OptimizerKind::Lion => ParamSet {
                tensors: Default::default(),
            },
        };
        Self {
            config,
            m: zeros,
            v,
            steps: 0,
        }
    }

    /// Restores saved moments, checking their keys and shapes against `params`.
    pub fn restore(
        config: OptimConfig,
        params: &ParamSet<f32>,
        m: ParamSet<f32>,
        v: ParamSet<f32>,
        steps: u64,
    ) -> Result<Self> {
        let check = |name: &str, s: &ParamSet<f32>| -> Result<()> {
            if s.tensors.len() != params.tensors.len()
                || s.tensors
                    .iter()
                    .zip(&params.tensors)
                    .any(|((k1, a), (k2, b))| k1 != k2 || a.shape != b.shape)
            {
                return Err(Error::Format(format!(
                    "optimiser state `{name}` does not match the model's parameters"
                )));
            }
            Ok(())
        };
        check("m", &m)?;
        if config.kind == OptimizerKind::AdamW {
            check("v", &v)?;
        }
        Ok(Self {
            config,
            m,
            v,
            steps,
        })
    }

    /// One update of `params` with `grads` at learning rate `lr`.
    pub fn step(&mut self, params: &mut ParamSet<f32>, grads: &ParamSet<f32>, lr: f32) {
        let c = self.config;
        self.steps += 1;
        let t = self.steps as i32;
        let (bc1, bc2) = (1.0 - c.beta1.powi(t), 1.0 - c.beta2.powi(t));
        for (key, p) in params.tensors.iter_mut() {
            let g = &grads.tensors[key].data;
            let wd = if decays(key, &p.shape) {
                c.weight_decay
            } else {
                0.0
            };
            let m = &mut self.m.tensors.get_mut(key).expect("moment").data;
            match c.kind {
                OptimizerKind::AdamW => {
                    let v = &mut self.v.tensors.get_mut(key).expect("moment").data;
                    for i in 0..p.data.len() {
                        let w = &mut p.data[i];
                        *w -= lr * wd * *w;
                        m[i] = c.beta1 * m[i] + (1.0 - c.beta1) * g[i];
                        v[i] = c.beta2 * v[i] + (1.0 - c.beta2) * g[i] * g[i];
                        let mhat = m[i] / bc1;
                        let vhat = v[i] / bc2;
                        *w -= lr * mhat / (vhat.sqrt() + c.eps);
                    }
                }
                OptimizerKind::Lion => {
                    for i in 0..p.data.len() {
                        let w = &mut p.data[i];
                        let u = sign(c.beta1 * m[i] + (1.0 - c.beta1) * g[i]);
                        *w -= lr * (u + wd * *w);
                        m[i] = c.beta2 * m[i] + (1.0 - c.beta2) * g[i];
                    }
                }
            }
        }
    }
}

/// `torch.sign`: 0 at 0.
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Zeros with the keys and shapes of `p`.
pub fn zeros_like(p: &ParamSet<f32>) -> ParamSet<f32> {
    let mut z = p.clone();
    for a in z.tensors.values_mut() {
        a.data.iter_mut().for_each(|v| *v = 0.0);
    }
    z
}

/// Scales `grads` in place so that their global L2 norm is at most `max_norm` (as
/// `torch.nn.utils.clip_grad_norm_`, scale `max_norm / (norm + 1e-6)`); returns the norm before
/// clipping.
pub fn clip_grad_norm(grads: &mut ParamSet<f32>, max_norm: f32) -> f64 {
    let norm = grads.norm();
    if norm > max_norm as f64 {
        let s = (max_norm as f64 / (norm + 1e-6)) as f32;
        for a in grads.tensors.values_mut() {
            a.data.iter_mut().for_each(|v| *v *= s);
        }
    }
    norm
}

/// True when every value is finite.
pub fn all_finite(p: &ParamSet<f32>) -> bool {
    p.tensors
        .values()
        .all(|a| a.data.iter().all(|v| v.is_finite()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad::Array;
    use crate::model::{init::init_params, CrateConfig};

    fn one(key: &str, shape: Vec<usize>, data: Vec<f32>) -> ParamSet<f32> {
        let mut s = ParamSet {
            tensors: Default::default(),
        };
        s.tensors.insert(key.to_string(), Array { shape, data });
        s
    }

    #[test]
    fn adamw_step_matches_hand_computed_values() {
        let mut p = one("w", vec![1, 3], vec![1.0, -2.0, 0.5]);
        let g = one("w", vec![1, 3], vec![0.1, -0.2, 0.0]);
        let mut opt = Optimizer::new(OptimConfig::adamw(0.1), &p);
        opt.step(&mut p, &g, 0.01);
        // Step 1: mhat = g, vhat = g^2, so the update is lr * g / (|g| + eps) = lr * sign(g);
        // decay first: w (1 - lr wd).
        let want = [
            1.0 * (1.0 - 0.001) - 0.01 * 0.1 / (0.1 + 1e-8),
            -2.0 * (1.0 - 0.001) + 0.01 * 0.2 / (0.2 + 1e-8),
            0.5 * (1.0 - 0.001),
        ];
        for (a, b) in p.tensors["w"].data.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} {b}");
        }
        // Step 2 with the same gradient: m = 0.19 g, v = 0.001999 g^2;
        // mhat = g, vhat = g^2 again.
        let before = p.tensors["w"].data.clone();
        opt.step(&mut p, &g, 0.01);
        let m = 0.9f64 * 0.1 * 0.1 + 0.1 * 0.1;
        let v = 0.999f64 * 0.001 * 0.01 + 0.001 * 0.01;
        let upd = 0.01 * (m / (1.0 - 0.81)) / ((v / (1.0 - 0.998001)).sqrt() + 1e-8);
        let want0 = before[0] as f64 * (1.0 - 0.001) - upd;
        assert!((p.tensors["w"].data[0] as f64 - want0).abs() < 1e-6);
        assert_eq!(opt.steps, 2);
    }

    #[test]
    fn lion_step_matches_hand_computed_values() {
        let mut p = one("w", vec![2, 2], vec![1.0, -1.0, 0.5, 2.0]);
        let mut opt = Optimizer::new(OptimConfig::lion(0.5), &p);
        opt.m.tensors.get_mut("w").unwrap().data = vec![1.0, 1.0, -1.0, 0.0];
        let g = one("w", vec![2, 2], vec![-20.0, 1.0, 1.0, 0.0]);
        opt.step(&mut p, &g, 0.1);
        // c = 0.9 m + 0.1 g = [-1.1, 1.0, -0.8, 0]; update = sign(c) = [-1, 1, -1, 0]
        // w -= 0.1 (update + 0.5 w)
        let want = [
            1.0 - 0.1 * (-1.0 + 0.5),
            -1.0 - 0.1 * (1.0 - 0.5),
            0.5 - 0.1 * (-1.0 + 0.25),
            2.0 - 0.1 * (0.0 + 1.0),
        ];
        for (a, b) in p.tensors["w"].data.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} {b}");
        }
        // m = 0.99 m + 0.01 g
        let wm = [0.99 - 0.2, 0.99 + 0.01, -0.99 + 0.01, 0.0];
        for (a, b) in opt.m.tensors["w"].data.iter().zip(wm) {
            assert!((a - b).abs() < 1e-6, "{a} {b}");
        }
        assert!(opt.v.tensors.is_empty());
    }

    #[test]
    fn no_decay_set() {
        let cfg = CrateConfig::preset("crate-fmnist").unwrap();
        let p = init_params(&cfg, 0).unwrap();
        let decayed: Vec<&str> = p
            .tensors
            .iter()
            .filter(|(k, t)| decays(k, &t.shape))
            .map(|(k, _)| k.as_str())
            .collect();
        // The policy itself (which official keys) is tested with the keys in model::weights;
        // here: exactly the matrices of the typed weights, and every one of them.
        let spec = crate::model::Weights::spec(&cfg);
        let want: Vec<&str> = spec
            .iter()
            .filter(|s| s.shape.len() >= 2 && s.decay)
            .map(|s| s.key.as_str())
            .collect();
        let mut sorted = want.clone();
        sorted.sort();
        assert_eq!(decayed, sorted);
        let wt = spec.as_ref();
        for s in [
            wt.embed.w,
            wt.head.w1,
            wt.layers[0].mssa.qkv,
            wt.layers[0].ista.dict,
        ] {
            assert!(decayed.contains(&s.key.as_str()), "{}", s.key);
        }
        // a zero gradient with weight decay only moves the decayed tensors
        let mut ps = ParamSet::<f32>::from_params(&p);
        let before = ps.clone();
        let g = zeros_like(&ps);
        Optimizer::new(OptimConfig::adamw(0.5), &ps).step(&mut ps, &g, 0.1);
        for (k, a) in &ps.tensors {
            let moved = a.data != before.tensors[k].data;
            assert_eq!(moved, decayed.contains(&k.as_str()), "{k}");
        }
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let mut g = one("a", vec![2], vec![3.0, 4.0]);
        g.tensors.insert(
            "b".into(),
            Array {
                shape: vec![1],
                data: vec![12.0],
            },
        );
        let n = clip_grad_norm(&mut g, 1.0);
        assert!((n - 13.0).abs() < 1e-9);
        assert!((g.norm() - 1.0).abs() < 1e-5, "{}", g.norm());
        assert!((g.tensors["a"].data[0] - 3.0 / 13.0).abs() < 1e-5);
        // below the limit: untouched
        let mut h = one("a", vec![2], vec![0.3, 0.4]);
        assert!((clip_grad_norm(&mut h, 1.0) - 0.5).abs() < 1e-6);
        assert_eq!(h.tensors["a"].data, vec![0.3, 0.4]);
    }
}
