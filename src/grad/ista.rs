//! ISTA block forward with cache and backward.
//!
//! Forward: `y = LN(Z_half)`, `r = y - y D^T`, `Z_out = ReLU(y + eta r D - eta lambda)`.
//!
//! Backward: `g = dZ_out ⊙ [Z_out > 0]`; `dr = eta g D^T`; D is used twice, so
//! `dD = eta r^T g - dr^T y`; `dy = g + dr - dr D`; then the LayerNorm backward.

use super::{layernorm, Real};
use crate::cpu::gemm::{gemm, MatMut, MatRef, Threads};

#[derive(Clone, Copy)]
pub struct IstaParams<'a, T> {
    pub norm_w: &'a [T],
    pub norm_b: &'a [T],
    pub dict: &'a [T],
    pub eta: T,
    pub lambda: T,
}

/// The ISTA block's gradients (accumulated into).
pub type IstaGrads<'a, T> = crate::model::IstaWeights<&'a mut [T]>;

#[derive(Clone, Debug, Default)]
pub struct IstaCache<T> {
    pub rows: usize,
    pub d: usize,
    /// The LayerNorm's cache; `y = LN(Z_half)` is recomputed from it in the backward.
    pub ln: layernorm::LnCache<T>,
    /// `r = y - y D^T`.
    pub r: Vec<T>,
    /// The output (its sign is the ReLU mask).
    pub out: Vec<T>,
}

/// `Z_out` from `Z_half` (rows, d).
pub fn forward<T: Real>(
    zhalf: &[T],
    rows: usize,
    d: usize,
    p: IstaParams<'_, T>,
) -> (Vec<T>, IstaCache<T>) {
    let mut y = vec![T::ZERO; rows * d];
    let ln = layernorm::forward(zhalf, d, p.norm_w, p.norm_b, &mut y);
    let dm = MatRef::new(p.dict, d, d);
    let mut r = y.clone();
    gemm(
        MatMut::new(&mut r, rows, d),
        true,
        MatRef::new(&y, rows, d),
        dm.t(),
        -T::ONE,
        Threads::Auto,
    );
    let mut z = y.clone();
    gemm(
        MatMut::new(&mut z, rows, d),
        true,
        MatRef::new(&r, rows, d),
        dm,
        p.eta,
        Threads::Auto,
    );
    let shift = p.eta * p.lambda;
    for v in z.iter_mut() {
        let t = *v - shift;
        *v = if t > T::ZERO { t } else { T::ZERO };
    }
    let cache = IstaCache {
        rows,
        d,
        ln,
        r,
        out: z.clone(),
    };
    (z, cache)
}

/// Accumulates the block's parameter gradients into `g` and returns `dZ_half`.
pub fn backward<T: Real>(
    c: &IstaCache<T>,
    p: IstaParams<'_, T>,
    dzout: &[T],
    g: IstaGrads<'_, T>,
) -> Vec<T> {
    let (rows, d) = (c.rows, c.d);
    let gm: Vec<T> = dzout
        .iter()
        .zip(&c.out)
        .map(|(&dz, &z)| if z > T::ZERO { dz } else { T::ZERO })
        .collect();
    let gmat = MatRef::new(&gm, rows, d);
    let dm = MatRef::new(p.dict, d, d);
    // dr = eta g D^T
    let mut dr = vec![T::ZERO; rows * d];
    gemm(
        MatMut::new(&mut dr, rows, d),
        false,
        gmat,
        dm.t(),
        p.eta,
        Threads::Auto,
    );
    let y = layernorm::output(&c.ln, d, p.norm_w, p.norm_b);
    // dD = eta r^T g - dr^T y
    gemm(
        MatMut::new(&mut *g.dict, d, d),
        true,
        MatRef::new(&c.r, rows, d).t(),
        gmat,
        p.eta,
        Threads::Auto,
    );
    gemm(
        MatMut::new(g.dict, d, d),
        true,
        MatRef::new(&dr, rows, d).t(),
        MatRef::new(&y, rows, d),
        -T::ONE,
        Threads::Auto,
    );
    // dy = g + dr - dr D
    let mut dy: Vec<T> = gm.iter().zip(&dr).map(|(&a, &b)| a + b).collect();
    gemm(
        MatMut::new(&mut dy, rows, d),
        true,
        MatRef::new(&dr, rows, d),
        dm,
        -T::ONE,
        Threads::Auto,
    );
    let mut dzh = vec![T::ZERO; rows * d];
    layernorm::backward(&c.ln, d, p.norm_w, &dy, Some(&mut dzh), g.norm_w, g.norm_b);
    dzh
}
