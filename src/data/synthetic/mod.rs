//! Synthetic datasets with a known ground truth, for the views that compare what CRATE learns
//! with what is really there:
//!
//! - [`subspaces`]: tokens from a mixture of K low-dimensional Gaussian subspaces of R^d, with
//!   the orthonormal bases returned (to compare with the learned U_k);
//! - [`shapes`]: images of simple shapes on textured backgrounds, labelled by shape, with the
//!   object's mask (to score attention maps as segmentations).
//!
//! Both are generated from a seed with [`SplitMix64`](crate::rng::SplitMix64) and only IEEE
//! arithmetic (+, −, ×, ÷, √; the logarithm is computed here, not by the platform's libm), so the
//! same seed gives bit-identical data natively and in the browser.

pub mod backgrounds;
pub mod shapes;
pub mod subspace_images;
pub mod subspaces;

pub use shapes::{Fill, Shape, ShapeSample, ShapesConfig, ShapesDataset, Surface, Texture};
pub use subspace_images::SubspaceImages;
pub use subspaces::{generate_subspaces, SubspaceConfig, SubspaceData};

use crate::rng::SplitMix64;

/// Uniform in [0, 1) with 53 bits.
pub(crate) fn next_f64(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Natural logarithm of a positive finite `x` from exact IEEE operations only (no libm), so it
/// is bit-identical on every platform; accurate to a few ulps.
pub(crate) fn ln(x: f64) -> f64 {
    debug_assert!(x > 0.0 && x.is_finite());
    let (mut x, mut e) = (x, 0i64);
    if x < f64::MIN_POSITIVE {
        x *= (1u64 << 54) as f64;
        e -= 54;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m /= 2.0;
        e += 1;
    }
    // ln m = 2 atanh(s), s = (m − 1)/(m + 1), |s| < 0.172: the series converges fast.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    for k in 0..16 {
        sum += term / (2 * k + 1) as f64;
        term *= s2;
    }
    e as f64 * std::f64::consts::LN_2 + 2.0 * sum
}

/// A standard normal sample (Marsaglia's polar method).
pub(crate) fn gaussian(rng: &mut SplitMix64) -> f64 {
    loop {
        let u = 2.0 * next_f64(rng) - 1.0;
        let v = 2.0 * next_f64(rng) - 1.0;
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            return u * (-2.0 * ln(s) / s).sqrt();
        }
    }
}

/// A uniformly random direction in the plane, as (cos θ, sin θ).
pub(crate) fn unit_vector(rng: &mut SplitMix64) -> (f64, f64) {
    loop {
        let u = 2.0 * next_f64(rng) - 1.0;
        let v = 2.0 * next_f64(rng) - 1.0;
        let s = u * u + v * v;
        if s > 1e-4 && s < 1.0 {
            let r = s.sqrt();
            return (u / r, v / r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_matches_std() {
        for x in [
            1e-300, 1e-20, 0.001, 0.3, 0.5, 0.9999, 1.0, 1.5, 2.0, 7.0, 1e10, 1e300,
        ] {
            let (a, b) = (ln(x), f64::ln(x));
            assert!(
                (a - b).abs() <= 4.0 * f64::EPSILON * b.abs().max(1.0),
                "{x}: {a} {b}"
            );
        }
    }

    #[test]
    fn gaussian_moments() {
        let mut g = SplitMix64::new(1);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| gaussian(&mut g)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.02,
            "{mean} {var}"
        );
    }
}
