//! The supervised compression objective the lab's learned CRATE may add to its cross-entropy.
//!
//! Why: with every token of a sample drawn from one subspace, the class can be read from any
//! token, so cross-entropy never needs head k to look at subspace k, and the heads stay wherever
//! they started (52–67° from the truth). CRATE's own objective is sparse rate reduction: the
//! attention step compresses the tokens against the heads' subspaces,
//! `R^c(Z | U) = Σ_k ½ logdet(I + α U_kᵀ Z Zᵀ U_k / n)`, `α = p / ε²`. Minimised over U alone it
//! is degenerate (U = 0); the labels make it well posed, MCR²-style: head k (k < K) should code
//! the tokens of class k at a high rate and the other classes' tokens compactly,
//!
//! `L_aux = (1/K) Σ_k [ R(U_k Z_{¬k}) − R(U_k Z_k) ]`, `R(X) = ½ logdet(I + α X Xᵀ / n)`,
//!
//! with each group's tokens centred per position (offsets are not directions). It is bounded
//! below (as U_k grows both terms grow as p·log|U_k|, so only the ratio of the class's energy to
//! the others' in U_k's rows counts) and the logdet keeps all p rows in use (a rank-1 head codes
//! nothing in the other directions). Its minimiser spans the directions where class k has the
//! most energy relative to the others: the true subspace k. The tokens are layer 0's
//! `γ ⊙ LN(Z)` (without the bias, like the pull-back in [`super::recover`]). Its gradient goes
//! to U and, when asked, back through layer 0's LayerNorm and the patch embedding (with U
//! alone the embedding, trained by cross-entropy only, squeezes the subspaces' directions and
//! the heads stop at 35°; through the embedding they reach 15°, and 6° with lifted tokens,
//! [`super::lifted`]).

use crate::analysis::linalg::symmetric_eigen;
use crate::error::{Error, Result};
use crate::grad::{embed, layernorm, Cache, ParamSet};
use crate::model::weights::Weights;
use crate::model::CrateConfig;

const QKV: &str = "transformer.layers.0.0.fn.qkv.weight";
const NORM: &str = "transformer.layers.0.0.norm.weight";

/// `R(X)`, `∂R/∂U` (dh × D) and `∂R/∂A` (n × D) for X = U A (A: the group's centred tokens,
/// n × D; U: dh × D rows).
fn rate_and_grad(
    u: &[f64],
    a: &[f64],
    n: usize,
    dim: usize,
    dh: usize,
    alpha: f64,
) -> (f64, Vec<f64>, Vec<f64>) {
    // X (n × dh) = A Uᵀ.
    let mut x = vec![0.0; n * dh];
    for i in 0..n {
        for r in 0..dh {
            x[i * dh + r] = (0..dim).map(|j| a[i * dim + j] * u[r * dim + j]).sum();
        }
    }
    // M = I + α XᵀX / n (dh × dh).
    let mut m = vec![0.0; dh * dh];
    for r in 0..dh {
        for c in 0..dh {
            let s: f64 = (0..n).map(|i| x[i * dh + r] * x[i * dh + c]).sum();
            m[r * dh + c] = (r == c) as u8 as f64 + alpha * s / n as f64;
        }
    }
    let (vals, vecs) = symmetric_eigen(&m, dh);
    let rate = 0.5 * vals.iter().map(|v| v.ln()).sum::<f64>();
    // M⁻¹ = V diag(1/λ) Vᵀ.
    let mut inv = vec![0.0; dh * dh];
    for r in 0..dh {
        for c in 0..dh {
            inv[r * dh + c] = (0..dh)
                .map(|e| vecs[r * dh + e] * vecs[c * dh + e] / vals[e])
                .sum();
        }
    }
    // ∂R/∂U = α M⁻¹ Xᵀ A / n (dh × D).
    let mut xa = vec![0.0; dh * dim];
    for i in 0..n {
        for r in 0..dh {
            let xv = x[i * dh + r];
            for j in 0..dim {
                xa[r * dim + j] += xv * a[i * dim + j];
            }
        }
    }
    let g = scaled_product(&inv, &xa, dh, dim, alpha / n as f64);
    // ∂R/∂A = α X M⁻¹ U / n: (M⁻¹ U) first (dh × D).
    let iu = scaled_product(&inv, u, dh, dim, alpha / n as f64);
    let mut da = vec![0.0; n * dim];
    for i in 0..n {
        for r in 0..dh {
            let xv = x[i * dh + r];
            for j in 0..dim {
                da[i * dim + j] += xv * iu[r * dim + j];
            }
        }
    }
    (rate, g, da)
}

/// `s · inv · b` for `inv` (dh × dh) and `b` (dh × D).
fn scaled_product(inv: &[f64], b: &[f64], dh: usize, dim: usize, s: f64) -> Vec<f64> {
    let mut out = vec![0.0; dh * dim];
    for r in 0..dh {
        for e in 0..dh {
            let w = s * inv[r * dh + e];
            for j in 0..dim {
                out[r * dim + j] += w * b[e * dim + j];
            }
        }
    }
    out
}

/// The rows of `tokens` (D wide) whose `keep` is true, each less the mean of the kept rows at
/// its position (`row % nt`): the positional embedding is an offset per position, not a
/// direction of the data. Returns them and their row indices.
fn centred_group(
    tokens: &[f64],
    dim: usize,
    nt: usize,
    keep: impl Fn(usize) -> bool,
) -> (Vec<f64>, Vec<usize>) {
    let rows: Vec<usize> = (0..tokens.len() / dim).filter(|&i| keep(i)).collect();
    let mean = position_means(&rows, nt, dim, |n, j| tokens[rows[n] * dim + j]);
    let mut out = Vec::with_capacity(rows.len() * dim);
    for &i in &rows {
        out.extend((0..dim).map(|j| tokens[i * dim + j] - mean[(i % nt) * dim + j]));
    }
    (out, rows)
}

/// Per position (`rows[n] % nt`), the mean over the group's rows of `value(n, j)` (nt × D).
fn position_means(
    rows: &[usize],
    nt: usize,
    dim: usize,
    value: impl Fn(usize, usize) -> f64,
) -> Vec<f64> {
    let mut mean = vec![0.0; nt * dim];
    let mut count = vec![0usize; nt];
    for (n, &i) in rows.iter().enumerate() {
        count[i % nt] += 1;
        for j in 0..dim {
            mean[(i % nt) * dim + j] += value(n, j);
        }
    }
    for (t, &c) in count.iter().enumerate() {
        mean[t * dim..(t + 1) * dim]
            .iter_mut()
            .for_each(|m| *m /= c.max(1) as f64);
    }
    mean
}

/// Adds `scale · ∂R/∂A_c` of a group back to the tokens' gradient `dtok`: the centring is a
/// symmetric projection, so its backward centres the gradient the same way.
fn scatter_centred(
    dtok: &mut [f64],
    da: &[f64],
    rows: &[usize],
    nt: usize,
    dim: usize,
    scale: f64,
) {
    let mean = position_means(rows, nt, dim, |n, j| da[n * dim + j]);
    for (n, &i) in rows.iter().enumerate() {
        for j in 0..dim {
            dtok[i * dim + j] += scale * (da[n * dim + j] - mean[(i % nt) * dim + j]);
        }
    }
}

/// Adds `weight · ∂L_aux/∂θ` (module notes) to `grads` and returns `weight · L_aux`. θ is layer
/// 0's U, or with `through_embedding` also layer 0's LayerNorm and the patch embedding (the
/// tokens' gradient is taken back through them). `labels` (B) are the batch's subspaces; token
/// 0 of each sample (the class token) is left out; heads `classes..` are not supervised.
#[allow(clippy::too_many_arguments)]
pub fn add_rate_objective(
    cfg: &CrateConfig,
    params: &ParamSet<f32>,
    cache: &Cache<f32>,
    grads: &mut ParamSet<f32>,
    labels: &[usize],
    weight: f64,
    eps: f64,
    through_embedding: bool,
) -> Result<f64> {
    let mc = &cache
        .layers
        .first()
        .ok_or_else(|| Error::Config("the rate objective needs a layer".into()))?
        .0;
    let (dim, nt, b) = (cfg.dim, cache.nt, cache.b);
    if labels.len() != b || cfg.classes > cfg.heads {
        return Err(Error::Config(format!(
            "the rate objective needs one label per sample ({} for {b}) and heads ≥ classes",
            labels.len()
        )));
    }
    let dh = dim / cfg.heads;
    let alpha = dh as f64 / (eps * eps);
    let gamma = params.get(NORM);
    let tokens: Vec<f64> = mc
        .ln
        .xhat
        .iter()
        .enumerate()
        .map(|(i, &v)| v as f64 * gamma[i % dim] as f64)
        .collect();
    let label_of = |row: usize| (!row.is_multiple_of(nt)).then(|| labels[row / nt]);
    let u_all = params.get(QKV);
    let mut total = 0.0;
    let mut dq = vec![0.0f64; dim * dim];
    let mut dtok = vec![0.0f64; tokens.len()];
    let scale = weight / cfg.classes as f64;
    for k in 0..cfg.classes {
        let u: Vec<f64> = u_all[k * dh * dim..(k + 1) * dh * dim]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let (pos, prow) = centred_group(&tokens, dim, nt, |i| label_of(i) == Some(k));
        let (neg, nrow) = centred_group(&tokens, dim, nt, |i| label_of(i).is_some_and(|l| l != k));
        if prow.is_empty() || nrow.is_empty() {
            continue;
        }
        let (rp, gp, dap) = rate_and_grad(&u, &pos, prow.len(), dim, dh, alpha);
        let (rn, gn, dan) = rate_and_grad(&u, &neg, nrow.len(), dim, dh, alpha);
        total += scale * (rn - rp);
        for (i, (a, b)) in gn.iter().zip(&gp).enumerate() {
            dq[k * dh * dim + i] += scale * (a - b);
        }
        if through_embedding {
            scatter_centred(&mut dtok, &dan, &nrow, nt, dim, scale);
            scatter_centred(&mut dtok, &dap, &prow, nt, dim, -scale);
        }
    }
    for (g, d) in grads.get_mut(QKV).iter_mut().zip(&dq) {
        *g += *d as f32;
    }
    if through_embedding {
        // The tokens are γ ⊙ x̂ (the bias is centred away), so ∂/∂(LN output) = dtok.
        let dy: Vec<f32> = dtok.iter().map(|&v| v as f32).collect();
        let w = params.weights(cfg);
        let mut gw = Weights::spec(cfg).map(|s| vec![0.0f32; s.numel()]);
        let g = gw.slices_mut();
        let lg = g
            .layers
            .into_iter()
            .next()
            .ok_or_else(|| Error::Config("the rate objective needs a layer".into()))?;
        let mut dz = vec![0.0f32; dy.len()];
        layernorm::backward(
            &mc.ln,
            dim,
            w.layers[0].mssa.norm_w,
            &dy,
            Some(&mut dz),
            &mut *lg.mssa.norm_w,
            &mut *lg.mssa.norm_b,
        );
        embed::backward(&cache.embed, w.embed, &dz, g.embed);
        for (key, t) in ParamSet::from_weights(cfg, gw).tensors {
            for (a, b) in grads.get_mut(&key).iter_mut().zip(&t.data) {
                *a += b;
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{SubspaceConfig, SubspaceImages};
    use crate::data::{make_batch, ImageDataset};
    use crate::grad::forward;
    use crate::model::init::init_params;

    #[test]
    fn the_objective_s_gradient_reaches_u_the_norm_and_the_embedding() {
        // Central differences of the returned loss against the gradient it adds, for one
        // weight of U, of layer 0's LayerNorm and of the patch embedding.
        let data = SubspaceConfig {
            dim: 6,
            subspaces: 2,
            sub_dim: 2,
            tokens_per_sample: 3,
            samples: 0,
            ..SubspaceConfig::default()
        };
        let (tr, _) = SubspaceImages::generate(&data, 8, 1).unwrap();
        let base = CrateConfig {
            dim: 6,
            depth: 1,
            heads: 3,
            ..CrateConfig::preset("crate-fmnist").unwrap()
        };
        let cfg = tr.model_config(&base);
        let params = ParamSet::from_params(&init_params(&cfg, 3).unwrap());
        let idx: Vec<usize> = (0..tr.len()).collect();
        let b = make_batch(&tr, &idx, &cfg, None).unwrap();
        let loss = |p: &ParamSet<f32>, grads: &mut ParamSet<f32>| {
            let (_, cache) = forward(&cfg, p, &b.images.data, b.labels.len()).unwrap();
            add_rate_objective(&cfg, p, &cache, grads, &b.labels, 1.0, 0.5, true).unwrap()
        };
        let mut g = ParamSet::<f32>::zeros(&cfg);
        let l0 = loss(&params, &mut g);
        assert!(l0.is_finite());
        for (key, i) in [
            (QKV, 7),
            (NORM, 2),
            ("to_patch_embedding.2.weight", 5),
            ("to_patch_embedding.3.weight", 1),
        ] {
            let h = 1e-2f32;
            let mut sink = ParamSet::<f32>::zeros(&cfg);
            let mut up = params.clone();
            up.get_mut(key)[i] += h;
            let mut dn = params.clone();
            dn.get_mut(key)[i] -= h;
            let fd = (loss(&up, &mut sink) - loss(&dn, &mut sink)) / (2.0 * h as f64);
            let an = g.get(key)[i] as f64;
            assert!(
                (fd - an).abs() <= 0.05 * an.abs().max(fd.abs()) + 1e-3,
                "{key}[{i}]: finite difference {fd} vs gradient {an}"
            );
            assert!(an != 0.0, "{key}[{i}] gets no gradient");
        }
    }

    #[test]
    fn the_rate_gradient_matches_finite_differences() {
        let (n, dim, dh, alpha) = (7, 5, 2, 3.0);
        let a: Vec<f64> = (0..n * dim)
            .map(|i| ((i * 37 % 11) as f64 - 5.0) / 4.0)
            .collect();
        let u: Vec<f64> = (0..dh * dim)
            .map(|i| ((i * 13 % 7) as f64 - 3.0) / 5.0)
            .collect();
        let (_, g, _) = rate_and_grad(&u, &a, n, dim, dh, alpha);
        for i in 0..u.len() {
            let h = 1e-6;
            let mut up = u.clone();
            up[i] += h;
            let mut um = u.clone();
            um[i] -= h;
            let fd = (rate_and_grad(&up, &a, n, dim, dh, alpha).0
                - rate_and_grad(&um, &a, n, dim, dh, alpha).0)
                / (2.0 * h);
            assert!((fd - g[i]).abs() < 1e-6, "{i}: {fd} vs {}", g[i]);
        }
    }
}
