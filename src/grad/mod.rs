//! The CPU reference backward: forward-with-cache and backward for the whole CRATE model, the
//! oracle the WGSL backward kernels and the CPU training engine are checked against.
//!
//! Everything is generic over [`Real`] (f32 for training, f64 for the finite-difference checks in
//! `tests/suite/grad_check.rs`). One file per op, mirroring `src/cpu/`: [`layernorm`], [`linear`],
//! [`mssa`], [`ista`], [`embed`], [`head`], [`loss`]. Each has a `forward` that returns its output
//! and a cache, and a `backward` that accumulates parameter gradients and returns the input
//! gradient. Row-vector convention as in CRATE-SPEC.md (`x W^T` is `F.linear(x, W)`).
//!
//! Derivations, briefly (`dX` = dL/dX):
//! - Linear `y = x W^T + b`: `dx = dy W`, `dW = dy^T x`, `db = sum_rows dy`.
//! - LayerNorm `y = xhat g + b`, `xhat = (x - mu) inv`: `dg = sum dy xhat`, `db = sum dy`,
//!   `dx = inv (dy g - mean(dy g) - xhat mean(dy g xhat))` per row.
//! - MSSA: `q = k = v = w_k`, so `dw_k` sums three paths: the value path `A^T do_k` and both
//!   sides of the symmetric scores, `(dS + dS^T) w_k / sqrt(dh)`, with the softmax backward
//!   `dS = A ⊙ (dA - rowsum(dA ⊙ A))` and `dA = do_k w_k^T`. The residual passes `dZ_half` on.
//! - ISTA `Z = ReLU(y + eta (y - y D^T) D - eta lambda)`: with `g` the masked output gradient and
//!   `dr = eta g D^T`, D's two uses give `dD = eta r^T g - dr^T y` and `dy = g + dr - dr D`.
//! - Embedding: the CLS and position gradients are sums of `dZ^1` over the batch.
//! - Loss: label-smoothed cross-entropy, `dlogits = (softmax - target) / B`.

pub mod embed;
pub mod head;
pub mod ista;
pub mod layernorm;
pub mod linear;
pub mod loss;
pub mod mssa;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::cpu::gemm::GemmScalar;
use crate::error::{Error, Result};
use crate::model::params::expected_shapes;
use crate::model::{CrateConfig, HeadWeights, IstaWeights, Params, Weights};
use crate::tensor::{shape_str, Tensor};

/// The float types the gradient code runs on: f32 (training) and f64 (gradient checks).
pub trait Real:
    GemmScalar
    + Default
    + Debug
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    /// `row ← softmax(row)`, stable (shifted by the row's maximum), in plain scalar code; a type
    /// may run a faster one (see `impl_real!`).
    fn softmax_in_place(row: &mut [Self]) {
        let mut max = row[0];
        for &v in row.iter() {
            if v > max {
                max = v;
            }
        }
        let mut s = Self::ZERO;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            s += *v;
        }
        let inv = Self::ONE / s;
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

macro_rules! impl_real {
    ($t:ty $(, $softmax:path)?) => {
        impl Real for $t {
            $(
                fn softmax_in_place(row: &mut [Self]) {
                    $softmax(row)
                }
            )?
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
        }
    };
}
// f32 keeps the scalar softmax: with the vectorised one (`cpu::vecops::softmax_in_place`, bit for
// bit the same in wasm and natively) the page's and the CLI's training runs drifted apart far
// faster (7.5e-5 relative after 30 steps instead of 1e-6, 2.5e-4 after 76), breaking the
// page = CLI checks; the cause was not found, so training stays on libm's `exp`.
impl_real!(f32);
impl_real!(f64);

/// One named tensor of a [`ParamSet`].
#[derive(Clone, Debug, PartialEq)]
pub struct Array<T> {
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

/// Parameters or gradients under the official keys, in any [`Real`] type: the same keys and
/// shapes as [`Params`].
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSet<T> {
    pub tensors: BTreeMap<String, Array<T>>,
}

impl<T: Real> ParamSet<T> {
    /// Zeros with every key and shape of `cfg`.
    pub fn zeros(cfg: &CrateConfig) -> Self {
        let tensors = expected_shapes(cfg)
            .into_iter()
            .map(|(k, shape)| {
                let n = shape.iter().product();
                (
                    k,
                    Array {
                        shape,
                        data: vec![T::ZERO; n],
                    },
                )
            })
            .collect();
        Self { tensors }
    }

    /// A converted copy of f32 parameters.
    pub fn from_params(p: &Params) -> Self {
        let tensors = p
            .tensors
            .iter()
            .map(|(k, t)| {
                let data = t.data.iter().map(|&v| T::from_f64(v as f64)).collect();
                (
                    k.clone(),
                    Array {
                        shape: t.shape.clone(),
                        data,
                    },
                )
            })
            .collect();
        Self { tensors }
    }

    /// A converted (f32) copy, e.g. gradients for an optimiser working on [`Params`].
    pub fn to_params(&self) -> Params {
        let mut p = Params::default();
        for (k, a) in &self.tensors {
            let data = a.data.iter().map(|&v| v.to_f64() as f32).collect();
            p.insert(
                k.clone(),
                Tensor {
                    shape: a.shape.clone(),
                    data,
                },
            );
        }
        p
    }

    /// Checks that every key of `cfg` is present with its shape.
    pub fn check(&self, cfg: &CrateConfig) -> Result<()> {
        for (key, shape) in expected_shapes(cfg) {
            let a = self
                .tensors
                .get(&key)
                .ok_or_else(|| Error::MissingKey(key.clone()))?;
            if a.shape != shape || a.data.len() != shape.iter().product::<usize>() {
                return Err(Error::Shape {
                    key,
                    expected: shape_str(&shape),
                    got: shape_str(&a.shape),
                });
            }
        }
        Ok(())
    }

    /// The data of `key`. Panics when it is missing (forward/backward check the set first).
    pub fn get(&self, key: &str) -> &[T] {
        match self.tensors.get(key) {
            Some(a) => &a.data,
            None => panic!("parameter `{key}` is missing"),
        }
    }

    pub fn get_mut(&mut self, key: &str) -> &mut [T] {
        match self.tensors.get_mut(key) {
            Some(a) => &mut a.data,
            None => panic!("parameter `{key}` is missing"),
        }
    }

    /// The typed view of the set (checked first with [`ParamSet::check`]).
    pub fn weights(&self, cfg: &CrateConfig) -> Weights<&[T]> {
        Weights::lookup(cfg, |s| Ok(self.get(&s.key))).expect("lookup of a checked set")
    }

    /// The set of `cfg`'s keys holding the values of `w`.
    pub fn from_weights(cfg: &CrateConfig, w: Weights<Vec<T>>) -> Self {
        let tensors = Weights::spec(cfg)
            .zip(w)
            .into_vec()
            .into_iter()
            .map(|(s, data)| {
                (
                    s.key,
                    Array {
                        shape: s.shape,
                        data,
                    },
                )
            })
            .collect();
        Self { tensors }
    }

    /// Global L2 norm over every tensor (for clipping).
    pub fn norm(&self) -> f64 {
        self.tensors
            .values()
            .flat_map(|a| a.data.iter())
            .map(|&v| v.to_f64() * v.to_f64())
            .sum::<f64>()
            .sqrt()
    }
}

/// Everything the backward needs from one forward.
#[derive(Clone, Debug)]
pub struct Cache<T> {
    pub b: usize,
    pub nt: usize,
    pub embed: embed::EmbedCache<T>,
    pub layers: Vec<(mssa::MssaCache<T>, ista::IstaCache<T>)>,
    pub head: head::HeadCache<T>,
}

fn ista_params<'a, T: Real>(
    cfg: &CrateConfig,
    w: &IstaWeights<&'a [T]>,
) -> ista::IstaParams<'a, T> {
    ista::IstaParams {
        norm_w: w.norm_w,
        norm_b: w.norm_b,
        dict: w.dict,
        eta: T::from_f64(decimal(cfg.eta)),
        lambda: T::from_f64(decimal(cfg.lambda)),
    }
}

/// An f32 config constant as the decimal it was written as (0.1f32 -> 0.1f64), so that the f64
/// path computes with the same constants as PyTorch's float64 (and the f32 path is unchanged).
pub fn decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(x as f64)
}

fn head_params<'a, T: Real>(
    cfg: &CrateConfig,
    w: &HeadWeights<&'a [T]>,
) -> head::HeadParams<'a, T> {
    head::HeadParams {
        ln_w: w.ln_w,
        ln_b: w.ln_b,
        w1: w.w1,
        b1: w.b1,
        w2: w.w2,
        out1: cfg.pre_head_dim.unwrap_or(cfg.classes),
        classes: cfg.classes,
    }
}

/// The forward pass at the training size, keeping what the backward needs. `images` is
/// (B, C, H, W) with (H, W) = `cfg.image`. Returns the logits (B, classes) and the cache.
pub fn forward<T: Real>(
    cfg: &CrateConfig,
    p: &ParamSet<T>,
    images: &[T],
    b: usize,
) -> Result<(Vec<T>, Cache<T>)> {
    cfg.validate()?;
    p.check(cfg)?;
    let [h, w] = cfg.image;
    if b == 0 || images.len() != b * cfg.channels * h * w {
        return Err(Error::Input(format!(
            "training needs {b} images of shape ({}, {h}, {w}) ({} values), got {} values",
            cfg.channels,
            b * cfg.channels * h * w,
            images.len()
        )));
    }
    let (d, nt) = (cfg.dim, cfg.tokens());
    let s = embed::EmbedShape {
        b,
        c: cfg.channels,
        h,
        w,
        p: cfg.patch,
        d,
    };
    let wt = p.weights(cfg);
    let (mut z, ec) = embed::forward(images, s, wt.embed);
    let mut layers = Vec::with_capacity(cfg.depth);
    for lw in &wt.layers {
        let (zh, mc) = mssa::forward(&z, b, nt, d, cfg.heads, lw.mssa);
        let (zo, ic) = ista::forward(&zh, b * nt, d, ista_params(cfg, &lw.ista));
        layers.push((mc, ic));
        z = zo;
    }
    let (logits, hc) = head::forward(&z, b, nt, d, head_params(cfg, &wt.head));
    Ok((
        logits,
        Cache {
            b,
            nt,
            embed: ec,
            layers,
            head: hc,
        },
    ))
}

/// The gradient of the loss for every parameter, from `dlogits` (B, classes).
pub fn backward<T: Real>(
    cfg: &CrateConfig,
    p: &ParamSet<T>,
    cache: &Cache<T>,
    dlogits: &[T],
) -> ParamSet<T> {
    let wt = p.weights(cfg);
    let mut grads = Weights::spec(cfg).map(|s| vec![T::ZERO; s.numel()]);
    let g = grads.slices_mut();
    let mut dz = head::backward(&cache.head, head_params(cfg, &wt.head), dlogits, g.head);
    debug_assert_eq!(dz.len(), cache.b * cache.nt * cfg.dim);
    for ((lw, lg), (mc, ic)) in wt.layers.iter().zip(g.layers).zip(&cache.layers).rev() {
        let dzh = ista::backward(ic, ista_params(cfg, &lw.ista), &dz, lg.ista);
        dz = mssa::backward(mc, lw.mssa, &dzh, lg.mssa);
    }
    embed::backward(&cache.embed, wt.embed, &dz, g.embed);
    ParamSet::from_weights(cfg, grads)
}

/// The result of one training step's forward and backward.
#[derive(Clone, Debug)]
pub struct Step<T> {
    /// Mean label-smoothed cross-entropy over the batch.
    pub loss: T,
    /// (B, classes).
    pub logits: Vec<T>,
    pub grads: ParamSet<T>,
}

/// Loss and gradients for a batch: `images` (B, C, H, W) at `cfg.image`, `labels` (B).
pub fn loss_and_grads<T: Real>(
    cfg: &CrateConfig,
    p: &ParamSet<T>,
    images: &[T],
    labels: &[usize],
    smoothing: T,
) -> Result<Step<T>> {
    if let Some(&l) = labels.iter().find(|&&l| l >= cfg.classes) {
        return Err(Error::Input(format!(
            "label {l} is not below the {} classes",
            cfg.classes
        )));
    }
    let (logits, cache) = forward(cfg, p, images, labels.len())?;
    let (loss, dlogits) = loss::cross_entropy(&logits, cfg.classes, labels, smoothing);
    let grads = backward(cfg, p, &cache, &dlogits);
    Ok(Step {
        loss,
        logits,
        grads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::init::init_params;

    #[test]
    fn param_sets_have_the_official_keys_and_round_trip() {
        let cfg = CrateConfig::preset("crate-fmnist").unwrap();
        let z = ParamSet::<f64>::zeros(&cfg);
        z.check(&cfg).unwrap();
        assert_eq!(z.tensors.len(), expected_shapes(&cfg).len());
        let p = init_params(&cfg, 3).unwrap();
        let q = ParamSet::<f64>::from_params(&p);
        q.check(&cfg).unwrap();
        assert_eq!(q.to_params(), p);
    }

    #[test]
    fn attention_matches_the_engine_and_its_backward_is_linear_in_do() {
        let (b, nt, d, heads) = (2, 7, 12, 3);
        let w = crate::rng::uniform(1, "w", b * nt * d, 1.0);
        let mut probs = vec![0.0f32; b * heads * nt * nt];
        let want = crate::cpu::mssa::attention(&w, b, nt, d, heads, &mut probs);
        let (p2, o) = mssa::attention(&w, b, nt, d, heads);
        for (x, y) in o.iter().zip(&want).chain(p2.iter().zip(&probs)) {
            assert!((x - y).abs() < 1e-6);
        }
        // the backward is linear in do: dw(2 do) = 2 dw(do)
        let g = crate::rng::uniform(2, "g", b * nt * d, 1.0);
        let g2: Vec<f32> = g.iter().map(|v| 2.0 * v).collect();
        let a = mssa::attention_backward(&w, &p2, &g, b, nt, d, heads);
        let a2 = mssa::attention_backward(&w, &p2, &g2, b, nt, d, heads);
        for (x, y) in a.iter().zip(&a2) {
            assert!((2.0 * x - y).abs() < 1e-5);
        }
    }
}
