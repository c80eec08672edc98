//! MSSA, multi-head subspace self-attention: one gradient step on the coding rate of the tokens
//! against the subspaces U_k. The CPU twin of `shaders/mssa.wgsl`.
//!
//! For each image and head k: `w_k = LN(Z) U_k^T` serves as query, key and value, so the scores
//! `w_k w_k^T / sqrt(dh)` are symmetric; `o_k = softmax_row(scores) w_k`;
//! `Z^{l+1/2} = Z + [o_1 … o_K] W_o^T + b_o`.

use super::gemm::{gemm, linear, MatMut, MatRef, Threads};
use super::{par, vecops};

/// Attention for all images and heads: `w` is (B*N, d). Writes the probabilities (B, K, N, N)
/// into `probs` and returns the concatenated head outputs (B*N, d).
pub fn attention(
    w: &[f32],
    b: usize,
    nt: usize,
    d: usize,
    heads: usize,
    probs: &mut [f32],
) -> Vec<f32> {
    let dh = d / heads;
    let scale = 1.0 / (dh as f32).sqrt();
    // Head outputs in (B, K, N, dh) so that each (image, head) task owns a contiguous block.
    let mut ob = vec![0.0f32; b * heads * nt * dh];
    par::for_each_chunk2(probs, nt * nt, &mut ob, nt * dh, |task, a, o| {
        let (bi, k) = (task / heads, task % heads);
        let wk = MatRef {
            data: &w[bi * nt * d..][..nt * d],
            rows: nt,
            cols: d,
            rs: d,
            cs: 1,
        }
        .cols(k * dh, dh);
        gemm(
            MatMut::new(a, nt, nt),
            false,
            wk,
            wk.t(),
            scale,
            Threads::Single,
        );
        for row in a.chunks_exact_mut(nt) {
            vecops::softmax_in_place(row);
        }
        gemm(
            MatMut::new(o, nt, dh),
            false,
            MatRef::new(a, nt, nt),
            wk,
            1.0,
            Threads::Single,
        );
    });
    let mut o = vec![0.0f32; b * nt * d];
    for bi in 0..b {
        for k in 0..heads {
            let src = &ob[(bi * heads + k) * nt * dh..][..nt * dh];
            for (t, row) in src.chunks_exact(dh).enumerate() {
                o[(bi * nt + t) * d + k * dh..][..dh].copy_from_slice(row);
            }
        }
    }
    o
}

/// `Z + o W_o^T + b_o`.
pub fn output_projection(
    z: &[f32],
    o: &[f32],
    rows: usize,
    d: usize,
    w_out: &[f32],
    b_out: &[f32],
) -> Vec<f32> {
    let mut zhalf = vec![0.0f32; rows * d];
    linear(o, rows, w_out, d, d, Some(b_out), &mut zhalf);
    for (h, &zz) in zhalf.iter_mut().zip(z) {
        *h += zz;
    }
    zhalf
}
