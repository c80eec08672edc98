//! Whitebox's own f32 matrix product (used by `whitebox::cpu::gemm` on wasm): a register-blocked 4×8 kernel over B packed in panels of
//! 8 columns, blocked along k. On wasm it runs on SIMD128 and replaces the `gemm` crate's
//! kernel for the large products (measured in Node 20 and Chromium on this machine's cores:
//! 43–51 GFLOP/s against 34–37 on the (6400×128)·(128×128)-sized products of a training step;
//! the small per-head products stay with `gemm`, which is level or faster there).
//!
//! Natively the same code runs on plain four-float lanes, so that its packing, blocking and edges
//! are tested with `cargo test` (`whitebox::cpu::gemm`'s tests call [`check_shapes`]); the native
//! engine itself keeps the `gemm` crate's AVX kernels. The wasm build is checked by the page's
//! self-test: the CPU engine's forward within 1e-5 of the native one, and [`check_shapes`] run in
//! the browser.
//!
//! A crate of its own so that the page's debug builds optimise it (see Cargo.toml).
//!
//! Why 4×8: eight accumulators, two B vectors and one broadcast A value keep 11 of V8's 15 free
//! vector registers busy; a 6×8 tile (15) made V8 spill and ran at half the speed.

/// A read-only strided matrix view: element (i, j) is `data[i * rs + j * cs]`. Shared with
/// `whitebox::cpu::gemm` (which re-exports it), so that one view type serves both products.
pub struct MatRef<'a, T = f32> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<T> Clone for MatRef<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for MatRef<'_, T> {}

impl<'a, T> MatRef<'a, T> {
    /// A row-major (rows, cols) matrix.
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }
    /// Its transpose, without moving data.
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }
    /// Columns `c0 .. c0 + n` (a head's slice of a projection).
    pub fn cols(self, c0: usize, n: usize) -> Self {
        assert!(c0 + n <= self.cols);
        let off = if self.rows == 0 || n == 0 {
            0
        } else {
            c0 * self.cs
        };
        Self {
            data: &self.data[off..],
            cols: n,
            ..self
        }
    }
    /// Panics when the view reaches past its slice.
    pub fn assert_in_bounds(&self) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.rs + (self.cols - 1) * self.cs;
            assert!(last < self.data.len(), "matrix view out of bounds");
        }
    }
}

/// A mutable row-major matrix with row stride `rs` (columns are contiguous).
pub struct MatMut<'a, T = f32> {
    pub data: &'a mut [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
}

impl<'a, T> MatMut<'a, T> {
    /// A row-major (rows, cols) matrix.
    pub fn new(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            rs: cols,
        }
    }
}

/// Rows and columns of the register tile.
const MR: usize = 4;
const NR: usize = 8;
/// Depth of one packed block of B (a 128-column panel set of 256 rows is 128 KB).
const KC: usize = 256;

/// `c = accumulate·c + alpha · a·b`. Panics when the shapes differ or a view reaches past its
/// slice.
pub fn gemm(c: &mut MatMut<'_>, accumulate: bool, a: MatRef<'_>, b: MatRef<'_>, alpha: f32) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(b.rows == k && c.rows == m && c.cols == n, "shapes differ");
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        (m - 1) * c.rs + n <= c.data.len(),
        "output view out of bounds"
    );
    a.assert_in_bounds();
    b.assert_in_bounds();
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                c.data[i * c.rs..i * c.rs + n].fill(0.0);
            }
        }
        return;
    }
    PACK.with_borrow_mut(|pack| {
        let mut p0 = 0;
        while p0 < k {
            let kc = KC.min(k - p0);
            pack_b(pack, b, p0, kc, alpha);
            block(c, accumulate || p0 > 0, a, p0, kc, pack);
            p0 += kc;
        }
    });
}

thread_local! {
    /// B's packed panels, reused from product to product.
    static PACK: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Rows `p0 .. p0 + kc` of `b`, times `alpha`, as panels of [`NR`] columns: panel `j`, row `p`
/// at `(j·kc + p)·NR`, the last panel padded with zeros.
fn pack_b(pack: &mut Vec<f32>, b: MatRef<'_>, p0: usize, kc: usize, alpha: f32) {
    let n = b.cols;
    let panels = n.div_ceil(NR);
    pack.clear();
    pack.resize(panels * kc * NR, 0.0);
    for jp in 0..panels {
        let j0 = jp * NR;
        let w = NR.min(n - j0);
        let dst = &mut pack[jp * kc * NR..(jp + 1) * kc * NR];
        if b.cs == 1 {
            for p in 0..kc {
                let row = &b.data[(p0 + p) * b.rs + j0..][..w];
                for (d, &v) in dst[p * NR..p * NR + w].iter_mut().zip(row) {
                    *d = v * alpha;
                }
            }
        } else {
            // Columns strided (a transposed view): walk each column down, which is contiguous.
            for j in 0..w {
                for p in 0..kc {
                    dst[p * NR + j] = b.data[(p0 + p) * b.rs + (j0 + j) * b.cs] * alpha;
                }
            }
        }
    }
}

/// `c (+)= a[:, p0 .. p0 + kc] · packed` for all tiles.
fn block(c: &mut MatMut<'_>, accumulate: bool, a: MatRef<'_>, p0: usize, kc: usize, pack: &[f32]) {
    let (m, n) = (c.rows, c.cols);
    let panels = n.div_ceil(NR);
    let mut i = 0;
    while i < m {
        let h = MR.min(m - i);
        // Offsets of the tile's rows of `a` at column p0; short tiles repeat their last row (its
        // results are not stored).
        let rows: [usize; MR] = std::array::from_fn(|r| (i + r.min(h - 1)) * a.rs + p0 * a.cs);
        for jp in 0..panels {
            let acc = tile(
                a.data,
                rows,
                a.cs,
                kc,
                &pack[jp * kc * NR..(jp + 1) * kc * NR],
            );
            let j0 = jp * NR;
            let w = NR.min(n - j0);
            for (r, lanes) in acc.iter().enumerate().take(h) {
                let dst = &mut c.data[(i + r) * c.rs + j0..][..w];
                let mut v = [0.0f32; NR];
                lanes[0].store(&mut v[..4]);
                lanes[1].store(&mut v[4..]);
                if accumulate {
                    for (d, x) in dst.iter_mut().zip(v) {
                        *d += x;
                    }
                } else {
                    dst.copy_from_slice(&v[..w]);
                }
            }
        }
        i += MR;
    }
}

/// One 4×8 tile over `kc` steps: rows of `a` start at `rows[r]` and step by `cs`; `panel` holds
/// 8 values of B per step.
#[inline(always)]
fn tile(a: &[f32], rows: [usize; MR], cs: usize, kc: usize, panel: &[f32]) -> [[F4; 2]; MR] {
    // The last element each row reads, checked once so the loop's reads need no checks.
    for &r in &rows {
        assert!(r + (kc - 1) * cs < a.len(), "tile reads past its matrix");
    }
    assert!(panel.len() >= kc * NR);
    let z = F4::zero();
    let (mut c00, mut c01, mut c10, mut c11) = (z, z, z, z);
    let (mut c20, mut c21, mut c30, mut c31) = (z, z, z, z);
    for p in 0..kc {
        // SAFETY: p < kc, and the asserts above bound rows[r] + p·cs and p·NR + 8 by the slices.
        unsafe {
            let b0 = F4::load(panel.as_ptr().add(p * NR));
            let b1 = F4::load(panel.as_ptr().add(p * NR + 4));
            let at = p * cs;
            let a0 = F4::splat(*a.get_unchecked(rows[0] + at));
            c00 = c00.mul_add(a0, b0);
            c01 = c01.mul_add(a0, b1);
            let a1 = F4::splat(*a.get_unchecked(rows[1] + at));
            c10 = c10.mul_add(a1, b0);
            c11 = c11.mul_add(a1, b1);
            let a2 = F4::splat(*a.get_unchecked(rows[2] + at));
            c20 = c20.mul_add(a2, b0);
            c21 = c21.mul_add(a2, b1);
            let a3 = F4::splat(*a.get_unchecked(rows[3] + at));
            c30 = c30.mul_add(a3, b0);
            c31 = c31.mul_add(a3, b1);
        }
    }
    [[c00, c01], [c10, c11], [c20, c21], [c30, c31]]
}

/// Four f32 lanes: SIMD128 on wasm, an array elsewhere (the same operations in the same order,
/// `acc + a·b` rounded twice, as wasm's separate multiply and add).
#[cfg(target_arch = "wasm32")]
#[derive(Clone, Copy)]
struct F4(core::arch::wasm32::v128);

#[cfg(target_arch = "wasm32")]
impl F4 {
    #[inline(always)]
    fn zero() -> Self {
        Self(core::arch::wasm32::f32x4_splat(0.0))
    }
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Self(core::arch::wasm32::f32x4_splat(x))
    }
    /// SAFETY: `p .. p + 4` must be readable.
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        Self(core::arch::wasm32::v128_load(
            p as *const core::arch::wasm32::v128,
        ))
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        use core::arch::wasm32::{f32x4_add, f32x4_mul};
        Self(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
    }
    #[inline(always)]
    fn store(self, out: &mut [f32]) {
        use core::arch::wasm32::*;
        out[0] = f32x4_extract_lane::<0>(self.0);
        out[1] = f32x4_extract_lane::<1>(self.0);
        out[2] = f32x4_extract_lane::<2>(self.0);
        out[3] = f32x4_extract_lane::<3>(self.0);
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Copy)]
struct F4([f32; 4]);

#[cfg(not(target_arch = "wasm32"))]
impl F4 {
    fn zero() -> Self {
        Self([0.0; 4])
    }
    fn splat(x: f32) -> Self {
        Self([x; 4])
    }
    /// SAFETY: `p .. p + 4` must be readable.
    unsafe fn load(p: *const f32) -> Self {
        Self(std::array::from_fn(|i| *p.add(i)))
    }
    fn mul_add(self, a: Self, b: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
    }
    fn store(self, out: &mut [f32]) {
        out[..4].copy_from_slice(&self.0);
    }
}

/// Products of odd shapes and layouts (edges of the tile, of the panel and of the k block;
/// transposed views; accumulate; alpha) against an f64 reference: the largest error relative to
/// the largest result. Run by the tests natively and by the self-test in the browser.
pub fn check_shapes() -> f64 {
    let mut worst = 0.0f64;
    for &(m, k, n) in &[
        (1, 1, 1),
        (3, 5, 7),
        (4, 8, 8),
        (5, 9, 17),
        (13, 300, 9),
        (37, 257, 50),
        (64, 513, 24),
    ] {
        for &(ta, tb, acc, alpha) in &[
            (false, false, false, 1.0f32),
            (true, false, true, 0.5),
            (false, true, false, -2.0),
            (true, true, true, 1.0),
        ] {
            let av = uniform(11, m * k);
            let bv = uniform(12, k * n);
            let a = if ta {
                MatRef::new(&av, k, m).t()
            } else {
                MatRef::new(&av, m, k)
            };
            let b = if tb {
                MatRef::new(&bv, n, k).t()
            } else {
                MatRef::new(&bv, k, n)
            };
            let start = uniform(13, m * n);
            let mut want = vec![0.0f64; m * n];
            for i in 0..m {
                for j in 0..n {
                    let mut s = 0.0f64;
                    for p in 0..k {
                        s +=
                            a.data[i * a.rs + p * a.cs] as f64 * b.data[p * b.rs + j * b.cs] as f64;
                    }
                    want[i * n + j] =
                        alpha as f64 * s + if acc { start[i * n + j] as f64 } else { 0.0 };
                }
            }
            let mut got = start.clone();
            gemm(&mut MatMut::new(&mut got, m, n), acc, a, b, alpha);
            let scale = want.iter().fold(1.0f64, |s, v| s.max(v.abs()));
            for (g, w) in got.iter().zip(&want) {
                worst = worst.max((*g as f64 - w).abs() / scale);
            }
        }
    }
    worst
}

/// `n` values in [-1, 1) from a fixed xorshift stream.
fn uniform(seed: u64, n: usize) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 23) as f32 * 2.0 - 1.0
        })
        .collect()
}
