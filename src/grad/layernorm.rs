//! LayerNorm over the last dimension (biased variance, eps = 1e-5, affine), forward with cache
//! and backward.
//!
//! With `xhat = (x - mean) * inv`, `inv = 1/sqrt(var + eps)` and `y = xhat * gamma + beta`:
//! `dgamma += sum_rows dy * xhat`, `dbeta += sum_rows dy`, and with `g = dy * gamma`,
//! `dx = inv * (g - mean(g) - xhat * mean(g * xhat))`.

use super::Real;
use crate::cpu::layernorm::LN_EPS;
use crate::cpu::par;

/// What the backward needs: the normalised rows and each row's `1/sqrt(var + eps)`.
#[derive(Clone, Debug, Default)]
pub struct LnCache<T> {
    pub xhat: Vec<T>,
    pub inv: Vec<T>,
}

fn rows_per_task(dim: usize) -> usize {
    (4096 / dim.max(1)).max(1)
}

/// Row-wise LayerNorm of `x` (rows, dim) into `out`; returns the cache.
pub fn forward<T: Real>(x: &[T], dim: usize, gamma: &[T], beta: &[T], out: &mut [T]) -> LnCache<T> {
    assert_eq!(x.len(), out.len());
    let rows = x.len() / dim;
    let mut xhat = vec![T::ZERO; x.len()];
    let mut inv = vec![T::ZERO; rows];
    let rpt = rows_per_task(dim);
    let eps = T::from_f64(super::decimal(LN_EPS));
    let n = T::from_f64(dim as f64);
    par::for_each_chunk2(&mut xhat, rpt * dim, &mut inv, rpt, |t, xh, iv| {
        let x = &x[t * rpt * dim..][..xh.len()];
        for ((xr, hr), i) in x
            .chunks_exact(dim)
            .zip(xh.chunks_exact_mut(dim))
            .zip(iv.iter_mut())
        {
            let mut s = T::ZERO;
            for &v in xr {
                s += v;
            }
            let mean = s / n;
            let mut q = T::ZERO;
            for &v in xr {
                q += (v - mean) * (v - mean);
            }
            let r = T::ONE / (q / n + eps).sqrt();
            *i = r;
            for (h, &v) in hr.iter_mut().zip(xr) {
                *h = (v - mean) * r;
            }
        }
    });
    for (orow, hrow) in out.chunks_exact_mut(dim).zip(xhat.chunks_exact(dim)) {
        for (((o, &h), &g), &b) in orow.iter_mut().zip(hrow).zip(gamma).zip(beta) {
            *o = h * g + b;
        }
    }
    LnCache { xhat, inv }
}

/// The forward's output `xhat * gamma + beta`, recomputed from the cache (so that callers need
/// not keep it).
pub fn output<T: Real>(cache: &LnCache<T>, dim: usize, gamma: &[T], beta: &[T]) -> Vec<T> {
    let mut out = vec![T::ZERO; cache.xhat.len()];
    for (orow, hrow) in out.chunks_exact_mut(dim).zip(cache.xhat.chunks_exact(dim)) {
        for (((o, &h), &g), &b) in orow.iter_mut().zip(hrow).zip(gamma).zip(beta) {
            *o = h * g + b;
        }
    }
    out
}

/// Accumulates `dgamma`, `dbeta` and, when asked, writes (overwrites) `dx`.
pub fn backward<T: Real>(
    cache: &LnCache<T>,
    dim: usize,
    gamma: &[T],
    dy: &[T],
    dx: Option<&mut [T]>,
    dgamma: &mut [T],
    dbeta: &mut [T],
) {
    for (dyr, hr) in dy.chunks_exact(dim).zip(cache.xhat.chunks_exact(dim)) {
        for (((dg, db), &g), &h) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(dyr).zip(hr) {
            *dg += g * h;
            *db += g;
        }
    }
    let Some(dx) = dx else { return };
    assert_eq!(dx.len(), dy.len());
    let rpt = rows_per_task(dim);
    let n = T::from_f64(dim as f64);
    par::for_each_chunk(dx, rpt * dim, |t, dxc| {
        let r0 = t * rpt;
        let dy = &dy[r0 * dim..][..dxc.len()];
        let xh = &cache.xhat[r0 * dim..][..dxc.len()];
        for (i, ((dxr, dyr), hr)) in dxc
            .chunks_exact_mut(dim)
            .zip(dy.chunks_exact(dim))
            .zip(xh.chunks_exact(dim))
            .enumerate()
        {
            let (mut m1, mut m2) = (T::ZERO, T::ZERO);
            for ((&d, &g), &h) in dyr.iter().zip(gamma).zip(hr) {
                let gg = d * g;
                m1 += gg;
                m2 += gg * h;
            }
            m1 = m1 / n;
            m2 = m2 / n;
            let inv = cache.inv[r0 + i];
            for (((o, &d), &g), &h) in dxr.iter_mut().zip(dyr).zip(gamma).zip(hr) {
                *o = inv * (d * g - m1 - h * m2);
            }
        }
    });
}
