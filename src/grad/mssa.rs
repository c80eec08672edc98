//! MSSA block forward with cache and backward.
//!
//! Forward: `a = LN(Z)`, `w = a U^T`, per image and head `S_k = w_k w_k^T / sqrt(dh)`,
//! `A_k = softmax_row(S_k)`, `o_k = A_k w_k`, `Z_half = Z + o W_o^T + b_o`.
//!
//! Backward: `dZ = dZ_half + LN^T(da)`; `do = dZ_half W_o`; per head, with `dA = do_k w_k^T`
//! and the softmax backward `dS = A ⊙ (dA - rowsum(dA ⊙ A))`, the three uses of `w_k`
//! (value, query and key) give `dw_k = A^T do_k + (dS + dS^T) w_k / sqrt(dh)`;
//! then `dU = dw^T a`, `da = dw U`.

use super::{layernorm, linear, Real};
use crate::cpu::gemm::{gemm, MatMut, MatRef, Threads};
use crate::cpu::par;

/// The parameters of one MSSA block, borrowed.
pub type MssaParams<'a, T> = crate::model::MssaWeights<&'a [T]>;

/// Gradients of one MSSA block's parameters (accumulated into).
pub type MssaGrads<'a, T> = crate::model::MssaWeights<&'a mut [T]>;

#[derive(Clone, Debug, Default)]
pub struct MssaCache<T> {
    pub b: usize,
    pub nt: usize,
    pub d: usize,
    pub heads: usize,
    /// The LayerNorm's cache; `a = LN(Z)` is recomputed from it in the backward.
    pub ln: layernorm::LnCache<T>,
    /// `w = a U^T` (B*N, d).
    pub w: Vec<T>,
    /// Attention probabilities (B, K, N, N).
    pub probs: Vec<T>,
    /// Concatenated head outputs (B*N, d).
    pub o: Vec<T>,
}

fn head_view<T>(x: &[T], bi: usize, k: usize, nt: usize, d: usize, dh: usize) -> MatRef<'_, T> {
    MatRef::new(&x[bi * nt * d..][..nt * d], nt, d).cols(k * dh, dh)
}

/// Scatters per-(image, head) blocks (B, K, N, dh) into (B*N, d).
fn scatter<T: Real>(blocks: &[T], b: usize, nt: usize, d: usize, heads: usize) -> Vec<T> {
    let dh = d / heads;
    let mut out = vec![T::ZERO; b * nt * d];
    for bi in 0..b {
        for k in 0..heads {
            let src = &blocks[(bi * heads + k) * nt * dh..][..nt * dh];
            for (t, row) in src.chunks_exact(dh).enumerate() {
                out[(bi * nt + t) * d + k * dh..][..dh].copy_from_slice(row);
            }
        }
    }
    out
}

/// Attention for all images and heads of `w` (B*N, d): returns (probs (B, K, N, N), o (B*N, d)).
pub fn attention<T: Real>(
    w: &[T],
    b: usize,
    nt: usize,
    d: usize,
    heads: usize,
) -> (Vec<T>, Vec<T>) {
    let dh = d / heads;
    let scale = T::ONE / T::from_f64(dh as f64).sqrt();
    let mut probs = vec![T::ZERO; b * heads * nt * nt];
    let mut ob = vec![T::ZERO; b * heads * nt * dh];
    par::for_each_chunk2(&mut probs, nt * nt, &mut ob, nt * dh, |task, a, o| {
        let (bi, k) = (task / heads, task % heads);
        let wk = head_view(w, bi, k, nt, d, dh);
        gemm(
            MatMut::new(a, nt, nt),
            false,
            wk,
            wk.t(),
            scale,
            Threads::Single,
        );
        for row in a.chunks_exact_mut(nt) {
            T::softmax_in_place(row);
        }
        gemm(
            MatMut::new(o, nt, dh),
            false,
            MatRef::new(a, nt, nt),
            wk,
            T::ONE,
            Threads::Single,
        );
    });
    (probs, scatter(&ob, b, nt, d, heads))
}

/// The backward of [`attention`]: `dw` (B*N, d) from `do` (B*N, d).
pub fn attention_backward<T: Real>(
    w: &[T],
    probs: &[T],
    dout: &[T],
    b: usize,
    nt: usize,
    d: usize,
    heads: usize,
) -> Vec<T> {
    let dh = d / heads;
    let scale = T::ONE / T::from_f64(dh as f64).sqrt();
    let mut scratch = vec![T::ZERO; b * heads * nt * nt];
    let mut dwb = vec![T::ZERO; b * heads * nt * dh];
    par::for_each_chunk2(&mut scratch, nt * nt, &mut dwb, nt * dh, |task, ds, dw| {
        let (bi, k) = (task / heads, task % heads);
        let wk = head_view(w, bi, k, nt, d, dh);
        let dok = head_view(dout, bi, k, nt, d, dh);
        let a = &probs[task * nt * nt..][..nt * nt];
        // dA = do_k w_k^T
        gemm(
            MatMut::new(ds, nt, nt),
            false,
            dok,
            wk.t(),
            T::ONE,
            Threads::Single,
        );
        // softmax backward, with the score scale folded in
        for (dr, ar) in ds.chunks_exact_mut(nt).zip(a.chunks_exact(nt)) {
            let mut dot = T::ZERO;
            for (&x, &p) in dr.iter().zip(ar) {
                dot += x * p;
            }
            for (x, &p) in dr.iter_mut().zip(ar) {
                *x = p * (*x - dot) * scale;
            }
        }
        // M = dS + dS^T (in place)
        for i in 0..nt {
            ds[i * nt + i] = ds[i * nt + i] + ds[i * nt + i];
            for j in i + 1..nt {
                let s = ds[i * nt + j] + ds[j * nt + i];
                ds[i * nt + j] = s;
                ds[j * nt + i] = s;
            }
        }
        // dw_k = A^T do_k + M w_k
        let dwm = MatMut::new(&mut *dw, nt, dh);
        gemm(
            dwm,
            false,
            MatRef::new(a, nt, nt).t(),
            dok,
            T::ONE,
            Threads::Single,
        );
        gemm(
            MatMut::new(dw, nt, dh),
            true,
            MatRef::new(ds, nt, nt),
            wk,
            T::ONE,
            Threads::Single,
        );
    });
    scatter(&dwb, b, nt, d, heads)
}

/// `Z_half` from `Z` (B*N, d).
pub fn forward<T: Real>(
    z: &[T],
    b: usize,
    nt: usize,
    d: usize,
    heads: usize,
    p: MssaParams<'_, T>,
) -> (Vec<T>, MssaCache<T>) {
    let rows = b * nt;
    let mut a = vec![T::ZERO; rows * d];
    let ln = layernorm::forward(z, d, p.norm_w, p.norm_b, &mut a);
    let w = linear::forward(&a, rows, p.qkv, d, d, None);
    let (probs, o) = attention(&w, b, nt, d, heads);
    let mut zhalf = linear::forward(&o, rows, p.out_w, d, d, Some(p.out_b));
    for (h, &zz) in zhalf.iter_mut().zip(z) {
        *h += zz;
    }
    let cache = MssaCache {
        b,
        nt,
        d,
        heads,
        ln,
        w,
        probs,
        o,
    };
    (zhalf, cache)
}

/// Accumulates the block's parameter gradients into `g` and returns `dZ`.
pub fn backward<T: Real>(
    c: &MssaCache<T>,
    p: MssaParams<'_, T>,
    dzhalf: &[T],
    g: MssaGrads<'_, T>,
) -> Vec<T> {
    let (d, rows) = (c.d, c.b * c.nt);
    let mut dout = vec![T::ZERO; rows * d];
    linear::backward(
        &c.o,
        rows,
        p.out_w,
        d,
        d,
        dzhalf,
        Some(&mut dout),
        g.out_w,
        Some(g.out_b),
    );
    let dw = attention_backward(&c.w, &c.probs, &dout, c.b, c.nt, d, c.heads);
    let a = layernorm::output(&c.ln, d, p.norm_w, p.norm_b);
    let mut da = dout; // reuse the buffer
    linear::backward(&a, rows, p.qkv, d, d, &dw, Some(&mut da), g.qkv, None);
    let mut dz = vec![T::ZERO; rows * d];
    layernorm::backward(&c.ln, d, p.norm_w, &da, Some(&mut dz), g.norm_w, g.norm_b);
    for (x, &r) in dz.iter_mut().zip(dzhalf) {
        *x += r;
    }
    dz
}
