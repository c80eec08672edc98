//! Reductions written with independent lane accumulators so that the compiler vectorises them
//! (AVX natively, SIMD128 on wasm); a plain fold over floats stays scalar because float addition
//! is not associative.

const LANES: usize = 16;

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
}
