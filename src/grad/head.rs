//! Classification head forward with cache and backward: `LN(Z[CLS]) W_1^T + b_1`, then the
//! optional extra `head` linear. Only the CLS rows of `dZ` are non-zero.

use super::{layernorm, linear, Real};

#[derive(Clone, Copy)]
pub struct HeadParams<'a, T> {
    pub ln_w: &'a [T],
    pub ln_b: &'a [T],
    /// The head's first Linear (out1, d) and its bias.
    pub w1: &'a [T],
    pub b1: &'a [T],
    /// The extra `head` linear (classes, out1), when the model has one.
    pub w2: Option<(&'a [T], &'a [T])>,
    pub out1: usize,
    pub classes: usize,
}

/// The head's gradients (accumulated into).
pub type HeadGrads<'a, T> = crate::model::HeadWeights<&'a mut [T]>;

#[derive(Clone, Debug, Default)]
pub struct HeadCache<T> {
    pub b: usize,
    pub nt: usize,
    pub d: usize,
    pub ln: layernorm::LnCache<T>,
    /// `LN(Z[CLS])` (B, d).
    pub y: Vec<T>,
    /// The first Linear's output (B, out1): the logits, or the extra head's input.
    pub h1: Vec<T>,
}

/// Logits (B, classes) from the last layer's tokens (B*N, d).
pub fn forward<T: Real>(
    z: &[T],
    b: usize,
    nt: usize,
    d: usize,
    p: HeadParams<'_, T>,
) -> (Vec<T>, HeadCache<T>) {
    let cls: Vec<T> = (0..b)
        .flat_map(|bi| z[bi * nt * d..][..d].iter().copied())
        .collect();
    let mut y = vec![T::ZERO; b * d];
    let ln = layernorm::forward(&cls, d, p.ln_w, p.ln_b, &mut y);
    let h1 = linear::forward(&y, b, p.w1, p.out1, d, Some(p.b1));
    let logits = match p.w2 {
        None => h1.clone(),
        Some((w2, b2)) => linear::forward(&h1, b, w2, p.classes, p.out1, Some(b2)),
    };
    (
        logits,
        HeadCache {
            b,
            nt,
            d,
            ln,
            y,
            h1,
        },
    )
}

/// Accumulates the head's parameter gradients and returns `dZ` (B*N, d).
pub fn backward<T: Real>(
    c: &HeadCache<T>,
    p: HeadParams<'_, T>,
    dlogits: &[T],
    g: HeadGrads<'_, T>,
) -> Vec<T> {
    let (b, d) = (c.b, c.d);
    let dh1 = match (p.w2, g.w2) {
        (Some((w2, _)), Some((gw2, gb2))) => {
            let mut dh1 = vec![T::ZERO; b * p.out1];
            linear::backward(
                &c.h1,
                b,
                w2,
                p.classes,
                p.out1,
                dlogits,
                Some(&mut dh1),
                gw2,
                Some(gb2),
            );
            dh1
        }
        (None, None) => dlogits.to_vec(),
        _ => panic!("head parameters and gradients disagree on the extra head"),
    };
    let mut dy = vec![T::ZERO; b * d];
    linear::backward(
        &c.y,
        b,
        p.w1,
        p.out1,
        d,
        &dh1,
        Some(&mut dy),
        g.w1,
        Some(g.b1),
    );
    let mut dcls = vec![T::ZERO; b * d];
    layernorm::backward(&c.ln, d, p.ln_w, &dy, Some(&mut dcls), g.ln_w, g.ln_b);
    let mut dz = vec![T::ZERO; b * c.nt * d];
    for bi in 0..b {
        dz[bi * c.nt * d..][..d].copy_from_slice(&dcls[bi * d..][..d]);
    }
    dz
}
