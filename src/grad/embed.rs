//! Patch embedding forward with cache and backward: patchify, `LN_P`, linear (d, P) + bias,
//! `LN_d`, then `Z^1 = [cls ; e] + pos`.
//!
//! Backward: `dcls = sum_b dZ[b, 0]`, `dpos[t] = sum_b dZ[b, t]`, `de = dZ[:, 1:]`, then the
//! LayerNorm and linear backwards in reverse (the pixels need no gradient).

use super::{layernorm, linear, Real};

/// The embedding's weights, borrowed.
pub type EmbedParams<'a, T> = crate::model::EmbedWeights<&'a [T]>;

/// The embedding's gradients (accumulated into).
pub type EmbedGrads<'a, T> = crate::model::EmbedWeights<&'a mut [T]>;

/// Shapes of an embedding: batch, channels, image size, patch side, dim.
#[derive(Clone, Copy, Debug)]
pub struct EmbedShape {
    pub b: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub p: usize,
    pub d: usize,
}

impl EmbedShape {
    pub fn patches(&self) -> usize {
        (self.h / self.p) * (self.w / self.p)
    }
    pub fn patch_len(&self) -> usize {
        self.p * self.p * self.c
    }
}

#[derive(Clone, Debug)]
pub struct EmbedCache<T> {
    pub s: EmbedShape,
    pub ln1: layernorm::LnCache<T>,
    /// `LN_P(patches)` (B*n, P).
    pub y1: Vec<T>,
    pub ln2: layernorm::LnCache<T>,
}

/// Patch vectors (B*n, P) of images (B, C, H, W): [`crate::cpu::embed::patchify`] itself.
pub fn patchify<T: Real>(x: &[T], b: usize, c: usize, h: usize, w: usize, p: usize) -> Vec<T> {
    crate::cpu::embed::patchify(x, b, c, h, w, p)
}

/// `Z^1` (B*N, d) from images (B, C, H, W).
pub fn forward<T: Real>(x: &[T], s: EmbedShape, p: EmbedParams<'_, T>) -> (Vec<T>, EmbedCache<T>) {
    let (d, pl, n) = (s.d, s.patch_len(), s.patches());
    let nt = n + 1;
    let patches = patchify(x, s.b, s.c, s.h, s.w, s.p);
    let mut y1 = vec![T::ZERO; patches.len()];
    let ln1 = layernorm::forward(&patches, pl, p.ln1_w, p.ln1_b, &mut y1);
    let e = linear::forward(&y1, s.b * n, p.w, d, pl, Some(p.b));
    let mut e2 = vec![T::ZERO; e.len()];
    let ln2 = layernorm::forward(&e, d, p.ln2_w, p.ln2_b, &mut e2);
    let mut z = vec![T::ZERO; s.b * nt * d];
    for bi in 0..s.b {
        let zb = &mut z[bi * nt * d..][..nt * d];
        for ((o, &c), &q) in zb[..d].iter_mut().zip(p.cls).zip(&p.pos[..d]) {
            *o = c + q;
        }
        for ((o, &e), &q) in zb[d..]
            .iter_mut()
            .zip(&e2[bi * n * d..][..n * d])
            .zip(&p.pos[d..])
        {
            *o = e + q;
        }
    }
    (z, EmbedCache { s, ln1, y1, ln2 })
}

/// Accumulates every embedding parameter's gradient from `dZ^1` (B*N, d).
pub fn backward<T: Real>(c: &EmbedCache<T>, p: EmbedParams<'_, T>, dz: &[T], g: EmbedGrads<'_, T>) {
    let s = c.s;
    let (d, pl, n) = (s.d, s.patch_len(), s.patches());
    let nt = n + 1;
    let mut de2 = vec![T::ZERO; s.b * n * d];
    for bi in 0..s.b {
        let zb = &dz[bi * nt * d..][..nt * d];
        for ((gc, gp), &v) in g.cls.iter_mut().zip(g.pos[..d].iter_mut()).zip(&zb[..d]) {
            *gc += v;
            *gp += v;
        }
        for (gp, &v) in g.pos[d..].iter_mut().zip(&zb[d..]) {
            *gp += v;
        }
        de2[bi * n * d..][..n * d].copy_from_slice(&zb[d..]);
    }
    let mut de = vec![T::ZERO; de2.len()];
    layernorm::backward(&c.ln2, d, p.ln2_w, &de2, Some(&mut de), g.ln2_w, g.ln2_b);
    let mut dy1 = vec![T::ZERO; c.y1.len()];
    linear::backward(
        &c.y1,
        s.b * n,
        p.w,
        d,
        pl,
        &de,
        Some(&mut dy1),
        g.w,
        Some(g.b),
    );
    layernorm::backward(&c.ln1, pl, p.ln1_w, &dy1, None, g.ln1_w, g.ln1_b);
}
