//! Patch embedding (patchify, LN_P, linear, LN_d) and the CLS/position add.

use super::gemm::linear;
use super::interp::bicubic_hwc;
use super::layernorm::layer_norm;
use crate::model::{CrateConfig, EmbedWeights};

/// Patch vectors (B*n, P) of images (B, C, H, W), row-major over the grid, vector index
/// `(i*p + j)*C + c` (einops `(p1 p2 c)`).
pub fn patchify<T: Copy + Default>(
    x: &[T],
    b: usize,
    c: usize,
    h: usize,
    w: usize,
    p: usize,
) -> Vec<T> {
    let (gh, gw) = (h / p, w / p);
    let plen = p * p * c;
    let mut out = vec![T::default(); b * gh * gw * plen];
    for bi in 0..b {
        for gy in 0..gh {
            for gx in 0..gw {
                let dst = &mut out[((bi * gh + gy) * gw + gx) * plen..][..plen];
                for i in 0..p {
                    for j in 0..p {
                        for ci in 0..c {
                            dst[(i * p + j) * c + ci] =
                                x[((bi * c + ci) * h + gy * p + i) * w + gx * p + j];
                        }
                    }
                }
            }
        }
    }
    out
}

/// The position embeddings (N, d) for a `gh`×`gw` patch grid: the CLS entry kept, the patch part
/// of `pos` (at the training grid) interpolated bicubically when the grid differs.
pub fn position_embedding(cfg: &CrateConfig, pos: &[f32], gh: usize, gw: usize) -> Vec<f32> {
    let d = cfg.dim;
    let (g0h, g0w) = cfg.grid();
    let mut out = Vec::with_capacity((gh * gw + 1) * d);
    out.extend_from_slice(&pos[..d]);
    out.extend(bicubic_hwc(&pos[d..], g0h, g0w, d, gh, gw));
    out
}

/// `Z^1` (B*N, d) of images (B, C, H, W) at `h`×`w`, with the position embeddings `pos` for that
/// grid (from [`position_embedding`]).
pub fn embed(
    cfg: &CrateConfig,
    wt: &EmbedWeights<&[f32]>,
    x: &[f32],
    [b, h, w]: [usize; 3],
    pos: &[f32],
) -> Vec<f32> {
    let (d, pl) = (cfg.dim, cfg.patch_len());
    let n = (h / cfg.patch) * (w / cfg.patch);
    let patches = patchify(x, b, cfg.channels, h, w, cfg.patch);
    let mut y = vec![0.0f32; patches.len()];
    layer_norm(&patches, pl, wt.ln1_w, wt.ln1_b, &mut y);
    let mut e = vec![0.0f32; b * n * d];
    linear(&y, b * n, wt.w, d, pl, Some(wt.b), &mut e);
    let mut e2 = vec![0.0f32; e.len()];
    layer_norm(&e, d, wt.ln2_w, wt.ln2_b, &mut e2);
    let cls = wt.cls;
    let nt = n + 1;
    let mut z = vec![0.0f32; b * nt * d];
    for bi in 0..b {
        let zb = &mut z[bi * nt * d..][..nt * d];
        for (o, (c, q)) in zb[..d].iter_mut().zip(cls.iter().zip(&pos[..d])) {
            *o = c + q;
        }
        for ((o, e), q) in zb[d..]
            .iter_mut()
            .zip(&e2[bi * n * d..][..n * d])
            .zip(&pos[d..])
        {
            *o = e + q;
        }
    }
    z
}
