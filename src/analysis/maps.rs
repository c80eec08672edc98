//! Attention (saliency) maps and DINO-style mass-threshold masks.

/// CLS attention rows over the n patches for one image: attn is that image's (K, N, N)
/// probabilities; returns K rows of n = N - 1 values (on the patch grid, row-major).
pub fn cls_rows(attn: &[f32], heads: usize, nt: usize) -> Vec<Vec<f32>> {
    (0..heads)
        .map(|k| attn[k * nt * nt + 1..k * nt * nt + nt].to_vec())
        .collect()
}

/// The same rows from one image's CLS query rows (K, N), as engines return them with
/// `ForwardOptions::cls`.
pub fn cls_rows_of(rows: &[f32], heads: usize, nt: usize) -> Vec<Vec<f32>> {
    (0..heads)
        .map(|k| rows[k * nt + 1..k * nt + nt].to_vec())
        .collect()
}

/// The mean over heads of the CLS rows.
pub fn mean_map(rows: &[Vec<f32>]) -> Vec<f32> {
    let n = rows.first().map_or(0, Vec::len);
    let k = rows.len().max(1) as f32;
    (0..n)
        .map(|i| rows.iter().map(|r| r[i]).sum::<f32>() / k)
        .collect()
}

/// The smallest set of patches holding at least a fraction `t` of the map's mass (after
/// renormalising over the patches): sort descending (ties by lower index first) and keep the
/// shortest prefix whose cumulative mass reaches `t`.
pub fn mass_mask(map: &[f32], t: f32) -> Vec<bool> {
    let total: f64 = map.iter().map(|&v| v as f64).sum();
    let mut order: Vec<usize> = (0..map.len()).collect();
    order.sort_by(|&a, &b| map[b].total_cmp(&map[a]).then(a.cmp(&b)));
    let mut mask = vec![false; map.len()];
    if total.is_nan() || total <= 0.0 {
        return mask;
    }
    let mut cum = 0.0f64;
    for i in order {
        mask[i] = true;
        cum += map[i] as f64 / total;
        if cum >= t as f64 {
            break;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_keeps_smallest_prefix_reaching_the_mass() {
        let map = [0.1, 0.4, 0.2, 0.3];
        // Renormalised: 0.4 + 0.3 = 0.7 >= 0.6.
        assert_eq!(mass_mask(&map, 0.6), vec![false, true, false, true]);
        // Scaling the map does not change the mask (it is renormalised over the patches).
        assert_eq!(
            mass_mask(&map.map(|v| v * 0.01), 0.6),
            vec![false, true, false, true]
        );
        assert_eq!(mass_mask(&map, 1.0), vec![true; 4]);
        assert_eq!(mass_mask(&[0.0; 3], 0.6), vec![false; 3]);
        // Ties go to the lower index.
        assert_eq!(mass_mask(&[0.25; 4], 0.5), vec![true, true, false, false]);
    }

    #[test]
    fn cls_rows_and_mean() {
        // K = 2 heads, N = 3 tokens: CLS rows are [x, a, b].
        let attn = [
            9.0, 0.2, 0.8, 0., 0., 0., 0., 0., 0., 9.0, 0.6, 0.4, 0., 0., 0., 0., 0., 0.,
        ];
        let rows = cls_rows(&attn, 2, 3);
        assert_eq!(rows, vec![vec![0.2, 0.8], vec![0.6, 0.4]]);
        let m = mean_map(&rows);
        assert!((m[0] - 0.4).abs() < 1e-6 && (m[1] - 0.6).abs() < 1e-6);
    }
}
