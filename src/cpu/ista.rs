//! ISTA: one proximal-gradient step of sparse coding against the dictionary D. The CPU twin of
//! the ISTA epilogue in `shaders/matmul.wgsl`.
//!
//! `Z^{l+1} = ReLU(y + eta * ((y - y D^T) D) - eta * lambda)` with `y = LN(Z^{l+1/2})`: the
//! official `ReLU(y + eta*(y D - (y D^T) D) - eta*lambda)` with one matmul fewer.

use super::gemm::{gemm, MatMut, MatRef, Threads};

/// `y` is the normalised input (rows, d); `dict` is D (d, d) row-major.
pub fn ista(y: &[f32], rows: usize, d: usize, dict: &[f32], eta: f32, lambda: f32) -> Vec<f32> {
    let dm = MatRef::new(dict, d, d);
    // r = y - y D^T
    let mut r = y.to_vec();
    gemm(
        MatMut::new(&mut r, rows, d),
        true,
        MatRef::new(y, rows, d),
        dm.t(),
        -1.0,
        Threads::Auto,
    );
    // z = y + eta * r D, then the shifted ReLU.
    let mut z = y.to_vec();
    gemm(
        MatMut::new(&mut z, rows, d),
        true,
        MatRef::new(&r, rows, d),
        dm,
        eta,
        Threads::Auto,
    );
    let shift = eta * lambda;
    for v in z.iter_mut() {
        // Written so that a NaN stays NaN (and is caught downstream) instead of becoming 0.
        let t = *v - shift;
        *v = if t < 0.0 { 0.0 } else { t };
    }
    z
}
