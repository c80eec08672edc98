//! Reductions written with independent lane accumulators so that the compiler vectorises them
//! (AVX natively, SIMD128 on wasm); a plain fold over floats stays scalar because float addition
//! is not associative.

const LANES: usize = 16;

#[inline(always)]
pub fn sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
pub fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    acc.iter().copied().fold(tail, f32::max)
}

/// Sum of squared deviations from `mean`.
pub fn sum_sq_dev(x: &[f32], mean: f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail: f32 = chunks
        .remainder()
        .iter()
        .map(|v| (v - mean) * (v - mean))
        .sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += (v - mean) * (v - mean);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `row ← softmax(row)`, stable (shifted by the row's maximum). Natively the body is compiled
/// again for AVX-512 and AVX2 and picked at run time (the release build targets baseline x86-64,
/// SSE2's four lanes); every version runs the same operations in the same order, so the result
/// is bit-for-bit the same on every machine. On wasm the SIMD128 build is the only one.
pub fn softmax_in_place(row: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            return unsafe { softmax_avx512(row) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { softmax_avx2(row) };
        }
    }
    softmax_body(row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn softmax_avx512(row: &mut [f32]) {
    softmax_body(row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn softmax_avx2(row: &mut [f32]) {
    softmax_body(row)
}

#[inline(always)]
fn softmax_body(row: &mut [f32]) {
    let inv = 1.0 / exp_sub_sum(row, max(row));
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// `x ← exp(x − shift)` elementwise, returning the new sum: softmax's middle pass, the one place
/// the engine calls `exp` at scale (B·K·N² times a forward). `f32::exp` is a scalar libm call
/// natively and in wasm; this is Cephes' `expf` (range reduction by ln 2 in two parts, a degree-6
/// polynomial, the power of two built from bits) written branch-free so that it vectorises.
/// Within 2 ulp of the exact exponential (see the test); NaN stays NaN, and results below
/// f32's smallest normal (x − shift < −87.33) flush to 0.
#[inline(always)]
pub fn exp_sub_sum(x: &mut [f32], shift: f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = x.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for (a, v) in acc.iter_mut().zip(c.iter_mut()) {
            *v = exp(*v - shift);
            *a += *v;
        }
    }
    let mut tail = 0.0;
    for v in chunks.into_remainder() {
        *v = exp(*v - shift);
        tail += *v;
    }
    acc.iter().sum::<f32>() + tail
}

/// Cephes `expf`, branch-free (see [`exp_sub_sum`]).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that n·LN2_HI is exact for the n that occur.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2^23 rounds to the nearest integer and leaves it in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const LO: f32 = -87.336_55; // ln of f32's smallest normal
    const HI: f32 = 88.376_26;
    let xc = x.clamp(LO, HI);
    let t = xc * LOG2E + ROUND;
    let n = t - ROUND;
    let k = t.to_bits().wrapping_sub(ROUND.to_bits());
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5; // Cephes: 5.0000001201e-1, which is 0.5 in f32
    let y = (p * r * r + r + 1.0) * f32::from_bits(k.wrapping_add(127) << 23);
    // NaN fails both comparisons and passes through `y` (the clamp keeps it NaN).
    if x < LO {
        0.0
    } else if x > HI {
        f32::INFINITY
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reductions_match_plain_folds() {
        for n in [0usize, 1, 15, 16, 17, 100] {
            let x = crate::rng::uniform(5, "v", n, 3.0);
            let s: f64 = x.iter().map(|&v| v as f64).sum();
            assert!((super::sum(&x) as f64 - s).abs() < 1e-4);
            let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(super::max(&x), m);
        }
    }

    #[test]
    fn exp_is_within_two_ulp_and_keeps_the_edges() {
        let ulp = |v: f32| f32::from_bits(v.to_bits() + 1) - v;
        let mut worst = 0.0f64;
        let mut x = -87.3f32;
        while x < 88.3 {
            let exact = (x as f64).exp();
            let got = super::exp(x) as f64;
            worst = worst.max((got - exact).abs() / ulp(exact as f32) as f64);
            x += 0.0137;
        }
        assert!(worst <= 2.0, "exp is {worst} ulp off");
        assert_eq!(super::exp(0.0), 1.0);
        assert_eq!(super::exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(super::exp(-200.0), 0.0);
        assert_eq!(super::exp(100.0), f32::INFINITY);
        assert!(super::exp(f32::NAN).is_nan());
        for n in [0usize, 1, 15, 16, 17, 100] {
            let x = crate::rng::uniform(7, "e", n, 5.0);
            let mut y = x.clone();
            let s = super::exp_sub_sum(&mut y, 2.0);
            let exact: Vec<f64> = x.iter().map(|&v| ((v - 2.0) as f64).exp()).collect();
            for (a, b) in y.iter().zip(&exact) {
                assert!((*a as f64 - b).abs() <= 2.5e-7 * b);
            }
            assert!((s as f64 - exact.iter().sum::<f64>()).abs() <= 1e-6 * s as f64 + 1e-9);
        }
    }

    #[test]
    fn softmax_is_the_same_bits_on_every_dispatch_path() {
        for n in [1usize, 7, 16, 197, 785] {
            let x = crate::rng::uniform(11, "s", n, 30.0);
            let mut plain = x.clone();
            super::softmax_body(&mut plain);
            let mut picked = x.clone();
            super::softmax_in_place(&mut picked);
            assert_eq!(
                plain.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                picked.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
            let total: f64 = plain.iter().map(|&v| v as f64).sum();
            assert!((total - 1.0).abs() < 1e-5, "{total}");
        }
    }
}
