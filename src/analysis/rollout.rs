//! Two more ways to read the CLS attention as a segmentation (issue 13): attention rollout and
//! the heads' masks in colour. `tools/rollout_ref.py` is the NumPy reference.
//!
//! **Rollout** (Abnar & Zuidema, 2020): attention mixes tokens layer after layer, and the
//! residual carries each token on, so the CLS token's dependence on the input patches after layer
//! l is the CLS row of `Ã_l Ã_{l-1} ⋯ Ã_0` with `Ã_m = ½ Ā_m + ½ I` and `Ā_m` the mean over heads
//! of layer m's attention (rows sum to one, so every product's rows do too). Caveats, said in the
//! page too: it ignores the value and output projections and the ISTA blocks, and the ½/½ split
//! of residual and attention is a convention, not a property of the model.
//!
//! **Heads in colour** (DINO's figures): each head's CLS map thresholded to its mass mask, and
//! every patch given to the head, among those whose mask holds it, with the largest share of its
//! attention (the head's row renormalised over the patches); patches in no mask belong to none.

use super::maps::mass_mask;

/// For every layer l, the patch part (N − 1 values, grid row-major) of the CLS row of the rollout
/// up to layer l. `layers[m]` is one image's (K, N, N) attention probabilities of layer m.
/// Cost O(L² K N²): each layer's row is a chain of vector–matrix products from the CLS row down.
pub fn cls_rollout(layers: &[&[f32]], heads: usize, nt: usize) -> Vec<Vec<f32>> {
    (0..layers.len())
        .map(|l| {
            let mut v = vec![0.0f64; nt];
            v[0] = 1.0;
            for m in (0..=l).rev() {
                v = mixed_step(&v, layers[m], heads, nt);
            }
            v[1..].iter().map(|&x| x as f32).collect()
        })
        .collect()
}

/// Multiply-adds above which [`report_rollout`] gives only the last layer's rollout (a
/// CRATE-B/8 at 448×448, 3,137 tokens, would take seconds for every layer).
pub const ROLLOUT_BUDGET: f64 = 4e8;

/// The rollout an image report keeps: every layer's when that costs at most
/// [`ROLLOUT_BUDGET`] multiply-adds, otherwise only the last layer's (the others empty).
pub fn report_rollout(layers: &[&[f32]], heads: usize, nt: usize) -> Vec<Vec<f32>> {
    let l = layers.len() as f64;
    let cost = l * (l + 1.0) / 2.0 * heads as f64 * (nt as f64).powi(2);
    if cost <= ROLLOUT_BUDGET || layers.is_empty() {
        return cls_rollout(layers, heads, nt);
    }
    let last = layers.len() - 1;
    let mut v = vec![0.0f64; nt];
    v[0] = 1.0;
    for m in (0..=last).rev() {
        v = mixed_step(&v, layers[m], heads, nt);
    }
    let mut out = vec![Vec::new(); last];
    out.push(v[1..].iter().map(|&x| x as f32).collect());
    out
}

/// `v Ã` with `Ã = ½ mean_k A_k + ½ I`, without forming the mean matrix.
fn mixed_step(v: &[f64], attn: &[f32], heads: usize, nt: usize) -> Vec<f64> {
    let mut out: Vec<f64> = v.iter().map(|&x| 0.5 * x).collect();
    let w = 0.5 / heads as f64;
    for k in 0..heads {
        let a = &attn[k * nt * nt..(k + 1) * nt * nt];
        for (i, &vi) in v.iter().enumerate() {
            if vi == 0.0 {
                continue;
            }
            let row = &a[i * nt..(i + 1) * nt];
            let s = w * vi;
            for (o, &aij) in out.iter_mut().zip(row) {
                *o += s * aij as f64;
            }
        }
    }
    out
}

/// Each head's mass mask of its CLS row (`rows[k]`, over the patches) at mass `t`.
pub fn head_masks(rows: &[Vec<f32>], t: f32) -> Vec<Vec<bool>> {
    rows.iter().map(|r| mass_mask(r, t)).collect()
}

/// Per patch, the head that claims it: among the heads whose mask holds the patch, the one with
/// the largest share of its row's patch mass (ties: the lower head); `None` where no mask does.
pub fn winning_heads(rows: &[Vec<f32>], masks: &[Vec<bool>]) -> Vec<Option<usize>> {
    let n = rows.first().map_or(0, Vec::len);
    let totals: Vec<f64> = rows
        .iter()
        .map(|r| r.iter().map(|&v| v as f64).sum())
        .collect();
    (0..n)
        .map(|i| {
            let mut best: Option<(usize, f64)> = None;
            for (k, (row, mask)) in rows.iter().zip(masks).enumerate() {
                if !mask[i] || totals[k] <= 0.0 {
                    continue;
                }
                let share = row[i] as f64 / totals[k];
                if best.is_none_or(|(_, s)| share > s) {
                    best = Some((k, share));
                }
            }
            best.map(|(k, _)| k)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One head, two layers, N = 3: the rollout by hand.
    #[test]
    fn rollout_of_two_layers_by_hand() {
        let a0 = [1.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 0.0, 1.0];
        let a1 = [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let r = cls_rollout(&[&a0, &a1], 1, 3);
        // Layer 0: ½ e0 + ½ A0[0] = (1, 0, 0): the patches get nothing.
        assert_eq!(r[0], vec![0.0, 0.0]);
        // Layer 1: e0 Ã1 = (½, ½, 0); then Ã0: ½(½,½,0) + ½(½·(1,0,0) + ½·(½,½,0)) = (5/8, 3/8, 0).
        assert!(
            (r[1][0] - 0.375).abs() < 1e-7 && r[1][1] == 0.0,
            "{:?}",
            r[1]
        );
    }

    #[test]
    fn rows_of_the_rollout_sum_to_one() {
        let nt = 5;
        let heads = 2;
        let attn: Vec<f32> = (0..heads * nt * nt)
            .map(|i| 1.0 + (i * 7 % 11) as f32)
            .collect::<Vec<_>>()
            .chunks(nt)
            .flat_map(|r| {
                let s: f32 = r.iter().sum();
                r.iter().map(move |v| v / s).collect::<Vec<_>>()
            })
            .collect();
        let r = cls_rollout(&[&attn, &attn, &attn], heads, nt);
        for row in &r {
            let patches: f32 = row.iter().sum();
            assert!(
                patches > 0.0 && patches < 1.0,
                "the CLS keeps a share: {patches}"
            );
        }
    }

    #[test]
    fn winners_take_the_larger_share_inside_masks() {
        let rows = vec![vec![0.7, 0.2, 0.1, 0.0], vec![0.1, 0.1, 0.4, 0.4]];
        let masks = head_masks(&rows, 0.6);
        assert_eq!(masks[0], vec![true, false, false, false]);
        assert_eq!(masks[1], vec![false, false, true, true]);
        assert_eq!(
            winning_heads(&rows, &masks),
            vec![Some(0), None, Some(1), Some(1)]
        );
        // Overlapping masks: the larger share wins (0.5 of head 0's mass vs 0.4 of head 1's).
        let rows = vec![vec![0.5, 0.5], vec![0.6, 0.4]];
        let masks = vec![vec![true, true], vec![true, true]];
        assert_eq!(winning_heads(&rows, &masks), vec![Some(1), Some(0)]);
    }
}
