//! Matrix multiply for the CPU engine: a thin, bounds-checked face over the `gemm` crate
//! (cache-blocked, runtime-dispatched SIMD kernels: AVX2/AVX-512 natively, SIMD128 on wasm).
//!
//! Matrices are views into f32 slices with a row stride and a column stride, so that a head's
//! columns of a (N, d) projection or the transpose of a PyTorch (out, in) weight are used in place.

/// The element types the products run on: f32 for the engines, f64 for the gradient checks.
pub trait GemmScalar: Copy + Send + Sync + 'static {
    const ZERO: Self;
    const ONE: Self;
    /// Runs the product on the project's own kernel where it has one for this type and target
    /// (f32 on wasm: [`whitebox_gemm`]); false: the `gemm` crate runs it.
    fn own_kernel(
        _c: &mut MatMut<'_, Self>,
        _accumulate: bool,
        _a: MatRef<'_, Self>,
        _b: MatRef<'_, Self>,
        _alpha: Self,
    ) -> bool {
        false
    }
}

impl GemmScalar for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[cfg(target_arch = "wasm32")]
    fn own_kernel(
        c: &mut MatMut<'_, f32>,
        accumulate: bool,
        a: MatRef<'_, f32>,
        b: MatRef<'_, f32>,
        alpha: f32,
    ) -> bool {
        whitebox_gemm::gemm(c, accumulate, a, b, alpha);
        true
    }
}

impl GemmScalar for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

pub use whitebox_gemm::{MatMut, MatRef};

/// Whether a product may use several threads. Inside an already parallel loop use `Single`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Threads {
    Single,
    Auto,
}

/// `c = beta_c * c + alpha * a · b` where `beta_c` is 0 (overwrite) or 1 (accumulate).
pub fn gemm<T: GemmScalar>(
    c: MatMut<'_, T>,
    accumulate: bool,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    alpha: T,
    threads: Threads,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "inner dimensions differ");
    assert_eq!((c.rows, c.cols), (m, n), "output shape differs");
    a.assert_in_bounds();
    b.assert_in_bounds();
    if m > 0 && n > 0 {
        assert!(
            (m - 1) * c.rs + n - 1 < c.data.len(),
            "output view out of bounds"
        );
    }
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                c.data[i * c.rs..i * c.rs + n].fill(T::ZERO);
            }
        }
        return;
    }
    let mut c = c;
    if m * n * k >= OWN_KERNEL_MIN && T::own_kernel(&mut c, accumulate, a, b, alpha) {
        return;
    }
    let par = parallelism(m, n, k, threads);
    // SAFETY: every view was bounds-checked above for the exact index ranges gemm touches
    // (rows*rs + cols*cs within the slice), and `c` is borrowed mutably so nothing aliases it.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.data.as_mut_ptr(),
            1,
            c.rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            T::ONE,
            alpha,
            false,
            false,
            false,
            par,
        );
    }
}

/// On wasm, f32 products of at least this many multiply-adds run on
/// [`whitebox_gemm`] (faster than `gemm`'s SIMD128 kernel there); smaller ones, such as a
/// head's attention, stay with `gemm`.
const OWN_KERNEL_MIN: usize = 1 << 17;

#[cfg(not(target_arch = "wasm32"))]
fn parallelism(m: usize, n: usize, k: usize, threads: Threads) -> gemm::Parallelism {
    // Below ~1 MFLOP the fork/join costs more than it saves.
    if threads == Threads::Auto && m * n * k >= 1 << 19 && rayon::current_num_threads() > 1 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    }
}

#[cfg(target_arch = "wasm32")]
fn parallelism(_: usize, _: usize, _: usize, _: Threads) -> gemm::Parallelism {
    gemm::Parallelism::None
}

/// `y = x · w^T (+ bias)`: PyTorch's `F.linear` for x (rows, in) and w (out, in), row-major.
pub fn linear<T: GemmScalar>(
    x: &[T],
    rows: usize,
    w: &[T],
    out: usize,
    inp: usize,
    bias: Option<&[T]>,
    y: &mut [T],
) {
    let accumulate = if let Some(b) = bias {
        for r in y.chunks_exact_mut(out).take(rows) {
            r.copy_from_slice(b);
        }
        true
    } else {
        false
    };
    gemm(
        MatMut::new(y, rows, out),
        accumulate,
        MatRef::new(x, rows, inp),
        MatRef::new(w, out, inp).t(),
        T::ONE,
        Threads::Auto,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: MatRef, b: MatRef) -> Vec<f32> {
        let mut c = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                let mut s = 0.0f64;
                for p in 0..a.cols {
                    s += a.data[i * a.rs + p * a.cs] as f64 * b.data[p * b.rs + j * b.cs] as f64;
                }
                c[i * b.cols + j] = s as f32;
            }
        }
        c
    }

    #[test]
    fn strided_products_match_naive() {
        let (m, k, n) = (37, 99, 50);
        let a: Vec<f32> = crate::rng::uniform(1, "a", m * k, 1.0);
        let b: Vec<f32> = crate::rng::uniform(1, "b", n * k, 1.0);
        let av = MatRef::new(&a, m, k);
        let bv = MatRef::new(&b, n, k).t();
        let want = naive(av, bv);
        let mut got = vec![1.0; m * n];
        gemm(
            MatMut::new(&mut got, m, n),
            false,
            av,
            bv,
            1.0,
            Threads::Auto,
        );
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "{g} vs {w}");
        }
        // accumulate with alpha, on a column slice
        let mut acc = want.clone();
        let sub = MatRef::new(&a, m, k).cols(10, 33);
        let bsub = MatRef::new(&b, n, k).t();
        let bsub = MatRef {
            rows: 33,
            data: &bsub.data[10 * bsub.rs..],
            ..bsub
        };
        let want2 = naive(sub, bsub);
        gemm(
            MatMut::new(&mut acc, m, n),
            true,
            sub,
            bsub,
            0.5,
            Threads::Single,
        );
        for i in 0..m * n {
            assert!((acc[i] - (want[i] + 0.5 * want2[i])).abs() < 1e-4);
        }
    }

    /// The wasm kernel's code, run natively on its portable lanes (the wasm build runs the same
    /// check in the page's self-test).
    #[test]
    fn own_kernel_matches_an_f64_product_on_odd_shapes() {
        let e = whitebox_gemm::check_shapes();
        assert!(e < 1e-5, "largest relative error {e:e}");
    }

    #[test]
    fn own_kernel_leaves_the_columns_past_its_output_alone() {
        let (m, k, n) = (6, 10, 9);
        let a = crate::rng::uniform(1, "a", m * k, 1.0);
        let b = crate::rng::uniform(2, "b", k * n, 1.0);
        let mut c = vec![7.0f32; m * 12];
        let mut out = MatMut {
            data: &mut c,
            rows: m,
            cols: n,
            rs: 12,
        };
        whitebox_gemm::gemm(
            &mut out,
            false,
            MatRef::new(&a, m, k),
            MatRef::new(&b, k, n),
            1.0,
        );
        for i in 0..m {
            assert!(
                c[i * 12 + n..i * 12 + 12].iter().all(|&v| v == 7.0),
                "row {i} spilled"
            );
            let s: f32 = (0..k).map(|p| a[i * k + p] * b[p * n]).sum();
            assert!((c[i * 12] - s).abs() < 1e-5);
        }
    }
}
