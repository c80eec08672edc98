//! `y = x W^T + b` (PyTorch's `F.linear`): `dx = dy W`, `dW += dy^T x`, `db += sum_rows dy`.

use super::Real;
use crate::cpu::gemm::{gemm, linear, MatMut, MatRef, Threads};

/// `y = x W^T (+ b)` for x (rows, inp), W (out, inp).
pub fn forward<T: Real>(
    x: &[T],
    rows: usize,
    w: &[T],
    out: usize,
    inp: usize,
    bias: Option<&[T]>,
) -> Vec<T> {
    let mut y = vec![T::ZERO; rows * out];
    linear(x, rows, w, out, inp, bias, &mut y);
    y
}

/// Accumulates `dw` (out, inp) and `db`; writes (overwrites) `dx` (rows, inp) when given.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Real>(
    x: &[T],
    rows: usize,
    w: &[T],
    out: usize,
    inp: usize,
    dy: &[T],
    dx: Option<&mut [T]>,
    dw: &mut [T],
    db: Option<&mut [T]>,
) {
    let dym = MatRef::new(dy, rows, out);
    if let Some(dx) = dx {
        gemm(
            MatMut::new(dx, rows, inp),
            false,
            dym,
            MatRef::new(w, out, inp),
            T::ONE,
            Threads::Auto,
        );
    }
    gemm(
        MatMut::new(dw, out, inp),
        true,
        dym.t(),
        MatRef::new(x, rows, inp),
        T::ONE,
        Threads::Auto,
    );
    if let Some(db) = db {
        for r in dy.chunks_exact(out) {
            for (b, &v) in db.iter_mut().zip(r) {
                *b += v;
            }
        }
    }
}
