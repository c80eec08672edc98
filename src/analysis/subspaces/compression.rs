//! Per-head compression: R^c (CRATE-SPEC.md) is a sum over heads; these are its terms.

use serde::Serialize;

use crate::analysis::coding_rate::{coding_rate_from_grams, head_grams};

/// One layer's per-head R^c of one image.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct HeadRates {
    /// Of the MSSA input: K terms summing to the layer's `rc_in`.
    pub rc_in: Vec<f64>,
    /// After the MSSA step: K terms summing to the layer's `rc_out`.
    pub rc_out: Vec<f64>,
}

/// Per head, `0.5 logdet(I + dh/(N eps) X_kᵀX_k)` of one image's projection `w` (N, d): the
/// terms of [`crate::analysis::coding_rate`], computed the same way, so they sum to it.
pub fn head_rates(w: &[f32], n: usize, d: usize, heads: usize) -> Vec<f64> {
    let dh = d / heads;
    head_grams(w, n, d, heads)
        .chunks_exact(dh * dh)
        .map(|g| coding_rate_from_grams(g, n, dh))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::coding_rate;

    #[test]
    fn terms_sum_to_the_total() {
        for (n, d, heads) in [(50, 128, 4), (9, 12, 3), (5, 64, 1)] {
            let w = crate::rng::uniform(n as u64, "w", n * d, 2.0);
            let terms = head_rates(&w, n, d, heads);
            let total = coding_rate(&w, n, d, heads);
            assert_eq!(terms.len(), heads);
            assert!(terms.iter().all(|&t| t > 0.0));
            assert!((terms.iter().sum::<f64>() - total).abs() <= 1e-12 * total.abs());
        }
        // Identical tokens: each head's X_k has rank one, R^c = 0.5 log(1 + dh/eps) per head.
        let row = crate::rng::uniform(3, "r", 8, 1.0);
        let w: Vec<f32> = (0..6).flat_map(|_| row.iter().copied()).collect();
        for t in head_rates(&w, 6, 8, 2) {
            assert!((t - 0.5 * (1.0f64 + 4.0 / 0.01).ln()).abs() < 1e-9, "{t}");
        }
    }
}
